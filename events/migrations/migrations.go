// Package migrations holds the events domain's SQL migrations (the
// outbox), embedded so the store applies them after its own (see
// store.Migrate) without the store importing the events package itself.
package migrations

import "embed"

// Files are the numbered migrations, applied in name order.
//
//go:embed *.sql
var Files embed.FS
