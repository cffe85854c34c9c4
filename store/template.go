package store

import (
	"crypto/sha256"
	"encoding/hex"
)

// SchemaFingerprint is a short hash of the embedded migrations. Test
// harnesses name their template databases with it so a changed migration
// never reuses a stale template.
func SchemaFingerprint() string {
	h := sha256.New()
	names, _ := migrationNames()
	for _, name := range names {
		body, _ := migrationBody(name)
		h.Write([]byte(name))
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
