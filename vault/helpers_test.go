package vault_test

import (
	vaultapi "github.com/hashicorp/vault/api"

	"zoomsignage/vault"
)

func createPlainKey(cfg vault.TransitConfig) error {
	vcfg := vaultapi.DefaultConfig()
	vcfg.Address = cfg.Address
	c, err := vaultapi.NewClient(vcfg)
	if err != nil {
		return err
	}
	c.SetToken(cfg.Token)
	_, err = c.Logical().Write("transit/keys/"+cfg.Key, map[string]any{"type": "aes256-gcm96"})
	return err
}
