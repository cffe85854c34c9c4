package zoom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes bounds what the client reads of one response, so a
// misbehaving server cannot exhaust memory.
const maxResponseBytes = 16 << 20

// request is one REST operation as the retry loop sees it.
type request struct {
	op     string // operation name for metrics, logs and errors ("ListRooms")
	method string
	path   string // below the API base, starting with "/"
	query  url.Values
	body   any // JSON-encoded when non-nil
	label  RateLabel
	// idempotent calls are retried after 429, 5xx and connection errors;
	// others are sent again only after a 124 (Zoom did not run them).
	idempotent bool
}

// send runs r for the account: a slot of the shared limiter, a token, the
// HTTP exchange, then the reactions of zoom-api.md: one fresh token and one
// retry on code 124; Retry-After or exponential backoff with jitter on 429,
// 5xx and connection errors for idempotent calls, at most MaxRetries times
// and never past ctx's deadline. It returns the 2xx response body.
func (a *AccountClient) send(ctx context.Context, r request) ([]byte, error) {
	c := a.c
	var reqBody []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		reqBody = b
	}
	retries, tokenRetried := 0, false
	for {
		if err := c.waitForSlot(ctx, a.acc, r.label); err != nil {
			return nil, err
		}
		tok, err := a.acc.Tokens.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		status, header, body, err := c.attempt(ctx, r, reqBody, tok)
		if err == nil && status >= 200 && status < 300 {
			return body, nil
		}
		var (
			callErr   error
			retryable bool
			delay     time.Duration
			reason    string
		)
		switch {
		case err != nil:
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctxErr)
			}
			callErr, retryable, reason = err, r.idempotent, "network"
			delay = c.backoff(retries)
		default:
			ze := parseError(status, header, body, c.now())
			callErr = ze
			switch {
			case ze.Code == CodeInvalidToken || status == http.StatusUnauthorized:
				// Zoom did not run the call: a fresh token and one more try
				// is safe even for writes.
				if tokenRetried {
					return nil, ze
				}
				tokenRetried = true
				a.acc.Tokens.Invalidate(tok)
				c.metrics.retries.WithLabelValues(r.op, "invalid_token").Inc()
				continue
			case status == http.StatusTooManyRequests:
				if ze.Daily {
					c.blockUntil(ctx, a.acc, r.label, ze.RetryAt)
					return nil, ze
				}
				retryable, reason = r.idempotent, "rate_limited"
				if !ze.RetryAt.IsZero() {
					delay = max(ze.RetryAt.Sub(c.now()), 0)
				} else {
					delay = c.backoff(retries)
				}
			case status >= 500:
				retryable, reason = r.idempotent, "server_error"
				delay = c.backoff(retries)
			default:
				return nil, ze
			}
		}
		if !retryable || retries >= c.maxRetries {
			return nil, callErr
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(delay).After(dl) {
			// Waiting would outlive the caller: give up now with what
			// Zoom said rather than fail later with a bare timeout.
			return nil, callErr
		}
		c.metrics.retries.WithLabelValues(r.op, reason).Inc()
		c.log.DebugContext(ctx, "zoom: retrying call", "operation", r.op, "reason", reason,
			"retry", retries+1, "delay", delay)
		if err := c.sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("%w: %w", callErr, err)
		}
		retries++
	}
}

// attempt makes one HTTP exchange within AttemptTimeout. A transport error
// or a body that cannot be read in full comes back as err (matching
// ErrUnavailable); otherwise the status, headers and body.
func (c *Client) attempt(ctx context.Context, r request, reqBody []byte, token string) (int, http.Header, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()
	u := c.apiBase + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var rd io.Reader
	if reqBody != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(actx, r.method, u, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.metrics.calls.WithLabelValues(r.op, "error").Inc()
		return 0, nil, nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, r.method, r.path, scrubURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	c.metrics.callDuration.WithLabelValues(r.op).Observe(time.Since(start).Seconds())
	c.metrics.calls.WithLabelValues(r.op, strconv.Itoa(resp.StatusCode)).Inc()
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: %s %s: read body: %w", ErrMalformedResponse, r.method, r.path, err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// scrubURLError drops the URL from a *url.Error: the URL holds only ids and
// page tokens, but keeping errors free of request details is the simpler
// rule.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// backoff returns the wait before retry n (0-based): exponential from
// RetryBaseDelay, capped at RetryMaxDelay, with "equal jitter" so replicas
// that failed together do not retry together.
func (c *Client) backoff(n int) time.Duration {
	d := c.baseDelay << min(n, 20)
	if d <= 0 || d > c.maxDelay {
		d = c.maxDelay
	}
	half := d / 2
	return half + rand.N(half+1)
}

// zoomErrorBody is Zoom's REST error shape.
type zoomErrorBody struct {
	Code    *int         `json:"code"`
	Message string       `json:"message"`
	Errors  []FieldError `json:"errors"`
}

// parseError builds an *Error from a non-2xx answer. A body that is not
// Zoom's error JSON (an HTML 502 page from a proxy) keeps the status with a
// generic message; the body itself is never copied into the error.
func parseError(status int, header http.Header, body []byte, now time.Time) *Error {
	ze := &Error{HTTPStatus: status}
	var zb zoomErrorBody
	if err := json.Unmarshal(body, &zb); err == nil && (zb.Code != nil || zb.Message != "") {
		if zb.Code != nil {
			ze.Code = *zb.Code
		}
		ze.Message = zb.Message
		ze.Fields = zb.Errors
	} else {
		ze.Message = http.StatusText(status) + " (response is not Zoom's error JSON)"
	}
	if status == http.StatusTooManyRequests {
		ze.RetryAt = parseRetryAfter(header.Get("Retry-After"), now)
		ze.Daily = strings.EqualFold(header.Get("X-RateLimit-Type"), "Daily-limit")
		if ze.Daily && ze.RetryAt.IsZero() {
			// The daily limit resets at 00:00 UTC.
			y, m, d := now.UTC().Date()
			ze.RetryAt = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
		}
	}
	return ze
}

// parseRetryAfter reads Retry-After as delta-seconds or an HTTP date; zero
// when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return now.Add(time.Duration(secs * float64(time.Second)))
	}
	if t, err := http.ParseTime(v); err == nil {
		return t
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t
	}
	return time.Time{}
}

// decode unmarshals a 2xx body into out, reporting a malformed body as
// ErrMalformedResponse.
func decode(body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	return nil
}
