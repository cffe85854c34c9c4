package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"zoomsignage/audit"
	"zoomsignage/store"
)

// Response bodies are read up to maxBody bytes, and at most excerptLen of
// them are kept (never shown beyond that).
const (
	maxBody    = 4 << 10
	excerptLen = 256
)

// orderWait is how long a delivery waits for an earlier one of its room
// before looking again.
const orderWait = time.Second

// DeliverArgs is the River job of one delivery attempt series.
type DeliverArgs struct {
	DeliveryID string `json:"delivery_id"`
	TenantID   string `json:"tenant_id"`
	Redelivery bool   `json:"redelivery,omitempty"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "webhooks_deliver" }

// InsertOpts: about 24 hours of retries with the default schedule.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: DefaultMaxAttempts}
}

// DeliverWorker sends deliveries.
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s      *Service
	client *http.Client
}

// AddWorkers registers the package's River workers.
func (s *Service) AddWorkers(workers *river.Workers) {
	river.AddWorker(workers, &DeliverWorker{s: s, client: s.policy.client(s.cfg.Timeout)})
}

// Timeout leaves room for the attempt's own timeout and the bookkeeping.
func (w *DeliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.s.cfg.Timeout + 30*time.Second
}

// NextRetry is exponential backoff from RetryBase with ±25% jitter: with
// the defaults, DefaultMaxAttempts attempts span about 24 hours.
// It is on River's clock (the wall clock), not Config.Now.
func (w *DeliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(w.s.retryDelay(job.Attempt))
}

func (s *Service) retryDelay(attempt int) time.Duration {
	d := s.cfg.RetryBase << min(max(attempt-1, 0), 20)
	d = min(d, 6*time.Hour)
	jitter := time.Duration(rand.Int64N(int64(d)/2+1)) - d/4
	return d + jitter
}

const (
	sqlLoadDelivery = `SELECT d.webhook_id, d.body, d.attempt, e.url, e.secret_sealed, e.enabled, e.id,
  d.room_id <> '' AND EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id
    AND p.room_id = d.room_id AND p.event_id < d.event_id AND p.status IN ('PENDING', 'RETRYING'))
FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE d.tenant_id = $1 AND d.id = $2`
	// sqlRecordAttempt keeps the delivery's latest outcome and adds the
	// attempt to its list.
	sqlRecordAttempt = `WITH d AS (
  UPDATE webhook_deliveries SET status = $3, attempt = attempt + 1, response_code = $4,
    response_excerpt = nullif($5, ''), last_error = nullif($6, ''), next_attempt_at = $7, updated_at = now()
  WHERE tenant_id = $1 AND id = $2
  RETURNING id, tenant_id, endpoint_id, webhook_id, event_type, attempt)
INSERT INTO webhook_attempts (tenant_id, endpoint_id, delivery_id, event_type, webhook_id, attempt, status,
  response_code, response_excerpt, error, duration_ms, next_attempt_at, attempted_at)
SELECT tenant_id, endpoint_id, id, event_type, webhook_id, attempt, $3, $4, nullif($5, ''), nullif($6, ''),
  nullif($8::integer, 0), $7, $9
FROM d`
	// sqlDisabledNotice is the endpoint.disabled notice in the endpoint's
	// deliveries list, listed above the attempt that disabled it.
	sqlDisabledNotice = `INSERT INTO webhook_attempts (tenant_id, endpoint_id, event_type, webhook_id, attempt, status, error, attempted_at)
VALUES ($1, $2, $3, 'notice_' || gen_random_uuid(), 0, 'FAILED', $4, $5)`
	// sqlEndpointSucceeded ends a failure streak; it touches (and locks)
	// the endpoint's row only when there is one, so concurrent successful
	// deliveries to one endpoint do not queue on its row.
	sqlEndpointSucceeded = `UPDATE webhook_endpoints SET failing_since = NULL
WHERE tenant_id = $1 AND id = $2 AND failing_since IS NOT NULL`
	sqlEndpointFailed = `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $3)
WHERE tenant_id = $1 AND id = $2 RETURNING failing_since, enabled, url`
	sqlDisableEndpoint = `UPDATE webhook_endpoints SET enabled = false WHERE tenant_id = $1 AND id = $2 AND enabled`
)

// outcome is what one attempt came to.
type outcome struct {
	code      int
	excerpt   string
	err       string // why it failed, never the URL or a secret
	retryable bool
	// at is when the attempt started and took is how long it took (zero
	// for an outcome decided without a request).
	at   time.Time
	took time.Duration
}

func (o outcome) ok() bool { return o.err == "" }

// Work implements river.Worker: one attempt, recorded; a retryable failure
// returns an error so River retries with NextRetry, anything else ends the
// job.
func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.s
	var webhookID, body, endpointURL, sealed, endpointID string
	var attempt int
	var enabled, blocked bool
	err := s.db.QueryRow(ctx, sqlLoadDelivery, job.Args.TenantID, job.Args.DeliveryID).Scan(&webhookID, &body, &attempt,
		&endpointURL, &sealed, &enabled, &endpointID, &blocked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // the endpoint was deleted with its deliveries
	}
	if err != nil {
		return fmt.Errorf("webhooks.DeliverWorker: %w", err)
	}
	if blocked && !job.Args.Redelivery {
		// Ordered per room: an earlier event of the room is still on its
		// way to this endpoint (being retried); this one waits for it.
		return river.JobSnooze(orderWait)
	}
	if !enabled && !job.Args.Redelivery {
		return s.record(ctx, job, endpointID, StatusFailed, outcome{err: "the endpoint is disabled"}, nil)
	}
	secret, err := s.cfg.Sealer.Open(ctx, job.Args.TenantID, sealed)
	if err != nil {
		return fmt.Errorf("webhooks.DeliverWorker: open secret: %w", err)
	}
	o := w.attempt(ctx, endpointURL, webhookID, []byte(body), string(secret))
	switch {
	case o.ok():
		return s.record(ctx, job, endpointID, StatusSucceeded, o, nil)
	case o.retryable && job.Attempt < job.MaxAttempts:
		next := w.NextRetry(job)
		if err := s.record(ctx, job, endpointID, StatusRetrying, o, &next); err != nil {
			return err
		}
		return fmt.Errorf("webhooks.DeliverWorker: %s", o.err)
	default:
		if err := s.record(ctx, job, endpointID, StatusFailed, o, nil); err != nil {
			return err
		}
		return river.JobCancel(fmt.Errorf("webhooks.DeliverWorker: %s", o.err))
	}
}

// Sign is the Standard Webhooks signature of body: "v1," + base64 of the
// HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed by the secret's decoded
// bytes.
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", errors.New("webhooks.Sign: the secret is not whsec_ + base64")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// attempt sends one signed POST and classifies the answer: 2xx succeeds;
// timeouts, network errors, 429 and 5xx are retried; anything else (other
// 4xx, a redirect, which is never followed) fails for good.
func (w *DeliverWorker) attempt(ctx context.Context, endpointURL, webhookID string, body []byte, secret string) outcome {
	now := w.s.cfg.Now()
	ts := now.Unix()
	sig, err := Sign(secret, webhookID, ts, body)
	if err != nil {
		return outcome{err: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, w.s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpointURL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: "the endpoint URL is not valid"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "zoomsignage-webhooks/1")
	req.Header.Set("webhook-id", webhookID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	start := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		return outcome{err: networkReason(err), retryable: !errors.Is(err, errRefusedAddress), at: now, took: time.Since(start)}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	o := outcome{code: resp.StatusCode, excerpt: excerpt(raw), at: now, took: time.Since(start)}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		o.err, o.retryable = fmt.Sprintf("the endpoint answered %d", resp.StatusCode), true
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		o.err = fmt.Sprintf("the endpoint answered a redirect (%d), which is never followed", resp.StatusCode)
	default:
		o.err = fmt.Sprintf("the endpoint answered %d", resp.StatusCode)
	}
	return o
}

// networkReason says why a request failed without echoing the URL (Go's
// errors quote it, and a partner's URL may carry a token).
func networkReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errRefusedAddress):
		return "refused: the endpoint resolves to a private, loopback or link-local address"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "the endpoint's host does not resolve"
	}
	return "the endpoint could not be reached"
}

// excerpt keeps the start of a response body, cut on a UTF-8 boundary.
func excerpt(b []byte) string {
	if len(b) > excerptLen {
		b = b[:excerptLen]
	}
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return string(b)
}

// record stores the attempt's outcome (the delivery's latest, and a row of
// its list) and keeps the endpoint's failure streak: a success ends it, and
// an endpoint failing for DisableAfter straight is disabled, audited and
// noticed in its deliveries list (NoticeEndpointDisabled), as a
// connection's status change is announced.
func (s *Service) record(ctx context.Context, job *river.Job[DeliverArgs], endpointID, status string, o outcome, next *time.Time) error {
	ctx = context.WithoutCancel(ctx)
	var code *int
	if o.code != 0 {
		code = &o.code
	}
	tenantID := job.Args.TenantID
	if o.at.IsZero() {
		o.at = s.cfg.Now()
	}
	ms := int(o.took.Milliseconds())
	if o.took > 0 && ms == 0 {
		ms = 1 // under a millisecond still took time; 0 means no request
	}
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlRecordAttempt, tenantID, job.Args.DeliveryID, status, code, o.excerpt, o.err, next, ms, o.at); err != nil {
			return err
		}
		if status == StatusSucceeded {
			_, err := tx.Exec(ctx, sqlEndpointSucceeded, tenantID, endpointID)
			return err
		}
		var since time.Time
		var enabled bool
		var url string
		if err := tx.QueryRow(ctx, sqlEndpointFailed, tenantID, endpointID, s.cfg.Now()).Scan(&since, &enabled, &url); err != nil {
			return err
		}
		if !enabled || s.cfg.Now().Sub(since) < s.cfg.DisableAfter {
			return nil
		}
		if _, err := tx.Exec(ctx, sqlDisableEndpoint, tenantID, endpointID); err != nil {
			return err
		}
		reason := fmt.Sprintf("the endpoint was disabled: every delivery failed for %.0f hours straight, since %s; it receives nothing more",
			s.cfg.DisableAfter.Hours(), since.UTC().Format(time.RFC3339))
		if _, err := tx.Exec(ctx, sqlDisabledNotice, tenantID, endpointID, NoticeEndpointDisabled, reason, s.cfg.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: tenantID, Actor: "system:webhooks", Action: "webhook.endpoint_disabled",
			TargetType: "webhook_endpoint", TargetID: endpointID, Details: map[string]any{
				"url": url, "failingSince": since.UTC().Format(time.RFC3339), "reason": "every delivery failed for 24 hours"}})
	})
	if err != nil {
		return fmt.Errorf("webhooks.record: %w", err)
	}
	return nil
}
