// Command vaultdev is HashiCorp Vault's own CLI, built from the Go module so
// that tests can start a real dev server (`vaultdev server -dev`) on a machine
// with no Vault package. It lives in its own module so the gateway depends
// only on github.com/hashicorp/vault/api.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
