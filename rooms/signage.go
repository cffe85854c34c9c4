package rooms

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/store"
	"zoomsignage/zoom"
)

// MaxBulkRooms bounds the rooms of one bulk signage call.
const MaxBulkRooms = 500

// pushParallelism is how many rooms a bulk call pushes at once; the shared
// rate limiter paces them anyway, this only overlaps Zoom's latency.
const pushParallelism = 8

// pushDeadline bounds the Zoom work of one bulk call. Rooms not pushed by
// then stay PUSHING and are pushed by the next sync, so a bulk activation of
// hundreds of rooms answers within the request timeout.
const pushDeadline = 20 * time.Second

// Result is the outcome of a bulk call for one room: an assignment (nil
// when the room has no signage) or a client-safe error.
type Result struct {
	RoomID     string
	Assignment *Assignment
	Err        error
}

// Done reports whether the call's change reached Zoom: no error, and the
// room's signage (if it still has any) ACTIVE or waiting only for Zoom to
// enable Digital Signage on the room. A push still in flight (PUSHING, to
// be retried), a failed one and a removal still owed to Zoom are not done,
// so an API client is never told "ok" for a room that shows nothing.
func (r Result) Done() bool {
	if r.Err != nil {
		return false
	}
	return r.Assignment == nil || r.Assignment.State == SignageActive || r.Assignment.State == SignagePending
}

// Actor is who calls: the tenant scopes every read and write, the actor is
// what the audit log records.
type Actor struct {
	TenantID string
	Name     string
}

// bulk is the common start of a bulk call: the distinct room ids (in the
// caller's order), the tenant's rooms among them and their assignments.
type bulk struct {
	ids     []string
	rooms   map[string]Room
	signage map[string]Assignment
	clients map[string]*zoom.AccountClient
	errs    map[string]error // per connection
}

func (s *Service) loadBulk(ctx context.Context, tenantID string, roomIDs []string) (*bulk, error) {
	if len(roomIDs) == 0 {
		return nil, apierror.Invalid("roomIds", "give at least one room id")
	}
	if len(roomIDs) > MaxBulkRooms {
		return nil, apierror.Invalid("roomIds", "at most %d rooms per call", MaxBulkRooms)
	}
	b := &bulk{clients: map[string]*zoom.AccountClient{}, errs: map[string]error{}}
	seen := map[string]bool{}
	for _, id := range roomIDs {
		if !seen[id] {
			seen[id] = true
			b.ids = append(b.ids, id)
		}
	}
	var err error
	if b.rooms, err = s.RoomsByID(ctx, tenantID, b.ids); err != nil {
		return nil, err
	}
	if b.signage, err = s.SignageByRoom(ctx, tenantID, b.ids); err != nil {
		return nil, err
	}
	return b, nil
}

// plan walks the bulk's rooms in order for a bulk signage call: ids that
// are not the tenant's rooms are answered NOT_FOUND, and step decides each
// other room, filling its result and returning its push (nil for none).
// An error from step stops the call.
func (b *bulk) plan(step func(i int, id string, room Room, res *Result) (*pushJob, error)) ([]Result, []pushJob, error) {
	results := make([]Result, len(b.ids))
	var work []pushJob
	for i, id := range b.ids {
		results[i].RoomID = id
		room, ok := b.rooms[id]
		if !ok {
			results[i].Err = notFound(id)
			continue
		}
		job, err := step(i, id, room, &results[i])
		if err != nil {
			return nil, nil, err
		}
		if job != nil {
			work = append(work, *job)
		}
	}
	return results, work, nil
}

// client returns the Zoom client of a room's connection, once per
// connection per call.
func (s *Service) client(ctx context.Context, b *bulk, r Room) (*zoom.AccountClient, error) {
	if c, ok := b.clients[r.ConnectionID]; ok {
		return c, nil
	}
	if err, ok := b.errs[r.ConnectionID]; ok {
		return nil, err
	}
	c, err := s.cfg.Connections.ZoomClient(ctx, r.TenantID, r.ConnectionID)
	if err != nil {
		b.errs[r.ConnectionID] = err
		return nil, err
	}
	b.clients[r.ConnectionID] = c
	return c, nil
}

func notFound(id string) error { return apierror.NotFoundf("room %q not found", id) }

// Activate turns signage on for rooms: per room, the assignment and its
// license are reserved atomically (LICENSE_LIMIT_REACHED once the tenant has
// none left), then pushed to Zoom. Rooms that already have signage are
// returned as they are (a FAILED or pending one is pushed again). One
// room's failure never fails the others; a room whose push fails for good
// is rolled back, license and library item included.
func (s *Service) Activate(ctx context.Context, actor Actor, roomIDs []string, settings Settings) ([]Result, error) {
	if err := settings.Validate(); err != nil {
		return nil, err
	}
	b, err := s.loadBulk(ctx, actor.TenantID, roomIDs)
	if err != nil {
		return nil, err
	}
	results, work, err := b.plan(func(i int, id string, room Room, res *Result) (*pushJob, error) {
		ac, err := s.client(ctx, b, room)
		if err != nil {
			res.Err = zoomError(err)
			return nil, nil
		}
		if a, ok := b.signage[id]; ok {
			res.Assignment = &a
			// Activating again pushes what has not reached Zoom: a failed
			// push, a room Zoom had not enabled, and a push left in flight
			// (one still running holds the lease and is left alone).
			if a.State == SignageFailed || a.State == SignagePending || a.State == SignagePushing {
				return &pushJob{i: i, room: room, a: a, ac: ac}, nil
			}
			if a.State == SignageRemoving {
				res.Assignment, res.Err = nil, apierror.Invalid("roomIds", "signage is being removed from room %q; try again shortly", id)
			}
			return nil, nil
		}
		a, err := s.reserve(ctx, actor.Name, room, defaultSettings().merge(settings))
		switch {
		case errors.Is(err, errAlreadyActivated):
			current, gerr := s.SignageByRoom(ctx, actor.TenantID, []string{id})
			if gerr != nil {
				return nil, gerr
			}
			if c, ok := current[id]; ok {
				res.Assignment = &c
			}
			return nil, nil
		case err != nil:
			if _, ok := apierror.As(err); !ok {
				return nil, err
			}
			res.Err = err
			return nil, nil
		}
		return &pushJob{i: i, room: room, a: a, ac: ac, fresh: true}, nil
	})
	if err != nil {
		return nil, err
	}
	s.runPushes(ctx, work, s.activateOne(actor), results)
	return results, nil
}

type pushJob struct {
	i     int
	room  Room
	a     Assignment
	ac    *zoom.AccountClient
	fresh bool // reserved by this call: rolled back if the push fails for good
}

// runPushes runs do for every job, pushParallelism at a time, within
// pushDeadline, and stores each result at its index.
func (s *Service) runPushes(ctx context.Context, jobs []pushJob, do func(context.Context, pushJob) Result, results []Result) {
	if len(jobs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, pushDeadline)
	defer cancel()
	sem := make(chan struct{}, pushParallelism)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[j.i] = do(ctx, j)
		}()
	}
	wg.Wait()
}

// activateOne returns the push of one reserved (or pending) assignment.
func (s *Service) activateOne(actor Actor) func(context.Context, pushJob) Result {
	return func(ctx context.Context, j pushJob) Result { return s.activateJob(ctx, actor, j) }
}

func (s *Service) activateJob(ctx context.Context, actor Actor, j pushJob) Result {
	a, _, err := s.pushAndRecord(ctx, j.ac, j.room, j.a)
	res := Result{RoomID: j.room.ID, Assignment: &a}
	switch {
	case errors.Is(err, errRemovalRequested):
		return Result{RoomID: j.room.ID} // deactivated meanwhile
	case errors.Is(err, errNotClaimed), errors.Is(err, errLeaseLost):
		return res // another push (or the removal) has it: as it is
	case err == nil || zoom.IsSignageDisabled(err) || transient(err):
		return res // ACTIVE, pending, or PUSHING until the next sync
	}
	if !j.fresh {
		res.Err = zoomError(err)
		return res
	}
	// A failure that will not go away by itself: undo the activation.
	if _, rerr := s.finishRollback(ctx, actor, j.room, a); rerr != nil {
		s.log.ErrorContext(ctx, "rolling back a failed activation failed", "room_id", j.room.ID, "error", rerr.Error())
	}
	return Result{RoomID: j.room.ID, Err: zoomError(err)}
}

// finishRollback removes what a failed activation left (our library item)
// and releases the license.
func (s *Service) finishRollback(ctx context.Context, actor Actor, room Room, a Assignment) (bool, error) {
	if a.ZoomContentID != "" {
		if ac, err := s.cfg.Connections.ZoomClient(ctx, room.TenantID, room.ConnectionID); err == nil {
			if err := ac.DeleteSignageContent(context.WithoutCancel(ctx), a.ZoomContentID); err != nil && !zoom.IsNotFound(err) {
				s.log.WarnContext(ctx, "could not delete the library item of a failed activation", "room_id", room.ID, "error", err.Error())
			}
		}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return s.release(dctx, actor.Name, "signage.activation_failed", room, "",
		[]string{SignagePushing, SignageFailed, SignagePending, SignageActive}, map[string]any{"reason": a.LastError})
}

// Deactivate removes our signage from rooms: marked REMOVING (audited),
// signage turned off on the room and our library item deleted, then the
// assignment deleted and its license released. A room without signage is
// returned as it is. When Zoom fails, the room stays REMOVING with the
// error and the next sync finishes the removal, except when Zoom refuses
// the connection's authorization: syncs are paused then, so the license is
// released at once and the room recorded as a leftover (see abandon).
func (s *Service) Deactivate(ctx context.Context, actor Actor, roomIDs []string) ([]Result, error) {
	b, err := s.loadBulk(ctx, actor.TenantID, roomIDs)
	if err != nil {
		return nil, err
	}
	results, work, err := b.plan(func(i int, id string, room Room, res *Result) (*pushJob, error) {
		current, ok := b.signage[id]
		if !ok {
			return nil, nil // nothing to remove
		}
		ac, err := s.client(ctx, b, room)
		if err != nil {
			*res = s.deactivationFailed(ctx, actor.Name, room, &current, err)
			return nil, nil
		}
		a, err := s.markRemoving(ctx, actor, room)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil // removed concurrently
		}
		if err != nil {
			return nil, err
		}
		return &pushJob{i: i, room: room, a: a, ac: ac}, nil
	})
	if err != nil {
		return nil, err
	}
	s.runPushes(ctx, work, func(ctx context.Context, j pushJob) Result {
		_, done, err := s.finishRemoval(ctx, j.ac, actor.Name, j.room)
		if err != nil {
			a := j.a
			return s.deactivationFailed(ctx, actor.Name, j.room, &a, err)
		}
		if !done {
			// A push in flight holds the room: it removes its own work once
			// its calls are done. The room shows REMOVING until then.
			a := j.a
			return Result{RoomID: j.room.ID, Assignment: &a}
		}
		return Result{RoomID: j.room.ID}
	}, results)
	return results, nil
}

func (s *Service) markRemoving(ctx context.Context, actor Actor, room Room) (Assignment, error) {
	var a Assignment
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if a, err = oneAssignment(ctx, tx, sqlMarkRemoving, room.TenantID, room.ID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Event{TenantID: room.TenantID, Actor: actor.Name, Action: "signage.deactivate",
			TargetType: "room", TargetID: room.ID, Details: map[string]any{"room": room.Name, "zoomRoomId": room.ZoomRoomID}}); err != nil {
			return err
		}
		return s.emitSignage(ctx, tx, room, &a)
	})
	if err != nil {
		return Assignment{}, fmt.Errorf("rooms.markRemoving: %w", err)
	}
	return a, nil
}

// UpdateSettings changes layout, mute or display period on activated rooms.
// An active room is pushed first and saved only when Zoom took it (or said
// signage is disabled: then it waits as PENDING_ZOOM_ENABLE); a room whose
// push is still pending is saved, and its next push carries the new values.
func (s *Service) UpdateSettings(ctx context.Context, actor Actor, roomIDs []string, settings Settings) ([]Result, error) {
	if err := settings.Validate(); err != nil {
		return nil, err
	}
	if settings.empty() {
		return nil, apierror.Invalid("settings", "give at least one of layout, muted and displayPeriod")
	}
	b, err := s.loadBulk(ctx, actor.TenantID, roomIDs)
	if err != nil {
		return nil, err
	}
	results, work, err := b.plan(func(i int, id string, room Room, res *Result) (*pushJob, error) {
		a, ok := b.signage[id]
		switch {
		case !ok:
			res.Err = apierror.NotFoundf("signage is not activated on room %q", id)
			return nil, nil
		case a.State == SignageRemoving:
			res.Err = apierror.Invalid("roomIds", "signage is being removed from room %q", id)
			return nil, nil
		}
		ac, err := s.client(ctx, b, room)
		if err != nil {
			res.Err = zoomError(err)
			return nil, nil
		}
		return &pushJob{i: i, room: room, a: a, ac: ac}, nil
	})
	if err != nil {
		return nil, err
	}
	s.runPushes(ctx, work, func(ctx context.Context, j pushJob) Result { return s.updateOne(ctx, actor, j, settings) }, results)
	return results, nil
}

func (s *Service) updateOne(ctx context.Context, actor Actor, j pushJob, settings Settings) Result {
	next := valuesOf(j.a).merge(settings)
	state, msg := j.a.State, j.a.LastError
	if j.a.State == SignageActive {
		// The lease keeps a deactivation's disabling PATCH from landing
		// before this enabling one.
		owner := newLeaseOwner()
		_, ok, err := s.claimAssignment(ctx, j.room.TenantID, j.room.ID, owner, SignageActive)
		if err != nil {
			return Result{RoomID: j.room.ID, Err: apierror.New(apierror.Internal, "saving the settings failed; try again")}
		}
		if !ok {
			return Result{RoomID: j.room.ID, Err: apierror.Invalid("roomIds", "signage on room %q is being changed; try again shortly", j.room.ID)}
		}
		defer func() {
			if err := s.releaseLease(ctx, j.a, owner); err != nil {
				s.log.ErrorContext(ctx, "releasing a push lease failed", "room_id", j.room.ID, "error", err.Error())
			}
		}()
		err = j.ac.UpdateSignageSettings(ctx, j.room.ZoomRoomID, next.zoomSettings())
		switch {
		case err == nil:
			msg = ""
		case zoom.IsSignageDisabled(err):
			state, msg = SignagePending, "Digital Signage is not enabled for this room in Zoom; it is pushed again at every sync until it is"
		default:
			a := j.a
			return Result{RoomID: j.room.ID, Assignment: &a, Err: zoomError(err)}
		}
	}
	var a Assignment
	ctx = context.WithoutCancel(ctx) // Zoom took the change: record it
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		a, err = oneAssignment(ctx, tx, sqlUpdateSettings, j.room.TenantID, j.room.ID, next.layout, next.muted,
			next.startAfter, next.stopBefore, state, msg)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Event{TenantID: j.room.TenantID, Actor: actor.Name, Action: "signage.update_settings",
			TargetType: "room", TargetID: j.room.ID, Details: next.details(j.room)}); err != nil {
			return err
		}
		// Recorded on every saved change, not only a new state: the event
		// carries layout and mute, and the room's screen plays by them.
		return s.emitSignage(ctx, tx, j.room, &a)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Result{RoomID: j.room.ID, Err: apierror.NotFoundf("signage is not activated on room %q", j.room.ID)}
	}
	if err != nil {
		s.log.ErrorContext(ctx, "saving signage settings failed", "room_id", j.room.ID, "error", err.Error())
		return Result{RoomID: j.room.ID, Err: apierror.New(apierror.Internal, "saving the settings failed; try again")}
	}
	return Result{RoomID: j.room.ID, Assignment: &a}
}
