// Package migrations holds the webhooks domain's SQL migrations, embedded
// so the store applies them after its own (see store.Migrate) without the
// store importing the webhooks package itself.
package migrations

import "embed"

// Files are the numbered migrations, applied in name order.
//
//go:embed *.sql
var Files embed.FS
