package screens

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/rooms"
)

// Program is what a screen plays, as GET /screens/{token}/program answers
// it (../shared/API.md, Screens): the player and third-party players read
// it. Version changes whenever anything else in it does.
type Program struct {
	Version   string        `json:"version"`
	Room      ProgramRoom   `json:"room"`
	Layout    string        `json:"layout"`
	Muted     bool          `json:"muted"`
	Items     []ProgramItem `json:"items"`
	Broadcast *ProgramCast  `json:"broadcast"`
	// ValidUntil is when the schedule next changes what plays (null:
	// never); a player fetches the program again then.
	ValidUntil *time.Time `json:"validUntil"`
}

// ProgramRoom names the room a screen belongs to.
type ProgramRoom struct {
	Name string `json:"name"`
}

// ProgramItem is one piece of content, shown for DurationSeconds.
type ProgramItem struct {
	ContentID       string `json:"contentId"`
	Kind            string `json:"kind"`
	URL             string `json:"url"`
	DurationSeconds int    `json:"durationSeconds"`
}

// ProgramCast is a broadcast that replaces the items while it lasts.
type ProgramCast struct {
	ID       string `json:"id"`
	Message  string `json:"message"`
	Severity string `json:"severity"`
}

// sqlRoomProgram is a room's playlist with its items in order (one row
// without content when the playlist is empty; none without a playlist).
const sqlRoomProgram = `SELECT p.timezone, p.schedule, c.id, c.kind, c.url, coalesce(i.duration_seconds, c.duration_seconds)
FROM room_playlists rp
JOIN playlists p ON p.id = rp.playlist_id AND p.tenant_id = rp.tenant_id
LEFT JOIN playlist_items i ON i.playlist_id = p.id
LEFT JOIN contents c ON c.id = i.content_id
WHERE rp.tenant_id = $1 AND rp.room_id = $2
ORDER BY i.position`

// program builds the screen's program as it is now: the room's playlist
// while its schedule plays, nothing otherwise.
func (s *Service) program(ctx context.Context, sc rooms.Screen) (Program, error) {
	p := Program{Room: ProgramRoom{Name: sc.RoomName}, Layout: sc.Layout, Muted: sc.Muted, Items: []ProgramItem{}}
	rows, err := s.db.Query(ctx, sqlRoomProgram, sc.TenantID, sc.RoomID)
	if err != nil {
		return Program{}, fmt.Errorf("screens.program: %w", err)
	}
	var timezone string
	var schedule []byte
	var items []ProgramItem
	var id, kind, url *string
	var duration *int
	_, err = pgx.ForEachRow(rows, []any{&timezone, &schedule, &id, &kind, &url, &duration}, func() error {
		if id != nil {
			items = append(items, ProgramItem{ContentID: *id, Kind: *kind, URL: *url, DurationSeconds: *duration})
		}
		return nil
	})
	if err != nil {
		return Program{}, fmt.Errorf("screens.program: %w", err)
	}
	if schedule != nil {
		var sch Schedule
		if err := json.Unmarshal(schedule, &sch.Windows); err != nil {
			return Program{}, fmt.Errorf("screens.program: schedule: %w", err)
		}
		if sch.Location, err = LoadLocation(timezone); err != nil {
			sch.Location = time.UTC
		}
		active, next := sch.At(s.cfg.Now())
		if active && items != nil {
			p.Items = items
		}
		if !next.IsZero() {
			next = next.UTC()
			p.ValidUntil = &next
		}
	}
	b, err := s.LiveBroadcast(ctx, sc.TenantID, sc.RoomID)
	if err != nil {
		return Program{}, fmt.Errorf("screens.program: %w", err)
	}
	if b != nil {
		p.Broadcast = &ProgramCast{ID: b.ID, Message: b.Message, Severity: b.Severity}
		if b.EndsAt != nil && (p.ValidUntil == nil || b.EndsAt.Before(*p.ValidUntil)) {
			until := b.EndsAt.UTC()
			p.ValidUntil = &until
		}
	}
	if err := p.seal(); err != nil {
		return Program{}, fmt.Errorf("screens.program: %w", err)
	}
	return p, nil
}

// seal sets Version to a hash of everything else, so equal programs have
// equal versions on every replica (the ETag of /program).
func (p *Program) seal() error {
	p.Version = ""
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	p.Version = hex.EncodeToString(sum[:8])
	return nil
}
