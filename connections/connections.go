// Package connections owns a tenant's links to Zoom accounts: connecting
// (Server-to-Server credentials or a Marketplace install), the token
// lifecycle and health checks, and the disconnect and deauthorization
// cleanup.
//
// Other domains use three things from it: ZoomClient (a Zoom client for a
// stored connection), Get and ListSyncable. The webhook route
// (/webhooks/zoom) is served here and dispatches verified events by name to
// handlers that domains register with RegisterWebhookHandler.
package connections

import (
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"

	"zoomsignage/events"
	"zoomsignage/jobtime"
	"zoomsignage/vault"
	"zoomsignage/zoom"
)

// Status is a connection's status (the ConnectionStatus enum of the API).
type Status string

// Connection statuses.
const (
	StatusActive         Status = "ACTIVE"
	StatusReauthRequired Status = "REAUTH_REQUIRED"
	StatusMissingScope   Status = "MISSING_SCOPE"
	StatusDisconnecting  Status = "DISCONNECTING"
	StatusError          Status = "ERROR"
)

// Connection is one tenant's link to one Zoom account. It never holds a
// secret: credentials stay sealed in Postgres.
type Connection struct {
	ID            string
	TenantID      string
	Kind          zoom.ConnectionKind
	ZoomAccountID string
	// ClientID is the OAuth app's client id: the customer's own
	// Server-to-Server app, or our Marketplace app.
	ClientID      string
	Label         string
	Plan          zoom.Plan
	Status        Status
	StatusReason  string
	GrantedScopes []string
	MissingScopes []string
	// AdminUserID, AdminName and AdminEmail describe the Zoom admin who
	// connected the account (GET /users/me at connect).
	AdminUserID string
	AdminName   string
	AdminEmail  string
	// CreatedBy is the audit actor who connected it ("user:…", "apikey:…").
	CreatedBy         string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	LastHealthCheckAt *time.Time
}

// Deps are what the service needs; app/connections.go fills them.
type Deps struct {
	DB     *pgxpool.Pool
	Redis  *redis.Client
	Sealer vault.Sealer
	Zoom   *zoom.Client
	// Outbox records connectionStatusChanged events in the transactions that
	// change a status; nil records them in an outbox that only a relay run
	// by the caller publishes.
	Outbox *events.Outbox
	Logger *slog.Logger
	// KeyPrefix starts every Redis key the service writes (install state).
	KeyPrefix string

	// MarketplaceApp is our Marketplace app's client id and secret; empty
	// disables Marketplace installs.
	MarketplaceApp zoom.AppCredentials
	// RedirectURL is the OAuth redirect URI registered with the app
	// (PUBLIC_BASE_URL + /oauth/zoom/callback by default).
	RedirectURL string
	// PublicBaseURL is the web app's origin: install return URLs must be on
	// it or on one of ReturnOrigins.
	PublicBaseURL string
	ReturnOrigins []string
	// WebhookSecret verifies /webhooks/zoom deliveries; empty leaves the
	// route unmounted.
	WebhookSecret string
	// DisconnectWait bounds how long disconnectZoom waits for the cleanup
	// job before returning what is known; 15 s when zero.
	DisconnectWait time.Duration
	// ZoomCallTimeout bounds each Zoom call the cleanup makes, so a hung
	// Zoom cannot hold a disconnect; 10 s when zero.
	ZoomCallTimeout time.Duration
	// Signage removes our signage from Zoom for the disconnect cleanup (the
	// rooms domain's rooms.SignageRemover); the cleanup fails, to be
	// retried, without it.
	Signage SignageRemover
	// River inserts and cancels the service's jobs (cleanup, first sync,
	// health fan-out). The app builds it before the services, so no
	// service waits to be handed it.
	River *river.Client[pgx.Tx]
	// Jobs bounds the attempts of the service's River jobs below the rescue
	// horizon: a cleanup works one slice of rooms per attempt.
	Jobs jobtime.Timing
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service is the connections domain. It is built by the app's wiring
// (app/connections.go) with New.
type Service struct {
	db     *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	zoom   *zoom.Client
	tokens *TokenStore
	outbox *events.Outbox
	log    *slog.Logger
	app    zoom.AppCredentials
	cfg    Deps
	now    func() time.Time

	mu       sync.RWMutex
	handlers map[string]WebhookHandler
}

// New builds the service.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.DisconnectWait <= 0 {
		d.DisconnectWait = 15 * time.Second
	}
	if d.ZoomCallTimeout <= 0 {
		d.ZoomCallTimeout = 10 * time.Second
	}
	if d.Outbox == nil {
		d.Outbox = events.NewOutbox(d.DB)
	}
	svc := &Service{
		db: d.DB, rdb: d.Redis, prefix: d.KeyPrefix, zoom: d.Zoom,
		tokens: NewTokenStore(d.DB, d.Sealer), outbox: d.Outbox,
		log: d.Logger.With("component", "connections"), app: d.MarketplaceApp,
		cfg: d, now: d.Now, handlers: map[string]WebhookHandler{},
	}
	svc.handlers[EventAppDeauthorized] = svc.handleDeauthorized
	return svc
}
