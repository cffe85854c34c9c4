package zoomspec

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// TB is the part of testing.TB a Transport reports to.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// Violation is one request or response that broke the contract.
type Violation struct {
	Method, URL string
	// Status is the response status, 0 for a request violation.
	Status int
	Err    error
}

func (v Violation) String() string {
	if v.Status == 0 {
		return fmt.Sprintf("request %s %s: %v", v.Method, v.URL, v.Err)
	}
	return fmt.Sprintf("response %d to %s %s: %v", v.Status, v.Method, v.URL, v.Err)
}

// Transport is an http.RoundTripper that validates every /v2 request and
// response passing through it. Requests outside /v2 (OAuth, /_sim) pass
// unchecked. Violations are kept (see Violations) and, if TB is set,
// reported with TB.Errorf. It never changes what the caller sees, and
// transport errors (no response) are passed through unvalidated.
type Transport struct {
	v    *Validator
	next http.RoundTripper
	tb   TB

	mu         sync.Mutex
	violations []Violation
	checked    int
}

// Transport wraps next (http.DefaultTransport if nil) with validation,
// reporting violations to tb (which may be nil).
func (v *Validator) Transport(tb TB, next http.RoundTripper) *Transport {
	if next == nil {
		next = http.DefaultTransport
	}
	vv := *v
	vv.opts.SkipNonAPI = true
	return &Transport{v: &vv, next: next, tb: tb}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	reqBody, err := readAndRestore(&req.Body)
	if err != nil {
		return nil, fmt.Errorf("zoomspec: read request body: %w", err)
	}
	if err := t.v.ValidateRequest(req.Context(), req, reqBody); err != nil {
		t.record(Violation{Method: req.Method, URL: req.URL.String(), Err: err})
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if t.v.isAPI(req) {
		t.mu.Lock()
		t.checked++
		t.mu.Unlock()
	}
	body, rerr := readAndRestore(&resp.Body)
	if rerr != nil {
		// A truncated or reset body is the server's (or a fault's)
		// business, not a contract check; hand back what was read.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
		return resp, nil
	}
	if err := t.v.ValidateResponse(req.Context(), req, reqBody, resp.StatusCode, resp.Header, body); err != nil {
		t.record(Violation{Method: req.Method, URL: req.URL.String(), Status: resp.StatusCode, Err: err})
	}
	return resp, nil
}

// Violations returns the violations seen so far.
func (t *Transport) Violations() []Violation {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Violation(nil), t.violations...)
}

// Checked returns how many exchanges passed through the transport, so a
// test can prove its validation actually ran.
func (t *Transport) Checked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.checked
}

func (t *Transport) record(v Violation) {
	t.mu.Lock()
	t.violations = append(t.violations, v)
	t.mu.Unlock()
	if t.tb != nil {
		t.tb.Helper()
		t.tb.Errorf("zoomspec: %s", v)
	}
}

// readAndRestore reads *body fully and replaces it with a reader over the
// same bytes.
func readAndRestore(body *io.ReadCloser) ([]byte, error) {
	if *body == nil || *body == http.NoBody {
		return nil, nil
	}
	data, err := io.ReadAll(*body)
	(*body).Close()
	*body = io.NopCloser(bytes.NewReader(data))
	return data, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
