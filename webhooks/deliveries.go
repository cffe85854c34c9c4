package webhooks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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

// Delivery is one node of an endpoint's deliveries list: an attempt to
// send one event (ID the attempt's, DeliveryID the delivery it belongs
// to, the same WebhookID across its retries and redeliveries), a delivery
// waiting for its next attempt (Status PENDING, ID = DeliveryID, Attempt
// the attempts made so far), or a notice about the endpoint (EventType
// NoticeEndpointDisabled, no DeliveryID). redeliverWebhook takes the ID of
// an attempt or of a delivery.
type Delivery struct {
	ID, DeliveryID, EndpointID, WebhookID, EventType, Status string
	Attempt                                                  int
	ResponseCode                                             *int
	LastError                                                string
	// CreatedAt is when the attempt was made (when the delivery was
	// queued, for a pending one; when the notice was written).
	CreatedAt     time.Time
	NextAttemptAt *time.Time
	// Duration is how long the attempt took (not in the API).
	Duration time.Duration
	seq      int64
}

// Delivery states.
const (
	StatusPending   = "PENDING"
	StatusRetrying  = "RETRYING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
)

// NoticeEndpointDisabled is the event type of the notice written to an
// endpoint's deliveries when it is disabled (status FAILED, LastError
// saying why).
const NoticeEndpointDisabled = "endpoint.disabled"

// nodeColumns are a list node's columns, for both branches of the list.
const (
	attemptColumns = `a.id, coalesce(a.delivery_id::text, ''), a.endpoint_id, a.webhook_id, a.event_type, a.status, a.attempt,
a.response_code, coalesce(a.error, ''), a.attempted_at, a.next_attempt_at, coalesce(a.duration_ms, 0), a.seq`
	pendingColumns = `d.id, d.id::text, d.endpoint_id, d.webhook_id, d.event_type, d.status, d.attempt,
NULL::integer, '', d.updated_at, d.next_attempt_at, 0, d.list_seq`
)

const (
	sqlMatchingEndpoints = `SELECT id, tenant_id, events FROM webhook_endpoints
WHERE tenant_id = ANY($1::uuid[]) AND enabled ORDER BY tenant_id, created_at, id`
	// sqlInsertDeliveries skips a delivery that exists (a relay batch
	// offered again): one per event per endpoint.
	sqlInsertDeliveries = `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, webhook_id, event_type, body, room_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
ON CONFLICT ON CONSTRAINT webhook_deliveries_once DO NOTHING
RETURNING id, tenant_id`
	// sqlDeliveriesPage is the endpoint's attempts and notices with its
	// pending deliveries, newest first by the listing sequence, after the
	// cursor's seq ($3; a huge one for the first page).
	sqlDeliveriesPage = `SELECT * FROM (
  (SELECT ` + attemptColumns + ` FROM webhook_attempts a
   WHERE a.tenant_id = $1 AND a.endpoint_id = $2 AND a.seq < $3 ORDER BY a.seq DESC LIMIT $4)
  UNION ALL
  (SELECT ` + pendingColumns + ` FROM webhook_deliveries d
   WHERE d.tenant_id = $1 AND d.endpoint_id = $2 AND d.status = 'PENDING' AND d.list_seq < $3 ORDER BY d.list_seq DESC LIMIT $4)
) n ORDER BY 13 DESC LIMIT $4`
	sqlDeliveriesCount = `SELECT (SELECT count(*) FROM webhook_attempts WHERE tenant_id = $1 AND endpoint_id = $2)
  + (SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'PENDING')`
	// sqlRedeliver queues the delivery named by $2 or by its attempt $2
	// again; it lists as pending, newest.
	sqlRedeliver = `UPDATE webhook_deliveries d SET status = 'PENDING', next_attempt_at = now(), updated_at = now(),
  list_seq = nextval('webhook_listing_seq')
WHERE d.tenant_id = $1
  AND d.id = coalesce((SELECT a.delivery_id FROM webhook_attempts a WHERE a.tenant_id = $1 AND a.id = $2), $2)
RETURNING ` + pendingColumns
)

func scanDelivery(row pgx.CollectableRow) (Delivery, error) {
	var d Delivery
	var ms int64
	err := row.Scan(&d.ID, &d.DeliveryID, &d.EndpointID, &d.WebhookID, &d.EventType, &d.Status, &d.Attempt, &d.ResponseCode,
		&d.LastError, &d.CreatedAt, &d.NextAttemptAt, &ms, &d.seq)
	d.Duration = time.Duration(ms) * time.Millisecond
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
	case events.ScreenOnline:
		return "screen.online"
	case events.ScreenOffline:
		return "screen.offline"
	case events.BroadcastStarted:
		return "broadcast.started"
	case events.BroadcastEnded:
		return "broadcast.ended"
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
	Screen         *events.ScreenSnapshot     `json:"screen,omitempty"`
	Broadcast      *events.BroadcastSnapshot  `json:"broadcast,omitempty"`
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
					Signage: ev.Signage, Sync: ev.Sync, Connection: ev.Connection, Screen: ev.Screen, Broadcast: ev.Broadcast}})
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

// DeliveryPage is one page of an endpoint's deliveries list (attempts,
// pending deliveries and notices), newest first.
type DeliveryPage struct {
	Deliveries []Delivery
	HasNext    bool
	Total      int
}

// Cursor is a list node's opaque page cursor (its place in the listing
// sequence).
func Cursor(d Delivery) string {
	return base64.RawURLEncoding.EncodeToString([]byte("s" + strconv.FormatInt(d.seq, 10)))
}

// Deliveries pages an endpoint's deliveries list, newest first: every
// attempt (a 500 then a 200 are two nodes of one webhookId), each delivery
// still waiting for an attempt, and notices such as endpoint.disabled.
func (s *Service) Deliveries(ctx context.Context, tenantID, endpointID string, first int, after string) (DeliveryPage, error) {
	if first < 0 || first > MaxPageSize {
		return DeliveryPage{}, apierror.Invalid("first", "between 0 and %d", MaxPageSize)
	}
	before := int64(math.MaxInt64)
	if after != "" {
		raw, err := base64.RawURLEncoding.DecodeString(after)
		seq, ok := strings.CutPrefix(string(raw), "s")
		n, perr := strconv.ParseInt(seq, 10, 64)
		if err != nil || !ok || perr != nil || n <= 0 {
			return DeliveryPage{}, apierror.Invalid("after", "not a cursor of this list")
		}
		before = n
	}
	if !store.IsUUID(endpointID) {
		return DeliveryPage{}, apierror.NotFoundf("webhook endpoint %q not found", endpointID)
	}
	var page DeliveryPage
	var list []Delivery
	// One snapshot for the count and the page: deliveries are written
	// while the list is read, and a totalCount from another moment than its
	// page would disagree with it.
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, sqlDeliveriesCount, tenantID, endpointID).Scan(&page.Total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sqlDeliveriesPage, tenantID, endpointID, before, first+1)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, scanDelivery)
		return err
	})
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
// deliveryID is any node of its list: one of its attempts or the delivery
// itself (a notice is no delivery: not found). It returns the delivery as
// it now lists, pending.
func (s *Service) Redeliver(ctx context.Context, tenantID, actor, deliveryID string) (Delivery, error) {
	if !store.IsUUID(deliveryID) {
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
