package rooms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// sqlDataVersion reads the tenant's data version: a counter that triggers
// bump in the same transaction as every write to the tenant's rooms,
// devices, alerts, signage assignments and connections (migration
// 0006_tenant_data_versions.sql). A tenant never written has version 0.
const sqlDataVersion = `SELECT coalesce((SELECT version FROM tenant_data_versions WHERE tenant_id = $1), 0)`

// DataVersion returns the tenant's data version. Anything built from the
// tenant's room data after reading version v reflects at least every write
// committed before v was read, so a cached result may be served for as long
// as the version it was stored under is still the current one.
func (s *Service) DataVersion(ctx context.Context, tenantID string) (int64, error) {
	return readDataVersion(ctx, s.db, tenantID)
}

func readDataVersion(ctx context.Context, db *pgxpool.Pool, tenantID string) (int64, error) {
	var v int64
	if err := db.QueryRow(ctx, sqlDataVersion, tenantID).Scan(&v); err != nil {
		return 0, fmt.Errorf("rooms.DataVersion: %w", err)
	}
	return v, nil
}

// DataVersionChannel is the channel the version trigger notifies, with
// "<tenant id>:<version>" (migration 0010_tenant_version_notify.sql).
const DataVersionChannel = "tenant_data_version"

const (
	sqlListenDataVersions = `LISTEN ` + DataVersionChannel
	// sqlAllDataVersions re-reads every version after LISTEN is in place:
	// a change committed before it is in this read, one committed after it
	// is notified.
	sqlAllDataVersions = `SELECT tenant_id::text, version FROM tenant_data_versions`
	sqlListenerPing    = `SELECT 1`
)

// listenerIdle is how long the listener waits for a notification before it
// checks its connection with a round trip (itself bounded by listenerIdle).
// A connection that died without the server closing it (a network
// partition) delivers no NOTIFY, and WaitForNotification alone would not
// notice: this bounds how long such a dead listener can be taken for a
// live one to about 2 × listenerIdle. A ping per replica every few
// seconds of silence costs nothing.
const listenerIdle = 2 * time.Second

// listenerRetry is the pause between reconnection attempts.
const listenerRetry = time.Second

// DataVersions answers tenants' data versions from process memory, kept
// current by Postgres LISTEN/NOTIFY on one dedicated connection per
// replica, so a rooms cache hit costs no statement.
//
// Why it is safe:
//   - The version trigger notifies "<tenant>:<version>" in the writing
//     transaction; Postgres delivers notifications at commit, in commit
//     order, to every listening session. A replica that has been listening
//     since before a commit therefore learns its version within the NOTIFY
//     delivery time (milliseconds). That is the cross-replica staleness of
//     a cached page: a write on another replica (or a worker, a webhook)
//     may go unseen here for as long as its notification takes to
//     arrive. A listener connection that the server closes fails its
//     wait at once; one that dies silently is found by the ping after
//     listenerIdle of silence, so it is trusted at most ~2 × listenerIdle
//     after its death.
//   - Memory is trusted only while the listener is live: connected,
//     listening, and having re-read every version after LISTEN took
//     effect (notifications lost with a dropped connection are covered by
//     that re-read). Otherwise, at startup, after any error and while
//     reconnecting, every call reads the version from Postgres, as
//     Service.DataVersion does.
//   - A tenant whose version is not in memory is read from Postgres. The
//     value read is kept only if the listener stayed live through the read
//     (same epoch): then every later commit is notified to it, and versions
//     only move up (max), so a late notification never lowers one.
//   - Read-your-writes on this replica: after a mutation, Wrote reads the
//     tenant's version from Postgres (the mutation has committed) and
//     raises the one in memory, so the next request here never waits for
//     the notification of its own write.
type DataVersions struct {
	// RetryAfter is the pause before reconnecting a lost listener
	// (listenerRetry when zero). Set it before Run.
	RetryAfter time.Duration

	db     *pgxpool.Pool
	logger *slog.Logger

	mu       sync.Mutex
	live     bool
	epoch    uint64 // bumped whenever live is lost
	versions map[string]int64
	conn     *pgx.Conn // the listener's connection, while it has one

	// fallbacks counts reads that went to Postgres (tests, metrics).
	fallbacks int64
}

// NewDataVersions returns versions served from Postgres until Run has made
// the listener live.
func NewDataVersions(db *pgxpool.Pool, logger *slog.Logger) *DataVersions {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &DataVersions{db: db, logger: logger, versions: map[string]int64{}}
}

// DataVersion returns the tenant's current data version: from memory while
// the listener is live and knows the tenant, from Postgres otherwise.
func (d *DataVersions) DataVersion(ctx context.Context, tenantID string) (int64, error) {
	d.mu.Lock()
	v, known := d.versions[tenantID]
	live, epoch := d.live, d.epoch
	if !live || !known {
		d.fallbacks++
	}
	d.mu.Unlock()
	if live && known {
		return v, nil
	}
	v, err := readDataVersion(ctx, d.db, tenantID)
	if err != nil {
		return 0, err
	}
	d.learn(tenantID, v, epoch, live)
	return v, nil
}

// Wrote is called after a write on this replica's request path has
// committed (a mutation): it reads the tenant's version from Postgres and
// raises the one in memory to it, so this replica's next request for the
// tenant sees the write even before its notification arrives.
func (d *DataVersions) Wrote(ctx context.Context, tenantID string) {
	d.mu.Lock()
	live, epoch := d.live, d.epoch
	d.mu.Unlock()
	v, err := readDataVersion(ctx, d.db, tenantID)
	if err != nil {
		// The in-memory version may now be older than the write: forget
		// it, so the next request reads Postgres.
		d.mu.Lock()
		delete(d.versions, tenantID)
		d.mu.Unlock()
		return
	}
	d.learn(tenantID, v, epoch, live)
}

// learn keeps a version read from Postgres if the listener was live when
// the read began and still is, without a drop in between.
func (d *DataVersions) learn(tenantID string, v int64, epoch uint64, wasLive bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !wasLive || !d.live || d.epoch != epoch {
		return
	}
	if old, ok := d.versions[tenantID]; !ok || v > old {
		d.versions[tenantID] = v
	}
}

// Live reports whether versions are served from memory.
func (d *DataVersions) Live() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live
}

// Fallbacks is how many calls have read Postgres so far.
func (d *DataVersions) Fallbacks() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fallbacks
}

// ListenerPID is the backend pid of the listener's connection (0 without
// one), for tests that kill it.
func (d *DataVersions) ListenerPID() uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return 0
	}
	return d.conn.PgConn().PID()
}

// down marks memory untrusted: every call reads Postgres until the next
// listener is live.
func (d *DataVersions) down() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live {
		d.epoch++
	}
	d.live = false
	d.conn = nil
}

// Run keeps the listener going until ctx ends, reconnecting after any
// error.
func (d *DataVersions) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := d.listen(ctx)
		d.down()
		if ctx.Err() != nil {
			return
		}
		d.logger.WarnContext(ctx, "data version listener lost; serving versions from Postgres until it is back", "error", errString(err))
		select {
		case <-ctx.Done():
		case <-time.After(cmp.Or(d.RetryAfter, listenerRetry)):
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// listen runs one listener connection until it fails.
func (d *DataVersions) listen(ctx context.Context) error {
	cfg := d.db.Config().ConnConfig.Copy()
	cfg.Tracer = nil // the listener's own statements are not requests'
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sqlListenDataVersions); err != nil {
		return err
	}
	rows, err := conn.Query(ctx, sqlAllDataVersions)
	if err != nil {
		return err
	}
	all := map[string]int64{}
	var tenant string
	var version int64
	if _, err := pgx.ForEachRow(rows, []any{&tenant, &version}, func() error {
		all[tenant] = version
		return nil
	}); err != nil {
		return err
	}
	d.mu.Lock()
	// Whatever memory held before is replaced: entries kept while the
	// previous listener was live may have missed notifications lost with
	// it. Tenants without a row have version 0 and are read on first use.
	d.versions = all
	d.live = true
	d.conn = conn
	d.mu.Unlock()

	for {
		wctx, cancel := context.WithTimeout(ctx, listenerIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			d.notified(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, listenerIdle)
			_, err := conn.Exec(pctx, sqlListenerPing)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// notified applies a "<tenant>:<version>" payload. A tenant not yet in
// memory is added: the listener is live, so every later change to it is
// notified too.
func (d *DataVersions) notified(payload string) {
	tenant, num, ok := strings.Cut(payload, ":")
	v, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil {
		d.logger.Warn("ignoring a malformed data version notification", "payload", payload)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.versions[tenant]; !ok || v > old {
		d.versions[tenant] = v
	}
}
