package screens

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"zoomsignage/events"
	"zoomsignage/rooms"
	"zoomsignage/store"
)

// SweepEvery is how often the sweep looks for screens that fell silent and
// broadcasts whose endsAt passed: a screen.offline or broadcast.ended
// event is at most this late.
const SweepEvery = 15 * time.Second

// sweepBatch bounds one transaction of the sweep.
const sweepBatch = 500

const (
	// sqlSeen is the common case of a contact: the screen is online as
	// announced, and whether last_seen_at is due a write (seenEvery).
	sqlSeen = `SELECT online AND last_seen_at > $2, last_seen_at < $3 FROM screen_status WHERE room_id = $1`
	// sqlTouchSeen moves last_seen_at of a screen still online as
	// announced (nothing when it is not: the contact then announces).
	sqlTouchSeen = `UPDATE screen_status SET last_seen_at = $2 WHERE room_id = $1 AND online AND last_seen_at > $3`
	sqlLockSeen  = `SELECT last_seen_at, online FROM screen_status WHERE room_id = $1 FOR UPDATE`
	// sqlInsertSeen is a first contact; a concurrent first contact that
	// inserted first announces instead.
	sqlInsertSeen = `INSERT INTO screen_status (room_id, tenant_id, last_seen_at, online) VALUES ($1, $2, $3, true)
ON CONFLICT (room_id) DO NOTHING`
	sqlUpdateSeen = `UPDATE screen_status SET last_seen_at = $2, online = true WHERE room_id = $1`
	// sqlSweepOffline takes the screens announced online whose last contact
	// is older than the window; a row locked by a contact in progress is
	// skipped (that contact decides its transition).
	sqlSweepOffline = `UPDATE screen_status s SET online = false FROM (
  SELECT room_id FROM screen_status WHERE online AND last_seen_at <= $1
  ORDER BY last_seen_at, room_id LIMIT $2 FOR UPDATE SKIP LOCKED) due
WHERE s.room_id = due.room_id
RETURNING s.room_id, s.tenant_id, s.last_seen_at`
	// sqlOnlineOf picks the rooms whose screen is online as announced and
	// called within the window.
	sqlOnlineOf = `SELECT room_id FROM screen_status WHERE room_id = ANY($1::uuid[]) AND online AND last_seen_at > $2 ORDER BY room_id`
	// sqlSweepBroadcasts takes the broadcasts whose endsAt passed without
	// endBroadcast, once.
	sqlSweepBroadcasts = `UPDATE broadcasts b SET end_announced = true FROM (
  SELECT id AS due_id FROM broadcasts WHERE NOT end_announced AND ended_at IS NULL AND ends_at IS NOT NULL AND ends_at <= $1
  ORDER BY ends_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) due
WHERE b.id = due.due_id
RETURNING ` + broadcastColumns
)

// recordSeen notes a contact from a screen (at most every seenEvery) and,
// when the screen was not online as last announced, announces
// screen.online in the same transaction, under the row's lock, so each
// transition is announced once whichever replica sees the contact. A
// screen that fell silent for the online window before the sweep noticed
// is announced offline (as of the window's end) and online again.
func (s *Service) recordSeen(ctx context.Context, sc rooms.Screen) {
	if err := s.seen(ctx, sc); err != nil {
		s.log.WarnContext(ctx, "recording a screen contact failed", "room_id", sc.RoomID, "error", err.Error())
	}
}

func (s *Service) seen(ctx context.Context, sc rooms.Screen) error {
	now := s.cfg.Now()
	var online, due bool
	err := s.db.QueryRow(ctx, sqlSeen, sc.RoomID, now.Add(-OnlineWindow), now.Add(-seenEvery)).Scan(&online, &due)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("screens.seen: %w", err)
	}
	if err == nil && online {
		if !due {
			return nil
		}
		tag, err := s.db.Exec(ctx, sqlTouchSeen, sc.RoomID, now, now.Add(-OnlineWindow))
		if err != nil {
			return fmt.Errorf("screens.seen: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		// Swept offline meanwhile: this contact announces it online.
	}
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var last time.Time
		var wasOnline bool
		err := tx.QueryRow(ctx, sqlLockSeen, sc.RoomID).Scan(&last, &wasOnline)
		var evs []events.Event
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			tag, err := tx.Exec(ctx, sqlInsertSeen, sc.RoomID, sc.TenantID, now)
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			evs = append(evs, screenEvent(sc, true, now, now))
		case err != nil:
			return err
		default:
			if wasOnline && now.Sub(last) >= OnlineWindow {
				evs = append(evs, screenEvent(sc, false, last, last.Add(OnlineWindow)))
			}
			if !wasOnline || now.Sub(last) >= OnlineWindow {
				evs = append(evs, screenEvent(sc, true, now, now))
			}
			if _, err := tx.Exec(ctx, sqlUpdateSeen, sc.RoomID, now); err != nil {
				return err
			}
		}
		if len(evs) > 0 {
			// Rooms' health counts the screen lit again, with this commit.
			if err := s.cfg.Rooms.SetScreenStates(ctx, tx, sc.TenantID, []string{sc.RoomID}, rooms.ScreenOnline, false); err != nil {
				return err
			}
		}
		return s.cfg.Events.Add(ctx, tx, evs...)
	})
	if err != nil {
		return fmt.Errorf("screens.seen: %w", err)
	}
	return nil
}

// screenEvent is a screen.online or screen.offline event of sc's room.
func screenEvent(sc rooms.Screen, online bool, lastSeen, at time.Time) events.Event {
	kind := events.ScreenOffline
	if online {
		kind = events.ScreenOnline
	}
	return events.Event{Kind: kind, TenantID: sc.TenantID, ConnectionID: sc.ConnectionID, At: at,
		Room:   &events.RoomSnapshot{ID: sc.RoomID, ConnectionID: sc.ConnectionID, Name: sc.RoomName},
		Screen: &events.ScreenSnapshot{Online: online, LastSeenAt: lastSeen}}
}

// Sweep announces what ends by the clock rather than by a request:
// screen.offline for each screen whose last contact left the online
// window, broadcast.ended for each broadcast whose endsAt passed; then it
// removes Zoom's emergency alert of ended broadcasts where it is still up. Each row
// is taken under its lock in the transaction that writes its event, so a
// transition is announced once across replicas and sweeps. It returns how
// many events it wrote.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	total := 0
	for _, step := range []struct {
		run      func(context.Context) (int, error)
		announce bool // its count is of events written
	}{{s.sweepOffline, true}, {s.sweepPending, false}, {s.sweepBroadcasts, true}} {
		n, err := sweepAll(ctx, step.run)
		if step.announce {
			total += n
		}
		if err != nil {
			return total, err
		}
	}
	// After the ends committed: Zoom's alert of the broadcasts that ended
	// goes (and any removal that failed before is tried again).
	if err := s.removeEndedZoomAlerts(ctx); err != nil {
		return total, err
	}
	return total, nil
}

// sweepAll runs one sweep step batch after batch until a batch is not full,
// and returns how many rows it took in all.
func sweepAll(ctx context.Context, step func(context.Context) (int, error)) (int, error) {
	total := 0
	for {
		n, err := step(ctx)
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}

func (s *Service) sweepOffline(ctx context.Context) (int, error) {
	n := 0
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlSweepOffline, s.cfg.Now().Add(-OnlineWindow), sweepBatch)
		if err != nil {
			return err
		}
		type gone struct {
			room, tenant string
			last         time.Time
		}
		var list []gone
		var g gone
		if _, err := pgx.ForEachRow(rows, []any{&g.room, &g.tenant, &g.last}, func() error {
			list = append(list, g)
			return nil
		}); err != nil {
			return err
		}
		n = len(list)
		byTenant := map[string][]string{}
		for _, g := range list {
			byTenant[g.tenant] = append(byTenant[g.tenant], g.room)
		}
		// The rooms' names and connections, for the partner's payload (a
		// room deleted meanwhile still goes offline, by id alone).
		known := map[string]rooms.Room{}
		for tenant, ids := range byTenant {
			found, err := s.cfg.Rooms.RoomsByID(ctx, tenant, ids)
			if err != nil {
				return err
			}
			for id, r := range found {
				known[id] = r
			}
		}
		// Rooms' health counts these screens dark, with this commit.
		for tenant, ids := range byTenant {
			if err := s.cfg.Rooms.SetScreenStates(ctx, tx, tenant, ids, rooms.ScreenOffline, false); err != nil {
				return err
			}
		}
		evs := make([]events.Event, 0, len(list))
		for _, g := range list {
			r := known[g.room]
			evs = append(evs, screenEvent(rooms.Screen{RoomID: g.room, TenantID: g.tenant, ConnectionID: r.ConnectionID, RoomName: r.Name},
				false, g.last, g.last.Add(OnlineWindow)))
		}
		return s.cfg.Events.Add(ctx, tx, evs...)
	})
	if err != nil {
		return 0, fmt.Errorf("screens.sweepOffline: %w", err)
	}
	return n, nil
}

// sweepPending settles the screens of assignments activated longer than
// the online window ago that no transition reported yet: ONLINE when the
// player is calling (a screen row already online, as after a
// reactivation: no transition to announce), else OFFLINE, a screen never
// seen since its activation counting as dark for room health. No
// screen.offline is announced for a screen that was never online. It
// returns how many assignments it settled.
func (s *Service) sweepPending(ctx context.Context) (int, error) {
	n := 0
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		now := s.cfg.Now()
		list, err := s.cfg.Rooms.PendingScreens(ctx, tx, now.Add(-OnlineWindow), sweepBatch)
		if err != nil {
			return err
		}
		n = len(list)
		if n == 0 {
			return nil
		}
		ids := make([]string, len(list))
		for i, sc := range list {
			ids[i] = sc.RoomID
		}
		rows, err := tx.Query(ctx, sqlOnlineOf, ids, now.Add(-OnlineWindow))
		if err != nil {
			return err
		}
		online, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		lit := make(map[string]bool, len(online))
		for _, id := range online {
			lit[id] = true
		}
		type key struct{ tenant, state string }
		groups := map[key][]string{}
		for _, sc := range list {
			k := key{sc.TenantID, rooms.ScreenOffline}
			if lit[sc.RoomID] {
				k.state = rooms.ScreenOnline
			}
			groups[k] = append(groups[k], sc.RoomID)
		}
		for k, ids := range groups {
			if err := s.cfg.Rooms.SetScreenStates(ctx, tx, k.tenant, ids, k.state, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("screens.sweepPending: %w", err)
	}
	return n, nil
}

func (s *Service) sweepBroadcasts(ctx context.Context) (int, error) {
	n := 0
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlSweepBroadcasts, s.cfg.Now(), sweepBatch)
		if err != nil {
			return err
		}
		list, err := pgx.CollectRows(rows, scanBroadcast)
		if err != nil {
			return err
		}
		n = len(list)
		evs := make([]events.Event, 0, len(list))
		for _, b := range list {
			ids, err := broadcastRoomsTx(ctx, tx, b)
			if err != nil {
				return err
			}
			evs = append(evs, broadcastEvent(events.BroadcastEnded, b, ids, *b.EndsAt))
		}
		return s.cfg.Events.Add(ctx, tx, evs...)
	})
	if err != nil {
		return 0, fmt.Errorf("screens.sweepBroadcasts: %w", err)
	}
	return n, nil
}

// SweepArgs is the periodic job that runs Sweep.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "screens_sweep" }

// SweepWorker works SweepArgs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	s *Service
}

// Work implements river.Worker.
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.s.Sweep(ctx)
	return err
}

// AddWorkers registers the package's River workers.
func (s *Service) AddWorkers(workers *river.Workers) {
	river.AddWorker(workers, &SweepWorker{s: s})
}

// PeriodicJobs are the package's periodic jobs: the sweep, every
// SweepEvery (River's leader enqueues it, one replica at a time; the row
// locks keep a second sweep from announcing anything twice anyway).
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(SweepEvery),
		func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
		&river.PeriodicJobOpts{ID: "screens_sweep"})}
}
