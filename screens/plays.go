package screens

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/rooms"
	"zoomsignage/store"
)

// Limits of play reports.
const (
	MaxPlaysPerReport = 100
	MaxPlaysPage      = 500
	maxClientIDLength = 64
	// maxClockSkew is how far in the future a report may start (a screen's
	// clock running ahead).
	maxClockSkew = 5 * time.Minute
)

// PlayReport is one item of POST /screens/{token}/plays.
type PlayReport struct {
	ID          string     `json:"id"`
	ContentID   string     `json:"contentId,omitempty"`
	BroadcastID string     `json:"broadcastId,omitempty"`
	StartedAt   time.Time  `json:"startedAt"`
	EndedAt     *time.Time `json:"endedAt,omitempty"`
}

// Play is one reported showing.
type Play struct {
	ID          string
	RoomID      string
	ContentID   string
	BroadcastID string
	StartedAt   time.Time
	EndedAt     *time.Time
}

// PlayPage is a page of plays, oldest first.
type PlayPage struct {
	Plays       []Play
	HasNextPage bool
}

// PlayFilter narrows the plays query.
type PlayFilter struct {
	RoomID       string
	Since, Until *time.Time
}

const (
	// sqlRecordPlay stores a report of the tenant's own content or
	// broadcast (anything else inserts nothing); the same id again only
	// completes the end.
	sqlRecordPlay = `INSERT INTO plays (tenant_id, room_id, client_id, content_id, broadcast_id, started_at, ended_at)
SELECT $1, $2, $3, nullif($4, '')::uuid, nullif($5, '')::uuid, $6, $7
WHERE (nullif($4, '') IS NOT NULL AND EXISTS (SELECT 1 FROM contents c WHERE c.tenant_id = $1 AND c.id::text = $4))
   OR (nullif($5, '') IS NOT NULL AND EXISTS (SELECT 1 FROM broadcasts b WHERE b.tenant_id = $1 AND b.id::text = $5))
ON CONFLICT (room_id, client_id) DO UPDATE SET ended_at = coalesce(plays.ended_at, excluded.ended_at)
WHERE plays.ended_at IS NULL AND excluded.ended_at IS NOT NULL AND excluded.ended_at >= plays.started_at`
	playColumns = `id, room_id, coalesce(content_id::text, ''), coalesce(broadcast_id::text, ''), started_at, ended_at`
	sqlPlays    = `SELECT ` + playColumns + ` FROM plays
WHERE tenant_id = $1 AND ($2::uuid IS NULL OR room_id = $2)
  AND ($3::timestamptz IS NULL OR started_at >= $3) AND ($4::timestamptz IS NULL OR started_at < $4)
  AND ($5::timestamptz IS NULL OR (started_at, id) > ($5, $6::uuid))
ORDER BY started_at, id LIMIT $7`
	sqlNowPlaying = `SELECT coalesce(content_id::text, '') FROM plays
WHERE tenant_id = $1 AND room_id = $2 AND content_id IS NOT NULL AND started_at <= $3 AND ended_at IS NULL
ORDER BY started_at DESC, id DESC LIMIT 1`
)

// validate checks one report; i is its index for the error's field.
func (r PlayReport) validate(i int, now time.Time) error {
	field := fmt.Sprintf("plays[%d]", i)
	if r.ID == "" || len(r.ID) > maxClientIDLength {
		return apierror.Invalid(field+".id", "id must be 1 to %d characters", maxClientIDLength)
	}
	if (r.ContentID == "") == (r.BroadcastID == "") {
		return apierror.Invalid(field, "give exactly one of contentId and broadcastId")
	}
	if id := r.ContentID + r.BroadcastID; !store.IsUUID(id) {
		return apierror.Invalid(field, "%q is not an id of this API", id)
	}
	if r.StartedAt.IsZero() || r.StartedAt.After(now.Add(maxClockSkew)) {
		return apierror.Invalid(field+".startedAt", "startedAt is required and may not be in the future")
	}
	if r.EndedAt != nil && r.EndedAt.Before(r.StartedAt) {
		return apierror.Invalid(field+".endedAt", "endedAt may not be before startedAt")
	}
	return nil
}

// RecordPlays stores a screen's batch of reports: all of it is checked
// first, then each report is written (a repeat of an id is a no-op, or
// completes its end). It returns how many reports named the tenant's
// content or broadcasts; others are dropped.
func (s *Service) RecordPlays(ctx context.Context, sc rooms.Screen, reports []PlayReport) (int, error) {
	if len(reports) > MaxPlaysPerReport {
		return 0, apierror.Invalid("plays", "at most %d plays per report", MaxPlaysPerReport)
	}
	now := s.cfg.Now()
	for i, r := range reports {
		if err := r.validate(i, now); err != nil {
			return 0, err
		}
	}
	batch := &pgx.Batch{}
	for _, r := range reports {
		batch.Queue(sqlRecordPlay, sc.TenantID, sc.RoomID, r.ID, r.ContentID, r.BroadcastID, r.StartedAt, r.EndedAt)
	}
	results := s.db.SendBatch(ctx, batch)
	defer results.Close()
	accepted := 0
	for range reports {
		tag, err := results.Exec()
		if err != nil {
			return accepted, fmt.Errorf("screens.RecordPlays: %w", err)
		}
		accepted += int(tag.RowsAffected())
	}
	return accepted, nil
}

// Plays answers what played where and when, oldest first.
func (s *Service) Plays(ctx context.Context, tenantID string, f PlayFilter, first int, after string) (PlayPage, error) {
	if first < 1 || first > MaxPlaysPage {
		return PlayPage{}, apierror.Invalid("first", "first must be between 1 and %d", MaxPlaysPage)
	}
	var room *string
	if f.RoomID != "" {
		if !store.IsUUID(f.RoomID) {
			return PlayPage{}, nil
		}
		room = &f.RoomID
	}
	var at *time.Time
	var afterID *string
	if after != "" {
		t, id, ok := decodeCursor(after)
		if !ok {
			return PlayPage{}, apierror.Invalid("after", "after is not a cursor of this list")
		}
		at, afterID = &t, &id
	}
	rows, err := s.db.Query(ctx, sqlPlays, tenantID, room, f.Since, f.Until, at, afterID, first+1)
	if err != nil {
		return PlayPage{}, fmt.Errorf("screens.Plays: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Play, error) {
		var p Play
		err := row.Scan(&p.ID, &p.RoomID, &p.ContentID, &p.BroadcastID, &p.StartedAt, &p.EndedAt)
		return p, err
	})
	if err != nil {
		return PlayPage{}, fmt.Errorf("screens.Plays: %w", err)
	}
	page := PlayPage{Plays: list}
	if len(list) > first {
		page.Plays, page.HasNextPage = list[:first], true
	}
	return page, nil
}

// NowPlaying returns the content a room's screen last reported starting
// and not yet ending ("" when none).
func (s *Service) NowPlaying(ctx context.Context, tenantID, roomID string) (string, error) {
	var id string
	err := s.db.QueryRow(ctx, sqlNowPlaying, tenantID, roomID, s.cfg.Now()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("screens.NowPlaying: %w", err)
	}
	return id, nil
}

// PlayCursor is the plays list cursor just after p.
func PlayCursor(p Play) string { return encodeCursor(p.StartedAt, p.ID) }
