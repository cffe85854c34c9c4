package screens

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/rooms"
	"zoomsignage/store"
)

// Content limits and defaults.
const (
	MaxURLLength           = 2048
	MaxNameLength          = 200
	MaxDurationSeconds     = 86400
	DefaultDurationSeconds = 10
	MaxContentsPage        = 200
)

// Content kinds, as the API names them.
const (
	KindWebPage = "WEB_PAGE"
	KindImage   = "IMAGE"
	KindVideo   = "VIDEO"
)

// Content is one web page, image or video by URL. DurationSeconds 0 is a
// video that plays to its end.
type Content struct {
	ID              string
	TenantID        string
	Name            string
	Kind            string
	URL             string
	DurationSeconds int
	CreatedAt       time.Time
}

// ContentInput is createContent's input.
type ContentInput struct {
	Name            string
	Kind            string
	URL             string
	DurationSeconds *int
}

// ContentPage is one page of a tenant's contents, oldest first.
type ContentPage struct {
	Contents    []Content
	HasNextPage bool
	EndCursor   string
	TotalCount  int
}

const (
	contentColumns   = `id, tenant_id, name, kind, url, duration_seconds, created_at`
	sqlInsertContent = `INSERT INTO contents (tenant_id, name, kind, url, duration_seconds) VALUES ($1, $2, $3, $4, $5)
RETURNING ` + contentColumns
	sqlContentPage = `SELECT ` + contentColumns + ` FROM contents
WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
ORDER BY created_at, id LIMIT $4`
	sqlContentCount  = `SELECT count(*) FROM contents WHERE tenant_id = $1`
	sqlContentsByID  = `SELECT ` + contentColumns + ` FROM contents WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY id`
	sqlLockContent   = `SELECT ` + contentColumns + ` FROM contents WHERE tenant_id = $1 AND id = $2 FOR UPDATE`
	sqlContentUsedBy = `SELECT DISTINCT p.name FROM playlist_items i JOIN playlists p ON p.id = i.playlist_id
WHERE p.tenant_id = $1 AND i.content_id = $2 ORDER BY p.name`
	sqlDeleteContent = `DELETE FROM contents WHERE tenant_id = $1 AND id = $2`
)

func scanContent(row pgx.CollectableRow) (Content, error) {
	var c Content
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.Kind, &c.URL, &c.DurationSeconds, &c.CreatedAt)
	return c, err
}

// validName checks a name given at field.
func validName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLength {
		return "", apierror.Invalid(field, "name must be 1 to %d characters", MaxNameLength)
	}
	return name, nil
}

// ValidateURL accepts absolute http and https URLs of at most
// MaxURLLength characters, without credentials: a screen shows whatever
// the URL serves, and a password in it would be visible to anyone who
// reads the program.
func ValidateURL(field, raw string) error {
	if len(raw) > MaxURLLength {
		return apierror.Invalid(field, "url must be at most %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return apierror.Invalid(field, "url must be an absolute http or https URL")
	}
	if u.User != nil {
		return apierror.Invalid(field, "url must not carry a user name or password")
	}
	return nil
}

func (in ContentInput) validate() (ContentInput, int, error) {
	var err error
	if in.Name, err = validName("input.name", in.Name); err != nil {
		return in, 0, err
	}
	switch in.Kind {
	case KindWebPage, KindImage, KindVideo:
	default:
		return in, 0, apierror.Invalid("input.kind", "kind must be WEB_PAGE, IMAGE or VIDEO")
	}
	if err := ValidateURL("input.url", in.URL); err != nil {
		return in, 0, err
	}
	duration := DefaultDurationSeconds
	if in.Kind == KindVideo {
		duration = 0 // its length
	}
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
		if duration < 1 || duration > MaxDurationSeconds {
			return in, 0, apierror.Invalid("input.durationSeconds", "durationSeconds must be between 1 and %d", MaxDurationSeconds)
		}
	}
	return in, duration, nil
}

// CreateContent stores a piece of content (audited).
func (s *Service) CreateContent(ctx context.Context, actor rooms.Actor, in ContentInput) (Content, error) {
	in, duration, err := in.validate()
	if err != nil {
		return Content{}, err
	}
	var c Content
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlInsertContent, actor.TenantID, in.Name, in.Kind, in.URL, duration)
		if err != nil {
			return err
		}
		if c, err = pgx.CollectExactlyOneRow(rows, scanContent); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: actor.TenantID, Actor: actor.Name, Action: "content.create",
			TargetType: "content", TargetID: c.ID, Details: map[string]any{"name": c.Name, "kind": c.Kind}})
	})
	if err != nil {
		return Content{}, fmt.Errorf("screens.CreateContent: %w", err)
	}
	return c, nil
}

// DeleteContent deletes content no playlist uses; content in use is
// refused with the names of the playlists that use it.
func (s *Service) DeleteContent(ctx context.Context, actor rooms.Actor, id string) (Content, error) {
	if !store.IsUUID(id) {
		return Content{}, apierror.NotFoundf("content %q not found", id)
	}
	var c Content
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlLockContent, actor.TenantID, id)
		if err != nil {
			return err
		}
		if c, err = pgx.CollectExactlyOneRow(rows, scanContent); errors.Is(err, pgx.ErrNoRows) {
			return apierror.NotFoundf("content %q not found", id)
		} else if err != nil {
			return err
		}
		if err := inUse(ctx, tx, actor.TenantID, c); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlDeleteContent, actor.TenantID, id); err != nil {
			if store.ConstraintError(err) != "" { // a playlist took it meanwhile
				return inUse(ctx, s.db, actor.TenantID, c)
			}
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: actor.TenantID, Actor: actor.Name, Action: "content.delete",
			TargetType: "content", TargetID: c.ID, Details: map[string]any{"name": c.Name, "kind": c.Kind}})
	})
	if err != nil {
		if _, ok := apierror.As(err); ok {
			return Content{}, err
		}
		return Content{}, fmt.Errorf("screens.DeleteContent: %w", err)
	}
	return c, nil
}

type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// inUse returns the refusal naming the playlists that use c, or nil.
func inUse(ctx context.Context, db queryer, tenantID string, c Content) error {
	rows, err := db.Query(ctx, sqlContentUsedBy, tenantID, c.ID)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	return apierror.Invalid("id", "content %q is used by playlist(s) %s; remove it from them first",
		c.Name, `"`+strings.Join(names, `", "`)+`"`)
}

// Contents returns a page of the tenant's contents, oldest first.
func (s *Service) Contents(ctx context.Context, tenantID string, first int, after string) (ContentPage, error) {
	if first < 1 || first > MaxContentsPage {
		return ContentPage{}, apierror.Invalid("first", "first must be between 1 and %d", MaxContentsPage)
	}
	var at *time.Time
	var afterID *string
	if after != "" {
		t, id, ok := decodeCursor(after)
		if !ok {
			return ContentPage{}, apierror.Invalid("after", "after is not a cursor of this list")
		}
		at, afterID = &t, &id
	}
	rows, err := s.db.Query(ctx, sqlContentPage, tenantID, at, afterID, first+1)
	if err != nil {
		return ContentPage{}, fmt.Errorf("screens.Contents: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanContent)
	if err != nil {
		return ContentPage{}, fmt.Errorf("screens.Contents: %w", err)
	}
	page := ContentPage{Contents: list}
	if len(list) > first {
		page.Contents, page.HasNextPage = list[:first], true
	}
	if n := len(page.Contents); n > 0 {
		page.EndCursor = ContentCursor(page.Contents[n-1])
	}
	if err := s.db.QueryRow(ctx, sqlContentCount, tenantID).Scan(&page.TotalCount); err != nil {
		return ContentPage{}, fmt.Errorf("screens.Contents: %w", err)
	}
	return page, nil
}

// ContentsByID returns the tenant's contents among ids.
func (s *Service) ContentsByID(ctx context.Context, tenantID string, ids []string) (map[string]Content, error) {
	rows, err := s.db.Query(ctx, sqlContentsByID, tenantID, store.UUIDs(ids))
	if err != nil {
		return nil, fmt.Errorf("screens.ContentsByID: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanContent)
	if err != nil {
		return nil, fmt.Errorf("screens.ContentsByID: %w", err)
	}
	out := make(map[string]Content, len(list))
	for _, c := range list {
		out[c.ID] = c
	}
	return out, nil
}

// ContentCursor is the contents list cursor just after c.
func ContentCursor(c Content) string { return encodeCursor(c.CreatedAt, c.ID) }

// encodeCursor is the keyset cursor of the lists ordered by a time and an
// id (contents by creation, plays by start); decodeCursor reads it back.
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(s string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", false
	}
	ts, id, ok := strings.Cut(string(b), "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || !store.IsUUID(id) {
		return time.Time{}, "", false
	}
	return t, id, true
}
