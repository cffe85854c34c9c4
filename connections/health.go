package connections

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/store"
	"zoomsignage/zoom"
)

// HealthInterval is how often every connection gets its health call.
const HealthInterval = 5 * time.Minute

// KeepAliveAge is how old a Marketplace refresh token may get before the
// daily keep-alive refreshes it, so idle installs never lose their grant.
const KeepAliveAge = 20 * time.Hour

// sqlHealthCandidates and sqlKeepAliveCandidates are not scoped by tenant
// on purpose: the background cycles serve every tenant. Each row carries
// its own tenant_id, which the per-connection job and every write for it
// filter by, and nothing from them reaches a caller.
const (
	sqlHealthCandidates = `SELECT ` + connectionColumns + `
  FROM zoom_connections
 WHERE status IN ('ACTIVE', 'MISSING_SCOPE', 'ERROR', 'REAUTH_REQUIRED') AND ` + notDisconnecting + `
 ORDER BY id`
	sqlKeepAliveCandidates = `SELECT ` + connectionColumns + `
  FROM zoom_connections
 WHERE kind = 'MARKETPLACE' AND status IN ('ACTIVE', 'MISSING_SCOPE', 'ERROR')
   AND (refresh_token_updated_at IS NULL OR refresh_token_updated_at < $1) AND ` + notDisconnecting + `
 ORDER BY id`
	sqlLockStatus = `SELECT status, COALESCE(status_reason, ''), COALESCE(reported_status, '')
  FROM zoom_connections
 WHERE id = $1 AND tenant_id = $2 AND ` + notDisconnecting + `
   FOR UPDATE`
	sqlSetHealth = `UPDATE zoom_connections
   SET status = $3, status_reason = NULLIF($4, ''), reported_status = $3,
       missing_scopes = COALESCE($5::text[], missing_scopes),
       last_health_check_at = now(), updated_at = now()
 WHERE id = $1 AND tenant_id = $2`
)

// healthResult is the status a health call says a connection should have;
// nil missing keeps the stored missing scopes.
type healthResult struct {
	status  Status
	reason  string
	missing []string
}

// CheckHealth checks every connection in process, one after the other
// (tests and operators; the periodic job fans out per connection instead,
// EnqueueHealthChecks). A check makes one cheap call (GET /users/me) per connection that is
// not disconnecting, which also refreshes tokens due within the refresh
// margin, and moves each status between ACTIVE, REAUTH_REQUIRED,
// MISSING_SCOPE and ERROR. Every change is an audit event (actor
// "system") and a connectionStatusChanged event. Zoom being unavailable or
// throttling changes nothing (the next cycle decides). A connection
// already REAUTH_REQUIRED is not called (its grant is dead until an admin
// connects again) but a change made behind our back, such as the token
// store marking it on invalid_grant during a sync, is announced here.
func (s *Service) CheckHealth(ctx context.Context) error {
	rows, err := s.db.Query(ctx, sqlHealthCandidates)
	if err != nil {
		return fmt.Errorf("connections.CheckHealth: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanConnection)
	if err != nil {
		return fmt.Errorf("connections.CheckHealth: %w", err)
	}
	var errs []error
	for _, c := range list {
		if err := s.checkOne(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("connections.CheckHealth: %w", err)
	}
	return nil
}

func (s *Service) checkOne(ctx context.Context, c Connection) error {
	res := healthResult{status: c.Status, reason: c.StatusReason}
	if c.Status != StatusReauthRequired {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.ZoomCallTimeout)
		_, err := s.clientFor(c).Me(cctx)
		cancel()
		var ok bool
		if res, ok = s.judge(ctx, c, err); !ok {
			return nil
		}
	}
	return s.setHealth(ctx, c, res)
}

// judge maps the health call's outcome to a status; ok is false when the
// outcome says nothing about the connection (Zoom down, throttled).
func (s *Service) judge(ctx context.Context, c Connection, err error) (healthResult, bool) {
	switch {
	case err == nil:
		granted := c.GrantedScopes
		if fresh, ferr := s.Get(ctx, c.TenantID, c.ID); ferr == nil {
			granted = fresh.GrantedScopes // a refresh during the call may have changed them
		}
		required, optional := missingScopes(granted)
		if len(required) > 0 {
			return healthResult{StatusMissingScope, "the Zoom app lost scopes the gateway needs", append(required, optional...)}, true
		}
		st, reason := scopeStatus(optional)
		return healthResult{st, reason, nonNil(optional)}, true
	case errors.Is(err, zoom.ErrReauthorizationRequired), errors.Is(err, zoom.ErrInvalidToken):
		return healthResult{status: StatusReauthRequired, reason: "Zoom refused the connection's authorization; an admin must connect the Zoom account again"}, true
	case errors.Is(err, zoom.ErrCredentialsRejected):
		return healthResult{status: StatusReauthRequired, reason: "Zoom rejected the app's client id or secret; enter the credentials again"}, true
	case errors.Is(err, zoom.ErrMissingScope):
		scopes, _ := zoom.MissingScopes(err)
		return healthResult{StatusMissingScope, "the Zoom app lacks scopes the gateway needs", nonNil(scopes)}, true
	case errors.Is(err, zoom.ErrNoSubscription):
		return healthResult{status: StatusError, reason: "the Zoom account has no Zoom Rooms subscription, or its access is restricted"}, true
	case errors.Is(err, zoom.ErrUnavailable), errors.Is(err, zoom.ErrRateLimited), errors.Is(err, context.DeadlineExceeded):
		s.log.WarnContext(ctx, "connection health call inconclusive", "connection_id", c.ID, "error", err.Error())
		return healthResult{}, false
	}
	s.log.WarnContext(ctx, "connection health call failed", "connection_id", c.ID, "error", err.Error())
	return healthResult{status: StatusError, reason: "the Zoom health check failed: " + zoomReason(err)}, true
}

// setHealth writes the result under the row lock and announces a change of
// status against what was last reported. A connection that turned
// DISCONNECTING or went away meanwhile is left alone.
func (s *Service) setHealth(ctx context.Context, c Connection, res healthResult) error {
	var prevReported Status
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var status, reason, reported string
		err := tx.QueryRow(ctx, sqlLockStatus, c.ID, c.TenantID).Scan(&status, &reason, &reported)
		if errors.Is(err, pgx.ErrNoRows) || Status(status) == StatusDisconnecting {
			return nil
		}
		if err != nil {
			return err
		}
		if Status(status) == StatusReauthRequired && res.status != StatusReauthRequired {
			// The token store marked it during the call: it wins.
			res = healthResult{status: StatusReauthRequired, reason: reason}
		}
		if _, err := tx.Exec(ctx, sqlSetHealth, c.ID, c.TenantID, res.status, res.reason, res.missing); err != nil {
			return fmt.Errorf("set health: %w", err)
		}
		prevReported = Status(reported)
		if prevReported == res.status {
			return nil
		}
		if err := audit.Record(ctx, tx, audit.Event{
			TenantID: c.TenantID, Actor: "system", Action: "connection.status_changed",
			TargetType: "zoom_connection", TargetID: c.ID,
			Details: map[string]any{"from": string(prevReported), "to": string(res.status), "reason": res.reason},
		}); err != nil {
			return err
		}
		next := c
		next.Status, next.StatusReason = res.status, res.reason
		if res.missing != nil {
			next.MissingScopes = slices.Clone(res.missing)
		}
		return s.emitStatus(ctx, tx, next)
	})
	if err != nil {
		return fmt.Errorf("connection %s: %w", c.ID, err)
	}
	return nil
}

// KeepAlive refreshes in process (tests and operators; the daily job fans
// out per connection, EnqueueKeepAlives) the grant of every Marketplace
// connection whose
// refresh token has not been renewed for KeepAliveAge, so that installs
// with no traffic keep a live refresh token. A refused refresh marks the
// connection REAUTH_REQUIRED (announced by the next health cycle, or at
// once here).
func (s *Service) KeepAlive(ctx context.Context) error {
	rows, err := s.db.Query(ctx, sqlKeepAliveCandidates, s.now().Add(-KeepAliveAge))
	if err != nil {
		return fmt.Errorf("connections.KeepAlive: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanConnection)
	if err != nil {
		return fmt.Errorf("connections.KeepAlive: %w", err)
	}
	var errs []error
	for _, c := range list {
		if err := s.keepAliveOne(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("connections.KeepAlive: %w", err)
	}
	return nil
}

// keepAliveOne refreshes one Marketplace grant and records a refusal.
func (s *Service) keepAliveOne(ctx context.Context, c Connection) error {
	src := s.zoom.MarketplaceTokenSource(s.tokens, zoom.ConnectionRef{ID: c.ID, TenantID: c.TenantID}, s.app)
	r, ok := src.(zoom.Refresher)
	if !ok {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.ZoomCallTimeout)
	err := r.Refresh(cctx)
	cancel()
	if err == nil {
		return nil
	}
	if res, ok := s.judge(ctx, c, err); ok {
		return s.setHealth(ctx, c, res)
	}
	return nil
}

// The periodic jobs only fan out: one job per connection, unique by
// connection id, each with its own timeout and retries, so thousands of
// connections spread over every replica's workers and one slow or failing
// connection delays or fails only its own check.

// HealthArgs is the periodic job that enqueues a HealthCheckArgs per
// connection.
type HealthArgs struct{}

// Kind implements river.JobArgs.
func (HealthArgs) Kind() string { return "connection_health" }

// HealthWorker runs Service.EnqueueHealthChecks.
type HealthWorker struct {
	river.WorkerDefaults[HealthArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *HealthWorker) Work(ctx context.Context, _ *river.Job[HealthArgs]) error {
	return w.Service.EnqueueHealthChecks(ctx)
}

// HealthCheckArgs is one connection's health check.
type HealthCheckArgs struct {
	TenantID     string `json:"tenant_id"`
	ConnectionID string `json:"connection_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (HealthCheckArgs) Kind() string { return "connection_health_check" }

// InsertOpts keeps one check per connection waiting or running; a check
// that failed is not retried (the next cycle checks again).
func (HealthCheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: perConnection()}
}

// HealthCheckWorker runs Service.CheckConnection.
type HealthCheckWorker struct {
	river.WorkerDefaults[HealthCheckArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *HealthCheckWorker) Work(ctx context.Context, job *river.Job[HealthCheckArgs]) error {
	return w.Service.CheckConnection(ctx, job.Args.TenantID, job.Args.ConnectionID)
}

// Timeout covers the health call (which may refresh the token first) and
// the write.
func (w *HealthCheckWorker) Timeout(*river.Job[HealthCheckArgs]) time.Duration {
	return 2*w.Service.cfg.ZoomCallTimeout + 10*time.Second
}

// KeepAliveArgs is the daily job that enqueues a KeepAliveOneArgs per
// Marketplace connection due.
type KeepAliveArgs struct{}

// Kind implements river.JobArgs.
func (KeepAliveArgs) Kind() string { return "connection_keepalive" }

// KeepAliveWorker runs Service.EnqueueKeepAlives.
type KeepAliveWorker struct {
	river.WorkerDefaults[KeepAliveArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *KeepAliveWorker) Work(ctx context.Context, _ *river.Job[KeepAliveArgs]) error {
	return w.Service.EnqueueKeepAlives(ctx)
}

// KeepAliveOneArgs is one connection's keep-alive refresh.
type KeepAliveOneArgs struct {
	TenantID     string `json:"tenant_id"`
	ConnectionID string `json:"connection_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (KeepAliveOneArgs) Kind() string { return "connection_keepalive_one" }

// InsertOpts keeps one refresh per connection waiting or running, retried
// a few times (a missed keep-alive costs a day of refresh-token life).
func (KeepAliveOneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: perConnection()}
}

// KeepAliveOneWorker runs Service.KeepAliveConnection.
type KeepAliveOneWorker struct {
	river.WorkerDefaults[KeepAliveOneArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *KeepAliveOneWorker) Work(ctx context.Context, job *river.Job[KeepAliveOneArgs]) error {
	return w.Service.KeepAliveConnection(ctx, job.Args.TenantID, job.Args.ConnectionID)
}

// Timeout covers one refresh and the write.
func (w *KeepAliveOneWorker) Timeout(*river.Job[KeepAliveOneArgs]) time.Duration {
	return w.Service.cfg.ZoomCallTimeout + 10*time.Second
}

func perConnection() river.UniqueOpts {
	return river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled,
	}}
}

// EnqueueHealthChecks enqueues one health check per connection that is
// not disconnecting.
func (s *Service) EnqueueHealthChecks(ctx context.Context) error {
	list, err := s.candidates(ctx, sqlHealthCandidates)
	if err != nil {
		return fmt.Errorf("connections.EnqueueHealthChecks: %w", err)
	}
	params := make([]river.InsertManyParams, 0, len(list))
	for _, c := range list {
		params = append(params, river.InsertManyParams{Args: HealthCheckArgs{TenantID: c.TenantID, ConnectionID: c.ID}})
	}
	if err := s.insertMany(ctx, params); err != nil {
		return fmt.Errorf("connections.EnqueueHealthChecks: %w", err)
	}
	return nil
}

// EnqueueKeepAlives enqueues one keep-alive refresh per Marketplace
// connection whose refresh token is older than KeepAliveAge.
func (s *Service) EnqueueKeepAlives(ctx context.Context) error {
	list, err := s.candidates(ctx, sqlKeepAliveCandidates, s.now().Add(-KeepAliveAge))
	if err != nil {
		return fmt.Errorf("connections.EnqueueKeepAlives: %w", err)
	}
	params := make([]river.InsertManyParams, 0, len(list))
	for _, c := range list {
		params = append(params, river.InsertManyParams{Args: KeepAliveOneArgs{TenantID: c.TenantID, ConnectionID: c.ID}})
	}
	if err := s.insertMany(ctx, params); err != nil {
		return fmt.Errorf("connections.EnqueueKeepAlives: %w", err)
	}
	return nil
}

func (s *Service) candidates(ctx context.Context, sql string, args ...any) ([]Connection, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanConnection)
}

func (s *Service) insertMany(ctx context.Context, params []river.InsertManyParams) error {
	rc := s.cfg.River
	if rc == nil {
		return errors.New("insertMany: the River client is not wired")
	}
	if len(params) == 0 {
		return nil
	}
	_, err := rc.InsertMany(ctx, params)
	return err
}

// CheckConnection runs one connection's health check (see CheckHealth). A
// connection gone or disconnecting meanwhile is skipped.
func (s *Service) CheckConnection(ctx context.Context, tenantID, connectionID string) error {
	c, ok, err := s.liveConnection(ctx, tenantID, connectionID)
	if err != nil || !ok {
		return err
	}
	if err := s.checkOne(ctx, c); err != nil {
		return fmt.Errorf("connections.CheckConnection: %w", err)
	}
	return nil
}

// KeepAliveConnection runs one connection's keep-alive refresh (see
// KeepAlive). A connection gone, disconnecting or no longer a live
// Marketplace grant is skipped.
func (s *Service) KeepAliveConnection(ctx context.Context, tenantID, connectionID string) error {
	c, ok, err := s.liveConnection(ctx, tenantID, connectionID)
	if err != nil || !ok || c.Kind != zoom.KindMarketplace || c.Status == StatusReauthRequired {
		return err
	}
	if err := s.keepAliveOne(ctx, c); err != nil {
		return fmt.Errorf("connections.KeepAliveConnection: %w", err)
	}
	return nil
}

// liveConnection reads a connection for a background job: ok is false when
// it is gone or being disconnected.
func (s *Service) liveConnection(ctx context.Context, tenantID, connectionID string) (Connection, bool, error) {
	c, err := getConnection(ctx, s.db, tenantID, connectionID)
	if apierror.CodeOf(err) == apierror.NotFound {
		return Connection{}, false, nil
	}
	if err != nil {
		return Connection{}, false, fmt.Errorf("liveConnection: %w", err)
	}
	return c, c.Status != StatusDisconnecting, nil
}

// PeriodicJobs returns the service's periodic jobs: the health cycle and
// the daily keep-alive, each fanning out one job per connection. River
// runs each periodic job on one replica at a time.
func PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(HealthInterval),
			func() (river.JobArgs, *river.InsertOpts) { return HealthArgs{}, nil },
			&river.PeriodicJobOpts{ID: "connection_health"}),
		river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return KeepAliveArgs{}, nil },
			&river.PeriodicJobOpts{ID: "connection_keepalive"}),
	}
}

// AddWorkers registers the service's River workers.
func (s *Service) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &CleanupWorker{Service: s})
	river.AddWorker(w, &HealthWorker{Service: s})
	river.AddWorker(w, &HealthCheckWorker{Service: s})
	river.AddWorker(w, &KeepAliveWorker{Service: s})
	river.AddWorker(w, &KeepAliveOneWorker{Service: s})
	river.AddWorker(w, &InstallExpiryWorker{Service: s})
}
