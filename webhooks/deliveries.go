package webhooks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"zoomsignage/apierror"
	"zoomsignage/events"
	"zoomsignage/store"
)

// Delivery is one event sent (or to be sent) to one endpoint.
type Delivery struct {
	ID, EndpointID, WebhookID, EventType, Status string
	Attempt                                      int
	ResponseCode                                 *int
	LastError                                    string
	CreatedAt                                    time.Time
	NextAttemptAt                                *time.Time
}

// Delivery states.
const (
	StatusPending   = "PENDING"
	StatusRetrying  = "RETRYING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
)

const deliveryColumns = `id, endpoint_id, webhook_id, event_type, status, attempt, response_code, coalesce(last_error, ''),
created_at, next_attempt_at`

const (
	sqlMatchingEndpoints = `SELECT id, tenant_id, events FROM webhook_endpoints
WHERE tenant_id = ANY($1::uuid[]) AND enabled ORDER BY tenant_id, created_at, id`
	// sqlInsertDeliveries skips a delivery that exists (a relay batch
	// offered again): one per event per endpoint.
	sqlInsertDeliveries = `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, webhook_id, event_type, body, room_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
ON CONFLICT ON CONSTRAINT webhook_deliveries_once DO NOTHING
RETURNING id, tenant_id`
	sqlDeliveriesPage = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries
WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC LIMIT $5`
	sqlDeliveriesCount = `SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2`
	sqlGetDelivery     = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2`
	sqlRedeliver       = `UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_at = now(), updated_at = now()
WHERE tenant_id = $1 AND id = $2 RETURNING ` + deliveryColumns
)

func scanDelivery(row pgx.CollectableRow) (Delivery, error) {
	var d Delivery
	err := row.Scan(&d.ID, &d.EndpointID, &d.WebhookID, &d.EventType, &d.Status, &d.Attempt, &d.ResponseCode,
		&d.LastError, &d.CreatedAt, &d.NextAttemptAt)
	return d, err
}

// eventType maps an outbox event to its partner event type ("" for none:
// a sync's progress before its end).
func eventType(ev *events.Event) string {
	switch ev.Kind {
	case events.RoomStatusChanged:
		return "room.status_changed"
	case events.RoomHealthChanged:
		return "room.health_changed"
	case events.SignageStateChanged:
		return "signage.state_changed"
	case events.ConnectionStatusChanged:
		return "connection.status_changed"
	case events.SyncProgress:
		if ev.Sync != nil && ev.Sync.State != "RUNNING" {
			return "sync.finished"
		}
	}
	return ""
}

// body is a delivery's payload: {"type", "timestamp", "data"}.
type body struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      data      `json:"data"`
}

type data struct {
	ConnectionID   string                     `json:"connectionId,omitempty"`
	Room           *events.RoomSnapshot       `json:"room,omitempty"`
	PreviousStatus string                     `json:"previousStatus,omitempty"`
	Alerts         []events.AlertSnapshot     `json:"alerts,omitempty"`
	Signage        *events.SignageSnapshot    `json:"signage,omitempty"`
	Sync           *events.SyncSnapshot       `json:"sync,omitempty"`
	Connection     *events.ConnectionSnapshot `json:"connection,omitempty"`
}

// HandleEvents is the outbox's ConsumerWebhooks handler: in the relay's
// transaction, it records one delivery per event per enabled endpoint of the
// event's tenant that subscribed to its type, and enqueues the River job of
// each, so a delivery exists exactly when its event was taken.
func (s *Service) HandleEvents(ctx context.Context, tx pgx.Tx, evs []events.Event) error {
	tenants := make([]string, 0, 1)
	for _, ev := range evs {
		if !slices.Contains(tenants, ev.TenantID) {
			tenants = append(tenants, ev.TenantID)
		}
	}
	rows, err := tx.Query(ctx, sqlMatchingEndpoints, tenants)
	if err != nil {
		return fmt.Errorf("webhooks.HandleEvents: %w", err)
	}
	type ep struct {
		id, tenant string
		events     []string
	}
	var eps []ep
	var e ep
	if _, err := pgx.ForEachRow(rows, []any{&e.id, &e.tenant, &e.events}, func() error {
		eps = append(eps, ep{e.id, e.tenant, slices.Clone(e.events)})
		return nil
	}); err != nil {
		return fmt.Errorf("webhooks.HandleEvents: %w", err)
	}
	if len(eps) == 0 {
		return nil
	}
	var tenantIDs, endpointIDs, webhookIDs, types, bodies, roomIDs []string
	var eventIDs []int64
	for i := range evs {
		ev := &evs[i]
		typ := eventType(ev)
		if typ == "" {
			continue
		}
		var payload []byte
		for _, p := range eps {
			if p.tenant != ev.TenantID || !slices.Contains(p.events, typ) {
				continue
			}
			if payload == nil {
				payload, err = json.Marshal(body{Type: typ, Timestamp: ev.At.UTC(), Data: data{
					ConnectionID: ev.ConnectionID, Room: ev.Room, PreviousStatus: ev.PreviousStatus, Alerts: ev.Alerts,
					Signage: ev.Signage, Sync: ev.Sync, Connection: ev.Connection}})
				if err != nil {
					return fmt.Errorf("webhooks.HandleEvents: %w", err)
				}
			}
			tenantIDs, endpointIDs, eventIDs = append(tenantIDs, ev.TenantID), append(endpointIDs, p.id), append(eventIDs, ev.ID)
			webhookIDs = append(webhookIDs, "msg_"+strconv.FormatInt(ev.ID, 10))
			types, bodies = append(types, typ), append(bodies, string(payload))
			room := ""
			if ev.Room != nil {
				room = ev.Room.ID
			}
			roomIDs = append(roomIDs, room)
		}
	}
	if len(endpointIDs) == 0 {
		return nil
	}
	rows, err = tx.Query(ctx, sqlInsertDeliveries, tenantIDs, endpointIDs, eventIDs, webhookIDs, types, bodies, roomIDs)
	if err != nil {
		return fmt.Errorf("webhooks.HandleEvents: %w", err)
	}
	var jobs []river.InsertManyParams
	var id, tenant string
	if _, err := pgx.ForEachRow(rows, []any{&id, &tenant}, func() error {
		jobs = append(jobs, river.InsertManyParams{Args: DeliverArgs{DeliveryID: id, TenantID: tenant}})
		return nil
	}); err != nil {
		return fmt.Errorf("webhooks.HandleEvents: %w", err)
	}
	if len(jobs) == 0 {
		return nil
	}
	c := s.cfg.River
	if c == nil {
		return errors.New("webhooks.HandleEvents: no River client (Config.River)")
	}
	if _, err := c.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("webhooks.HandleEvents: %w", err)
	}
	return nil
}

// MaxPageSize is the most deliveries one page returns.
const MaxPageSize = 500

// DeliveryPage is one page of an endpoint's deliveries, newest first.
type DeliveryPage struct {
	Deliveries []Delivery
	HasNext    bool
	Total      int
}

// Cursor is a delivery's opaque page cursor.
func Cursor(d Delivery) string {
	return base64.RawURLEncoding.EncodeToString([]byte(d.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + d.ID))
}

// Deliveries pages an endpoint's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, tenantID, endpointID string, first int, after string) (DeliveryPage, error) {
	if first < 0 || first > MaxPageSize {
		return DeliveryPage{}, apierror.Invalid("first", "between 0 and %d", MaxPageSize)
	}
	var at *time.Time
	afterID := "00000000-0000-0000-0000-000000000000"
	if after != "" {
		raw, err := base64.RawURLEncoding.DecodeString(after)
		ts, id, ok := strings.Cut(string(raw), "|")
		t, terr := time.Parse(time.RFC3339Nano, ts)
		if err != nil || !ok || terr != nil || !validUUID(id) {
			return DeliveryPage{}, apierror.Invalid("after", "not a cursor of this list")
		}
		at, afterID = &t, id
	}
	if !validUUID(endpointID) {
		return DeliveryPage{}, apierror.NotFoundf("webhook endpoint %q not found", endpointID)
	}
	var page DeliveryPage
	if err := s.db.QueryRow(ctx, sqlDeliveriesCount, tenantID, endpointID).Scan(&page.Total); err != nil {
		return DeliveryPage{}, fmt.Errorf("webhooks.Deliveries: %w", err)
	}
	rows, err := s.db.Query(ctx, sqlDeliveriesPage, tenantID, endpointID, at, afterID, first+1)
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("webhooks.Deliveries: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanDelivery)
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("webhooks.Deliveries: %w", err)
	}
	if len(list) > first {
		list, page.HasNext = list[:first], true
	}
	page.Deliveries = list
	return page, nil
}

// Redeliver sends a delivery again, with the same webhook-id and body (so a
// receiver that already processed it can tell), whatever its state.
func (s *Service) Redeliver(ctx context.Context, tenantID, actor, deliveryID string) (Delivery, error) {
	if !validUUID(deliveryID) {
		return Delivery{}, apierror.NotFoundf("webhook delivery %q not found", deliveryID)
	}
	c := s.cfg.River
	if c == nil {
		return Delivery{}, errors.New("webhooks.Redeliver: no River client (Config.River)")
	}
	var d Delivery
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlRedeliver, tenantID, deliveryID)
		if err != nil {
			return err
		}
		if d, err = pgx.CollectExactlyOneRow(rows, scanDelivery); err != nil {
			return err
		}
		_, err = c.InsertTx(ctx, tx, DeliverArgs{DeliveryID: d.ID, TenantID: tenantID, Redelivery: true}, nil)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Delivery{}, apierror.NotFoundf("webhook delivery %q not found", deliveryID)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("webhooks.Redeliver: %w", err)
	}
	s.log.InfoContext(ctx, "webhook redelivery requested", "delivery_id", d.ID, "actor", actor)
	return d, nil
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
		default:
			return false
		}
	}
	return true
}
