package zoom

import (
	"context"
	"time"
)

// TokenStore keeps a connection's credentials and serialises their renewal
// across goroutines, client instances and replicas. The client only asks
// for this contract; where the credentials live (the connections domain's
// Postgres table, sealed with Vault) is the implementation's business, so
// the REST client imports neither the database nor Vault.
type TokenStore interface {
	// WithLockedConnection locks the connection for the duration of fn (in
	// a transaction) and hands fn its current state. When fn returns a
	// TokenWrite, the store seals it, writes it with a new credential
	// version and commits before returning that version; with nil it
	// commits nothing and returns the current version. When fn's error
	// matches ErrReauthorizationRequired the store marks the connection as
	// needing reauthorization (and commits that) before returning the
	// error. An unknown connection is ErrNoConnection.
	WithLockedConnection(ctx context.Context, ref ConnectionRef,
		fn func(ctx context.Context, row *LockedConnection) (*TokenWrite, error)) (version int64, err error)
}

// LockedConnection is a connection as a TokenStore hands it to the renewal
// function: non-secret fields, and Secrets to open the sealed ones only
// when they are needed (each opening is a Vault call).
type LockedConnection struct {
	Kind          ConnectionKind
	ZoomAccountID string
	ClientID      string
	// ReauthRequired says the store has marked the connection as needing
	// an admin to connect it again (after an invalid_grant); a source then
	// refuses to call Zoom. The status names themselves belong to the
	// store's owner, not to the client.
	ReauthRequired       bool
	Version              int64
	AccessTokenExpiresAt time.Time
	HasAccessToken       bool
	HasRefreshToken      bool
	HasClientSecret      bool
	Secrets              SecretOpener
}

// SecretOpener opens the sealed credentials of a locked row. Each returns ""
// when the row holds none.
type SecretOpener interface {
	AccessToken(ctx context.Context) (string, error)
	RefreshToken(ctx context.Context) (string, error)
	ClientSecret(ctx context.Context) (string, error)
}

// TokenWrite is a new token to store.
type TokenWrite struct {
	AccessToken string
	ExpiresAt   time.Time
	// RefreshToken replaces the stored one; "" keeps it (a stored refresh
	// token is never overwritten with nothing).
	RefreshToken string
	// Scopes replace the granted scopes; nil keeps them.
	Scopes []string
}
