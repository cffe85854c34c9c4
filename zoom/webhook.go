package zoom

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Webhook verification errors. The handler answers 401 for the first three
// and 409 for a replay.
var (
	ErrWebhookSignature = errors.New("zoom webhook: bad or missing signature")
	ErrWebhookStale     = errors.New("zoom webhook: timestamp outside the accepted window")
	ErrWebhookMalformed = errors.New("zoom webhook: malformed body")
	ErrWebhookReplay    = errors.New("zoom webhook: delivery already received")
)

// WebhookOptions configure a WebhookVerifier.
type WebhookOptions struct {
	// SecretToken is the app's webhook secret token. Required; never logged.
	SecretToken string
	// Redis records seen signatures for replay rejection. Without it
	// replays inside the window are not detected.
	Redis *redis.Client
	// KeyPrefix starts the replay keys (tests use redistest's prefix).
	KeyPrefix string
	// Window is how old (or how far ahead) a timestamp may be; 5 minutes
	// when zero. Replay keys live slightly longer than the window.
	Window time.Duration
	// MaxBodyBytes bounds a delivery; 1 MiB when zero.
	MaxBodyBytes int64
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger gets rejected deliveries (reason only); slog.Default() when nil.
	Logger *slog.Logger
}

// WebhookVerifier checks Zoom's webhook deliveries: HMAC signature compared
// in constant time, timestamp window, replay rejection across replicas.
type WebhookVerifier struct {
	secret  []byte
	rdb     *redis.Client
	prefix  string
	window  time.Duration
	maxBody int64
	now     func() time.Time
	log     *slog.Logger
}

// NewWebhookVerifier returns a verifier; it fails without a secret token.
func NewWebhookVerifier(opts WebhookOptions) (*WebhookVerifier, error) {
	if opts.SecretToken == "" {
		return nil, errors.New("zoom.NewWebhookVerifier: a webhook secret token is required")
	}
	v := &WebhookVerifier{secret: []byte(opts.SecretToken), rdb: opts.Redis, prefix: opts.KeyPrefix,
		window: opts.Window, maxBody: opts.MaxBodyBytes, now: opts.Now, log: opts.Logger}
	if v.window <= 0 {
		v.window = 5 * time.Minute
	}
	if v.maxBody <= 0 {
		v.maxBody = 1 << 20
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	return v, nil
}

// WebhookEvent is a verified delivery.
type WebhookEvent struct {
	Event   string          `json:"event"`
	EventTS int64           `json:"event_ts"` // milliseconds since the epoch
	Payload json.RawMessage `json:"payload"`
	// Raw is the body as received.
	Raw []byte `json:"-"`
}

// Sign returns the x-zm-signature value for ts and body: "v0=" +
// hex(HMAC_SHA256(secret, "v0:"+ts+":"+body)). Tests and the simulator's
// callers use it to build deliveries.
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's signature and timestamp, then records its
// signature so the same delivery is refused for the rest of the window
// (only after the signature holds, so forged requests cannot fill Redis).
func (v *WebhookVerifier) Verify(ctx context.Context, header http.Header, body []byte) (*WebhookEvent, error) {
	ts := header.Get("x-zm-request-timestamp")
	sig := header.Get("x-zm-signature")
	if ts == "" || sig == "" {
		return nil, ErrWebhookSignature
	}
	want := Sign(string(v.secret), ts, body)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return nil, ErrWebhookSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, ErrWebhookStale
	}
	if ts := time.Unix(secs, 0); v.now().Sub(ts).Abs() > v.window {
		return nil, ErrWebhookStale
	}
	var ev WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.Event == "" {
		return nil, ErrWebhookMalformed
	}
	ev.Raw = body
	if v.rdb != nil {
		ok, err := v.rdb.SetNX(ctx, v.replayKey(sig), 1, v.window+time.Minute).Result()
		if err != nil {
			return nil, fmt.Errorf("zoom.Verify: replay check: %w", err)
		}
		if !ok {
			return nil, ErrWebhookReplay
		}
	}
	return &ev, nil
}

// forget removes a delivery's replay key so Zoom's retry of a delivery we
// failed to accept is not refused.
func (v *WebhookVerifier) forget(ctx context.Context, header http.Header) {
	if v.rdb != nil {
		v.rdb.Del(context.WithoutCancel(ctx), v.replayKey(header.Get("x-zm-signature")))
	}
}

func (v *WebhookVerifier) replayKey(sig string) string {
	return v.prefix + "zoom:webhook:seen:" + sig
}

// URLValidationResponse answers endpoint.url_validation: encryptedToken is
// hex(HMAC_SHA256(secret, plainToken)).
func (v *WebhookVerifier) URLValidationResponse(plainToken string) map[string]string {
	m := hmac.New(sha256.New, v.secret)
	m.Write([]byte(plainToken))
	return map[string]string{"plainToken": plainToken, "encryptedToken": hex.EncodeToString(m.Sum(nil))}
}

// Handler returns the http.Handler the server mounts at /webhooks/zoom. It
// limits the body, verifies the delivery, answers endpoint.url_validation
// itself, and passes every other event to handle, which must return fast
// (Zoom wants an answer within 3 s: store and enqueue, do not work). A
// handle error answers 500 so Zoom retries; the delivery's replay key is
// dropped so that retry is accepted.
func (v *WebhookVerifier) Handler(handle func(ctx context.Context, ev *WebhookEvent) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, v.maxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		ev, err := v.Verify(r.Context(), r.Header, body)
		if err != nil {
			status := http.StatusUnauthorized
			switch {
			case errors.Is(err, ErrWebhookReplay):
				status = http.StatusConflict
			case errors.Is(err, ErrWebhookMalformed):
				status = http.StatusBadRequest
			case !errors.Is(err, ErrWebhookSignature) && !errors.Is(err, ErrWebhookStale):
				status = http.StatusServiceUnavailable
			}
			v.log.WarnContext(r.Context(), "zoom webhook rejected", "reason", err.Error(), "status", status)
			http.Error(w, http.StatusText(status), status)
			return
		}
		if ev.Event == "endpoint.url_validation" {
			var p struct {
				PlainToken string `json:"plainToken"`
			}
			if err := json.Unmarshal(ev.Payload, &p); err != nil || p.PlainToken == "" {
				http.Error(w, "missing plainToken", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v.URLValidationResponse(p.PlainToken))
			return
		}
		if err := handle(r.Context(), ev); err != nil {
			v.forget(r.Context(), r.Header)
			v.log.ErrorContext(r.Context(), "zoom webhook handling failed", "event", ev.Event, "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}
