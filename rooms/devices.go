package rooms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"zoomsignage/store"
	"zoomsignage/syncjob"
	"zoomsignage/zoom"
)

// Devices cost one Medium call per room (Zoom has no bulk call), so they
// cannot be read on every sync: 10,000 rooms would need 500 s of a Pro
// account's whole Medium budget. They are read for new rooms first, then
// refreshed oldest-first, DeviceBudget calls per interval; opening a room in
// the UI refreshes its devices when they are older than DeviceStaleAfter.

// DevicesArgs is the job that refreshes a budgeted slice of a connection's
// room devices; the sync worker enqueues it after each successful sync.
type DevicesArgs struct {
	TenantID     string `json:"tenant_id"`
	ConnectionID string `json:"connection_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (DevicesArgs) Kind() string { return syncjob.DevicesKind }

// InsertOpts keeps one refresh per connection waiting or running.
func (DevicesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled,
	}}}
}

// DevicesWorker works DevicesArgs.
type DevicesWorker struct {
	river.WorkerDefaults[DevicesArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *DevicesWorker) Work(ctx context.Context, job *river.Job[DevicesArgs]) error {
	// One slice per job: a refresh stops at its deadline like at a rate
	// limit, and the stalest rooms left wait for the next refresh.
	ctx, cancel := context.WithTimeout(ctx, w.Service.cfg.Jobs.Slice())
	defer cancel()
	_, err := w.Service.RefreshDevices(ctx, job.Args.TenantID, job.Args.ConnectionID)
	if errors.Is(err, ErrNotSyncable) {
		return nil
	}
	return err
}

// Timeout bounds a refresh below the rescue horizon (jobtime); Work stops
// the refresh itself at its slice.
func (w *DevicesWorker) Timeout(*river.Job[DevicesArgs]) time.Duration {
	return w.Service.cfg.Jobs.JobTimeout()
}

func (s *Service) enqueueDevices(ctx context.Context, tenantID, connectionID string) error {
	c := s.cfg.River
	if c == nil {
		return errNoRiver
	}
	if _, err := c.Insert(ctx, DevicesArgs{TenantID: tenantID, ConnectionID: connectionID}, nil); err != nil {
		return fmt.Errorf("rooms.enqueueDevices: %w", err)
	}
	return nil
}

const (
	// sqlStaleRooms is the refresh order: never-tried rooms first, then by
	// the later of the last refresh and the last failure, so a room whose
	// refresh keeps failing goes to the back of the queue instead of taking
	// a call of every run. The index rooms_connection_devices_due serves it.
	sqlStaleRooms = `SELECT ` + roomColumns + ` FROM rooms r
WHERE r.tenant_id = $1 AND r.connection_id = $2
ORDER BY greatest(r.devices_refreshed_at, r.devices_failed_at) NULLS FIRST, r.id
LIMIT $3`
	sqlDevicesFailed = `UPDATE rooms SET devices_failed_at = now() WHERE tenant_id = $1 AND id = $2`
	sqlLockRoom      = `SELECT id FROM rooms WHERE tenant_id = $1 AND id = $2 FOR UPDATE`
	// sqlUpsertDevices writes the devices that are new or changed.
	sqlUpsertDevices = `INSERT INTO room_devices (tenant_id, room_id, zoom_device_id, type, model, manufacturer, os,
  app_version, firmware, status, hostname)
SELECT $1, $2, u.id, u.type, nullif(u.model, ''), nullif(u.manufacturer, ''), nullif(u.os, ''), nullif(u.app, ''),
  nullif(u.firmware, ''), u.status, nullif(u.hostname, '')
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
  AS u(id, type, model, manufacturer, os, app, firmware, status, hostname)
ON CONFLICT (room_id, zoom_device_id) DO UPDATE SET
  type = EXCLUDED.type, model = EXCLUDED.model, manufacturer = EXCLUDED.manufacturer, os = EXCLUDED.os,
  app_version = EXCLUDED.app_version, firmware = EXCLUDED.firmware, status = EXCLUDED.status,
  hostname = EXCLUDED.hostname, updated_at = now()
WHERE (room_devices.type, room_devices.model, room_devices.manufacturer, room_devices.os, room_devices.app_version,
       room_devices.firmware, room_devices.status, room_devices.hostname)
  IS DISTINCT FROM (EXCLUDED.type, EXCLUDED.model, EXCLUDED.manufacturer, EXCLUDED.os, EXCLUDED.app_version,
       EXCLUDED.firmware, EXCLUDED.status, EXCLUDED.hostname)`
	sqlDeleteGoneDevices = `DELETE FROM room_devices WHERE tenant_id = $1 AND room_id = $2 AND NOT (zoom_device_id = ANY($3::text[]))`
	sqlDevicesRefreshed  = `UPDATE rooms SET devices_refreshed_at = now(), type = coalesce(nullif($3, ''), type)
WHERE tenant_id = $1 AND id = $2`
)

// RefreshDevices reads the devices of the connection's stalest rooms, at
// most DeviceBudget calls, and returns how many rooms it refreshed. A rate
// limit ends the slice early: the rest waits for the next run.
func (s *Service) RefreshDevices(ctx context.Context, tenantID, connectionID string) (int, error) {
	if err := s.cfg.Connections.Check(ctx, tenantID, connectionID); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNotSyncable, err)
	}
	ac, err := s.cfg.Connections.ZoomClient(ctx, tenantID, connectionID)
	if err != nil {
		return 0, err
	}
	ac = s.uncached(ac)
	budget := s.DeviceBudget(ac)
	rows, err := s.db.Query(ctx, sqlStaleRooms, tenantID, connectionID, budget)
	if err != nil {
		return 0, fmt.Errorf("rooms.RefreshDevices: %w", err)
	}
	stale, err := pgx.CollectRows(rows, scanRoom)
	if err != nil {
		return 0, fmt.Errorf("rooms.RefreshDevices: %w", err)
	}
	refreshed, calls := 0, 0
	for _, r := range stale {
		if calls >= budget {
			break
		}
		n, err := s.refreshRoom(ctx, ac, r)
		calls += n
		if zoom.IsRateLimited(err) || errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil && !zoom.IsNotFound(err) {
			s.log.WarnContext(ctx, "device refresh failed", "room_id", r.ID, "error", err.Error())
			if ferr := s.recordDevicesFailed(ctx, r); ferr != nil {
				return refreshed, ferr
			}
			continue
		}
		if err != nil {
			// Gone from Zoom: the next sync removes it; until then it
			// must not head the queue either.
			if ferr := s.recordDevicesFailed(ctx, r); ferr != nil {
				return refreshed, ferr
			}
		}
		refreshed++
	}
	return refreshed, nil
}

// recordDevicesFailed moves a room whose refresh failed back in the queue.
func (s *Service) recordDevicesFailed(ctx context.Context, r Room) error {
	if _, err := s.db.Exec(ctx, sqlDevicesFailed, r.TenantID, r.ID); err != nil {
		return fmt.Errorf("rooms.recordDevicesFailed: %w", err)
	}
	return nil
}

// RefreshRoomDevices refreshes one room's devices when they are older than
// DeviceStaleAfter (the UI opened the room). It reports whether it did.
func (s *Service) RefreshRoomDevices(ctx context.Context, r Room) (bool, error) {
	if r.DevicesRefreshedAt != nil && s.cfg.Now().Sub(*r.DevicesRefreshedAt) < s.cfg.DeviceStaleAfter {
		return false, nil
	}
	ac, err := s.cfg.Connections.ZoomClient(ctx, r.TenantID, r.ConnectionID)
	if err != nil {
		return false, err
	}
	if _, err := s.refreshRoom(ctx, ac, r); err != nil {
		return false, err
	}
	return true, nil
}

// refreshRoom reads one room's devices (and, when its type is not known
// yet, its profile) and writes them. It returns the Zoom calls made.
func (s *Service) refreshRoom(ctx context.Context, ac *zoom.AccountClient, r Room) (calls int, err error) {
	roomType := ""
	if r.Type == "" {
		calls++
		p, err := ac.GetRoom(ctx, r.ZoomRoomID)
		if err != nil {
			return calls, err
		}
		roomType = p.Basic.ZoomRoomType
	}
	calls++
	devices, err := ac.ListDevices(ctx, r.ZoomRoomID)
	if err != nil {
		return calls, err
	}
	return calls, s.writeDevices(ctx, r, roomType, devices)
}

// writeDevices replaces a room's stored devices with what Zoom listed,
// touching only rows that changed, and recomputes health when any did (its
// health event in the same transaction).
func (s *Service) writeDevices(ctx context.Context, r Room, roomType string, devices []zoom.Device) error {
	n := len(devices)
	cols := make([][]string, 9)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	ids := cols[0]
	for i, d := range devices {
		cols[0][i], cols[1][i], cols[2][i], cols[3][i] = d.ID, d.DeviceType, d.DeviceModel, d.DeviceManufacturer
		cols[4][i], cols[5][i], cols[6][i], cols[7][i], cols[8][i] = d.DeviceSystem, d.AppVersion, d.DeviceFirmware, d.Status, d.DeviceHostname
	}
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var id string
		if err := tx.QueryRow(ctx, sqlLockRoom, r.TenantID, r.ID).Scan(&id); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // removed by a sync meanwhile
			}
			return err
		}
		up, err := tx.Exec(ctx, sqlUpsertDevices, r.TenantID, r.ID, cols[0], cols[1], cols[2], cols[3], cols[4],
			cols[5], cols[6], cols[7], cols[8])
		if err != nil {
			return err
		}
		del, err := tx.Exec(ctx, sqlDeleteGoneDevices, r.TenantID, r.ID, ids)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlDevicesRefreshed, r.TenantID, r.ID, roomType); err != nil {
			return err
		}
		if up.RowsAffected()+del.RowsAffected() == 0 {
			return nil
		}
		hc, err := recomputeHealth(ctx, tx, r.TenantID, []string{r.ID})
		if err != nil || len(hc) == 0 {
			return err
		}
		return s.emitRoomHealth(ctx, tx, r.TenantID, []string{r.ID})
	})
	if err != nil {
		return fmt.Errorf("rooms.writeDevices: %w", err)
	}
	return nil
}
