package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/jobtime"
	"zoomsignage/store"
	"zoomsignage/zoom"
)

// CleanupArgs is the River job that finishes a disconnect or a
// deauthorization.
type CleanupArgs struct {
	TenantID     string `json:"tenant_id"`
	ConnectionID string `json:"connection_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (CleanupArgs) Kind() string { return "connection_cleanup" }

// InsertOpts keeps one cleanup per connection waiting or running, and
// retries a failed or killed one for long enough to outlast any outage.
func (CleanupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 25,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
				rivertype.JobStateRetryable, rivertype.JobStateScheduled,
			},
		},
	}
}

// CleanupWorker runs Service.RunCleanup. Progress is persisted as it goes,
// so a retried job (after a crash or a kill) continues where it stopped.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	Service *Service
}

// Work implements river.Worker. While a sync of the connection is still
// running, or a push still holds a room's signage, the job snoozes (no
// attempt is used up) and looks again.
func (w *CleanupWorker) Work(ctx context.Context, job *river.Job[CleanupArgs]) error {
	ctx = jobtime.WithSlice(ctx, w.Service.cfg.Jobs.Slice())
	err := w.Service.RunCleanup(ctx, job.Args.TenantID, job.Args.ConnectionID)
	switch {
	case errors.Is(err, errSliceUsed):
		return river.JobSnooze(jobtime.Continue)
	case errors.Is(err, errSyncRunning):
		return river.JobSnooze(syncWaitSnooze)
	case errors.Is(err, errLeaseHeld):
		return river.JobSnooze(leaseWaitSnooze)
	}
	return err
}

// Timeout bounds one attempt below the rescue horizon (jobtime), so a
// cleanup whose replica died resumes on another within two minutes; the
// work itself stops at the slice's end (errSliceUsed) and continues.
func (w *CleanupWorker) Timeout(*river.Job[CleanupArgs]) time.Duration {
	return w.Service.cfg.Jobs.JobTimeout()
}

// NextRetry resumes a cleanup whose replica died at once: the connection
// sits in DISCONNECTING, holding its licenses, until it finishes.
func (w *CleanupWorker) NextRetry(job *river.Job[CleanupArgs]) time.Time {
	return jobtime.NextRetry(job.JobRow, w.Timeout(job))
}

// errSliceUsed says the cleanup stopped at the end of its slice, between
// two rooms; the worker snoozes and the next attempt continues.
var errSliceUsed = errors.New("the cleanup's slice is used up")

func (s *Service) enqueueCleanup(ctx context.Context, tx pgx.Tx, tenantID, connectionID string) error {
	rc := s.cfg.River
	if rc == nil {
		return errors.New("enqueue cleanup: the River client is not wired")
	}
	if _, err := rc.InsertTx(ctx, tx, CleanupArgs{TenantID: tenantID, ConnectionID: connectionID}, nil); err != nil {
		return fmt.Errorf("enqueue cleanup: %w", err)
	}
	return nil
}

// disconnectRow is a zoom_disconnects row.
type disconnectRow struct {
	Kind           zoom.ConnectionKind
	ZoomAccountID  string
	Reason         string
	Actor          string
	PreviousStatus Status
	Done           bool
	RevokeDone     bool
}

const (
	sqlGetDisconnect = `SELECT kind, zoom_account_id, reason, actor, previous_status, state = 'DONE', revoke_done
  FROM zoom_disconnects
 WHERE connection_id = $1 AND tenant_id = $2`
	sqlRecordRoom = `UPDATE zoom_disconnects
   SET rooms_cleaned = rooms_cleaned + $3, licenses_released = licenses_released + $4,
       leftovers = leftovers || $5::jsonb
 WHERE connection_id = $1 AND tenant_id = $2`
	sqlRecordRevoke = `UPDATE zoom_disconnects
   SET revoked = $3, revoke_done = true, leftovers = leftovers || $4::jsonb
 WHERE connection_id = $1 AND tenant_id = $2`
	sqlLockDisconnect = `SELECT state = 'DONE' FROM zoom_disconnects
 WHERE connection_id = $1 AND tenant_id = $2
   FOR UPDATE`
	// sqlLockConnectionRow takes the connection row for the rest of the
	// final transaction: an assignment insert (its foreign key takes a
	// key-share lock on the row, as does the rooms domain's reserve) waits
	// for it, or it waits for that insert to commit and then sees it.
	sqlLockConnectionRow = `SELECT id FROM zoom_connections WHERE id = $1 AND tenant_id = $2 FOR UPDATE`
	// sqlDeleteConnection deletes the connection; its rooms, devices,
	// alerts and sync runs cascade. No assignment is left to cascade:
	// ForgetRest deleted them under the connection row's lock.
	sqlDeleteConnection = `DELETE FROM zoom_connections WHERE id = $1 AND tenant_id = $2`
	sqlFinishDisconnect = `UPDATE zoom_disconnects
   SET state = 'DONE', finished_at = now(), licenses_released = licenses_released + $3,
       leftovers = leftovers || $4::jsonb
 WHERE connection_id = $1 AND tenant_id = $2
RETURNING revoked, rooms_cleaned, licenses_released, jsonb_array_length(leftovers), started_at`
)

// RunCleanup finishes a disconnect: it stops the connection's syncs and
// device refreshes (and fails, to be retried, while one still runs),
// removes our signage from every activated room through the rooms domain
// (Deps.Signage; best effort, one room at a time under the room's push
// lease, each room's license released in the same transaction that forgets
// it), settles the signage leftovers the rooms domain recorded for the
// connection (best effort too), revokes the grant (Marketplace disconnects
// only), then
// deletes the credentials, the connection and everything synced under it,
// with the audit event, in one transaction. A failure or kill at any
// point leaves a state the next attempt continues from. Zoom failing never
// fails the cleanup: what could not be removed is reported as leftovers.
func (s *Service) RunCleanup(ctx context.Context, tenantID, connectionID string) error {
	d, err := s.getDisconnect(ctx, tenantID, connectionID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // nothing to clean (the job outlived its record)
	}
	if err != nil || d.Done {
		return wrapCleanup(err)
	}
	if s.cfg.Signage == nil {
		return wrapCleanup(errors.New("no signage remover is wired (Deps.Signage)"))
	}
	if err := s.stopSyncs(ctx, connectionID); err != nil {
		return wrapCleanup(err)
	}
	c, err := getConnection(ctx, s.db, tenantID, connectionID)
	if apierror.CodeOf(err) == apierror.NotFound {
		// The row went without the record being finished (deleted by
		// hand, or its tenant removed): close the record.
		c = Connection{ID: connectionID, TenantID: tenantID, Kind: d.Kind, ZoomAccountID: d.ZoomAccountID}
		return wrapCleanup(s.finishDisconnect(ctx, c, d))
	}
	if err != nil {
		return wrapCleanup(err)
	}
	r := newRemover(s, c, d)
	if err := s.cleanRooms(ctx, c, r); err != nil {
		return wrapCleanup(err)
	}
	if err := s.cleanLeftovers(ctx, c, r); err != nil {
		return wrapCleanup(err)
	}
	if !d.RevokeDone {
		if err := s.revoke(ctx, c, d); err != nil {
			return wrapCleanup(err)
		}
	}
	if err := s.finishDisconnect(ctx, c, d); err != nil {
		return wrapCleanup(err)
	}
	s.zoom.ForgetConnection(connectionID)
	return nil
}

func wrapCleanup(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("connections.RunCleanup: %w", err)
}

func (s *Service) getDisconnect(ctx context.Context, tenantID, connectionID string) (disconnectRow, error) {
	var d disconnectRow
	var kind, prev string
	err := s.db.QueryRow(ctx, sqlGetDisconnect, connectionID, tenantID).Scan(&kind, &d.ZoomAccountID, &d.Reason, &d.Actor, &prev, &d.Done, &d.RevokeDone)
	d.Kind, d.PreviousStatus = zoom.ConnectionKind(kind), Status(prev)
	return d, err
}

// cleanRooms removes our signage room by room, each under the room's push
// lease (claimRoom), so a push that passed its last check before the
// disconnect began cannot enable the signage again after our removal. Each
// finished room is forgotten (assignment deleted, license released,
// leftover recorded) in one transaction, so a retry never cleans a room
// twice nor releases a license twice. Rooms a live push holds are left for
// a later attempt (errLeaseHeld): the push stops once it sees the
// connection DISCONNECTING.
func (s *Service) cleanRooms(ctx context.Context, c Connection, r *remover) error {
	list, err := s.cfg.Signage.Rooms(ctx, c.TenantID, c.ID)
	if err != nil {
		return fmt.Errorf("list assignments: %w", err)
	}
	held := 0
	for _, roomID := range list {
		if jobtime.SliceUsed(ctx) {
			return errSliceUsed
		}
		room, got, err := s.claimRoom(ctx, c, roomID)
		if err != nil {
			return err
		}
		switch got {
		case ClaimGone:
			continue // deactivated meanwhile: its license went back then
		case ClaimHeld:
			held++
			continue
		}
		reason := r.remove(ctx, room, cleanupOwner(c.ID))
		if err := ctx.Err(); err != nil {
			return err // killed mid-room: this room is redone by the next attempt
		}
		if err := s.forgetRoom(ctx, c, room, reason); err != nil {
			return err
		}
	}
	if held > 0 {
		return fmt.Errorf("%d rooms: %w", held, errLeaseHeld)
	}
	return nil
}

func (s *Service) forgetRoom(ctx context.Context, c Connection, a ClaimedRoom, leftoverReason string) error {
	return store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		deleted, err := s.cfg.Signage.ForgetRoom(ctx, tx, c.TenantID, c.ID, a.RoomID)
		if err != nil {
			return fmt.Errorf("delete assignment: %w", err)
		}
		if !deleted {
			return nil // deactivated meanwhile
		}
		released := 1 // its license returns with the row
		cleaned, left := 1, []Leftover{}
		if leftoverReason != "" {
			cleaned, left = 0, []Leftover{{ZoomRoomID: a.ZoomRoomID, Name: a.Name, Reason: leftoverReason}}
		}
		leftJSON, _ := json.Marshal(left)
		if _, err := tx.Exec(ctx, sqlRecordRoom, c.ID, c.TenantID, cleaned, released, leftJSON); err != nil {
			return fmt.Errorf("record room: %w", err)
		}
		return nil
	})
}

// revoke revokes a Marketplace grant when the disconnect came from the
// product. A deauthorization needs none (Zoom revoked it), and a
// Server-to-Server app cannot be revoked (the customer deactivates it in
// Zoom). A failed revoke is reported, never retried forever.
func (s *Service) revoke(ctx context.Context, c Connection, d disconnectRow) error {
	revoked, left := false, []Leftover{}
	if c.Kind == zoom.KindMarketplace && d.Reason == reasonDisconnect && d.PreviousStatus != StatusReauthRequired {
		var err error
		revoked, err = s.revokeGrant(ctx, c)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.log.WarnContext(ctx, "revoking a Zoom grant failed", "connection_id", c.ID, "error", err.Error())
			left = append(left, Leftover{Name: "Marketplace app authorization",
				Reason: "Zoom did not confirm the revocation (" + zoomReason(err) + "); remove the app in the Zoom App Marketplace"})
		}
	}
	leftJSON, _ := json.Marshal(left)
	if _, err := s.db.Exec(ctx, sqlRecordRevoke, c.ID, c.TenantID, revoked, leftJSON); err != nil {
		return fmt.Errorf("record revoke: %w", err)
	}
	return nil
}

// revokeGrant opens the stored refresh token (or the access token when
// there is none) under the row lock and asks Zoom to revoke the grant.
func (s *Service) revokeGrant(ctx context.Context, c Connection) (bool, error) {
	var token string
	_, err := s.tokens.WithLockedConnection(ctx, zoom.ConnectionRef{ID: c.ID, TenantID: c.TenantID},
		func(ctx context.Context, row *zoom.LockedConnection) (*zoom.TokenWrite, error) {
			var err error
			if row.HasRefreshToken {
				token, err = row.Secrets.RefreshToken(ctx)
			} else if row.HasAccessToken {
				token, err = row.Secrets.AccessToken(ctx)
			}
			return nil, err
		})
	if err != nil || token == "" {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.ZoomCallTimeout)
	defer cancel()
	if err := s.zoom.RevokeToken(cctx, s.app, token); err != nil {
		return false, err
	}
	return true, nil
}

// finishDisconnect deletes the credentials and the connection (its rooms,
// devices, alerts and sync runs cascade), releases the licenses of any
// assignment made while the cleanup ran (ForgetRest), and records the
// audit event and the final report, in one transaction. The connection row
// is locked first, so no assignment can appear between ForgetRest and the
// delete: every license the disconnect drops is released and reported.
func (s *Service) finishDisconnect(ctx context.Context, c Connection, d disconnectRow) error {
	return store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var done bool
		if err := tx.QueryRow(ctx, sqlLockDisconnect, c.ID, c.TenantID).Scan(&done); err != nil || done {
			return err
		}
		var locked string
		if err := tx.QueryRow(ctx, sqlLockConnectionRow, c.ID, c.TenantID).Scan(&locked); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("lock connection: %w", err)
		}
		rest, err := s.cfg.Signage.ForgetRest(ctx, tx, c.TenantID, c.ID)
		if err != nil {
			return fmt.Errorf("delete remaining assignments: %w", err)
		}
		late := make([]Leftover, len(rest))
		for i, r := range rest {
			late[i] = Leftover{ZoomRoomID: r.ZoomRoomID, Name: r.Name,
				Reason: "activated while the disconnect ran; remove the signage from this room in the Zoom web portal"}
		}
		if err := s.tokens.ClearCredentials(ctx, tx, zoom.ConnectionRef{ID: c.ID, TenantID: c.TenantID}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlDeleteConnection, c.ID, c.TenantID); err != nil {
			return fmt.Errorf("delete connection: %w", err)
		}
		leftJSON, _ := json.Marshal(append([]Leftover{}, late...))
		var (
			revoked                  bool
			cleaned, released, nLeft int
			startedAt                any
		)
		if err := tx.QueryRow(ctx, sqlFinishDisconnect, c.ID, c.TenantID, len(late), leftJSON).Scan(&revoked, &cleaned, &released, &nLeft, &startedAt); err != nil {
			return fmt.Errorf("finish disconnect: %w", err)
		}
		action := "connection.disconnected"
		if d.Reason == reasonDeauthorized {
			action = "connection.deauthorized"
		}
		return audit.Record(ctx, tx, audit.Event{
			TenantID: c.TenantID, Actor: d.Actor, Action: action, TargetType: "zoom_connection", TargetID: c.ID,
			Details: map[string]any{
				"kind": string(c.Kind), "zoomAccountId": c.ZoomAccountID, "label": c.Label,
				"connectedBy": c.AdminEmail, "connectedAt": c.CreatedAt, "requestedAt": startedAt,
				"revoked": revoked, "roomsCleaned": cleaned, "licensesReleased": released, "leftovers": nLeft,
			},
		})
	})
}
