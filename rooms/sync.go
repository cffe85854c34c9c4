package rooms

import (
	"context"
	"errors"
	"fmt"

	"zoomsignage/store"
	"zoomsignage/zoom"
)

// ErrNotSyncable is returned by Sync for a connection that is gone or may
// not be synced now (disconnecting, waiting for reauthorization).
var ErrNotSyncable = errors.New("rooms: connection cannot be synced")

// progressEvery is how many list pages pass between two syncProgress events.
const progressEvery = 5

// Sync runs one sync of a connection: list every room page (room status
// comes from the list alone), write what changed with its events in one
// transaction, retry pending signage pushes within their budget, and record
// the run. Devices are refreshed by a separate job (DevicesWorker) so a
// sync's duration is the list calls' alone.
//
// Each page's changes are written as it arrives (see inventory); rooms are
// removed only after the whole list was read, so a sync that fails half-way
// (a 429 storm, Zoom down) never removes a room, and the next run finishes
// the rest. Writes are idempotent: nothing is ever duplicated.
func (s *Service) Sync(ctx context.Context, tenantID, connectionID, trigger string) (SyncRun, error) {
	run, err := s.startRun(ctx, tenantID, connectionID, trigger)
	if errors.Is(err, errNotOwned) || store.IsInvalidText(err) || store.ConstraintError(err) != "" {
		s.log.WarnContext(ctx, "sync of a connection the tenant does not own ignored",
			"tenant_id", tenantID, "connection_id", connectionID, "trigger", trigger)
		return SyncRun{}, fmt.Errorf("rooms.Sync: %w: %w", ErrNotSyncable, err)
	}
	if err != nil {
		return SyncRun{}, fmt.Errorf("rooms.Sync: %w", err)
	}
	if err := s.cfg.Connections.Check(ctx, tenantID, connectionID); err != nil {
		run, ferr := s.finishRun(ctx, run, err)
		return run, fmt.Errorf("rooms.Sync: %w", errors.Join(fmt.Errorf("%w: %w", ErrNotSyncable, err), ferr))
	}
	runErr := s.syncOnce(ctx, &run)
	written := run.RowsWritten
	run, err = s.finishRun(ctx, run, runErr)
	run.RowsWritten = written
	if runErr != nil {
		s.log.WarnContext(ctx, "sync failed", "connection_id", connectionID, "trigger", trigger, "error", runErr.Error())
		return run, fmt.Errorf("rooms.Sync: %w", runErr)
	}
	if err != nil {
		return run, fmt.Errorf("rooms.Sync: %w", err)
	}
	return run, nil
}

// syncOnce does the work of a run, updating its counts as it goes.
func (s *Service) syncOnce(ctx context.Context, run *SyncRun) error {
	ac, err := s.cfg.Connections.ZoomClient(ctx, run.TenantID, run.ConnectionID)
	if err != nil {
		return err
	}
	fresh := s.uncached(ac)
	inv, err := s.newInventory(ctx, run.TenantID, run.ConnectionID)
	if err != nil {
		return err
	}
	if err := s.listAll(ctx, fresh, run, inv); err != nil {
		return err
	}
	run.RoomsSeen = len(inv.seen)
	inv.runID = run.ID
	if err := inv.finish(ctx); err != nil {
		return err
	}
	if inv.refused > 0 {
		if err := s.recordRefusal(ctx, run, inv.refused); err != nil {
			return err
		}
	}
	ch := inv.changes
	run.RoomsAdded, run.RoomsRemoved, run.StatusChanges = ch.added, len(ch.removed), ch.statusChanges
	run.RowsWritten = ch.rowsWritten
	s.cleanupRemoved(ctx, fresh, run, ch.removed)
	budget := s.pushBudget(fresh)
	calls, err := s.retryPushes(ctx, fresh, run.TenantID, run.ConnectionID, budget)
	run.ZoomCalls += calls
	if err != nil {
		return err
	}
	left := max(budget-calls, 1)
	calls, err = s.retryLeftovers(ctx, fresh, run.TenantID, run.ConnectionID, left)
	run.ZoomCalls += calls
	if err != nil {
		return err
	}
	calls, err = s.verifyActive(ctx, fresh, run.TenantID, run.ConnectionID, max(left-calls, 1))
	run.ZoomCalls += calls
	return err
}

// uncached returns the account's calls without the response cache: a sync
// must see Zoom as it is now, not a page cached by a UI read.
func (s *Service) uncached(ac *zoom.AccountClient) *zoom.AccountClient {
	acc := ac.Account()
	acc.NoCache = true
	return s.cfg.Zoom.For(acc)
}

// maxListPages stops a sync whose list Zoom keeps feeding (the same cap as
// zoom.ListRooms: 10,000 pages of 300 rooms is far past any account).
const maxListPages = 10_000

// errListLoops fails a sync whose room list never ends: more than
// maxListPages pages, or a next_page_token Zoom already gave.
var errListLoops = fmt.Errorf("%w: the room list does not end", zoom.ErrMalformedResponse)

// listAll reads every page of the account's rooms, sequentially (each page
// needs the previous page's token), hands each to the inventory, and
// publishes progress.
func (s *Service) listAll(ctx context.Context, ac *zoom.AccountClient, run *SyncRun, inv *inventory) error {
	token := ""
	seen := map[string]bool{}
	for page := 1; page <= maxListPages; page++ {
		p, err := ac.ListRoomsPage(ctx, zoom.RoomFilter{}, token)
		run.ZoomCalls++
		if err != nil {
			return fmt.Errorf("rooms.listAll: page %d: %w", page, err)
		}
		run.RoomsSeen += len(p.Rooms)
		if err := inv.page(ctx, p.Rooms); err != nil {
			return err
		}
		if p.NextPageToken == "" {
			return nil
		}
		if seen[p.NextPageToken] {
			return fmt.Errorf("rooms.listAll: page %d repeats a page token: %w", page, errListLoops)
		}
		seen[p.NextPageToken] = true
		token = p.NextPageToken
		if page%progressEvery == 0 {
			s.emitProgress(ctx, *run)
		}
	}
	return fmt.Errorf("rooms.listAll: more than %d pages: %w", maxListPages, errListLoops)
}

// mediumBudget is the number of Medium calls the gateway allows itself for
// the account over one sync interval, scaled by share.
func (s *Service) mediumBudget(ac *zoom.AccountClient, share float64) int {
	plan := ac.Account().Plan
	limits := zoom.DefaultRateLimits()
	perSec, ok := limits[plan][zoom.Medium]
	if !ok {
		perSec = limits[zoom.PlanPro][zoom.Medium]
	}
	n := int(perSec * s.cfg.RateShare * s.cfg.SyncInterval.Seconds() * share)
	return max(n, 1)
}

func (s *Service) pushBudget(ac *zoom.AccountClient) int { return s.mediumBudget(ac, s.cfg.PushBudget) }

// DeviceBudget is how many device calls one refresh of the connection may
// make: DeviceBudget of its Medium share over one interval.
func (s *Service) DeviceBudget(ac *zoom.AccountClient) int {
	return s.mediumBudget(ac, s.cfg.DeviceBudget)
}
