package zoomsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"zoomsignage/internal/testutil/clocktest"
	"zoomsignage/zoom/zoomsim"
	"zoomsignage/zoom/zoomspec"
)

// clock is the fake clock shared by the simulator and the client.
type clock = clocktest.Clock

func newClock() *clock { return clocktest.New() }

// env is a simulator behind a real HTTP server, seeded, with a client
// whose traffic is validated against Zoom's documents.
type env struct {
	t      *testing.T
	sim    *zoomsim.Sim
	srv    *httptest.Server
	clock  *clock
	seed   zoomsim.Seeded
	client *http.Client
	spec   *zoomspec.Transport
	v      *zoomspec.Validator
	// rawChecked counts responses rawCall validated by hand.
	rawChecked int
}

func newEnv(t *testing.T, opts zoomsim.Options, seed zoomsim.SeedOptions) *env {
	t.Helper()
	e := &env{t: t, clock: newClock()}
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	e.sim = zoomsim.New(opts)
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(func() { e.sim.Close(); e.srv.Close() })
	var err error
	if e.seed, err = e.sim.Seed(context.Background(), seed); err != nil {
		t.Fatal(err)
	}
	if e.v, err = zoomspec.NewValidator(e.srv.URL); err != nil {
		t.Fatal(err)
	}
	e.spec = e.v.Transport(t, nil)
	e.client = &http.Client{
		Transport:     e.spec,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(func() {
		if len(e.spec.Violations()) == 0 && e.spec.Checked()+e.rawChecked == 0 && strings.HasPrefix(t.Name(), "TestREST") {
			t.Error("no API traffic was validated")
		}
	})
	return e
}

// s2sToken gets a Server-to-Server token for the seeded account.
func (e *env) s2sToken() string {
	e.t.Helper()
	tok, status := e.token(e.seed.Server, url.Values{"grant_type": {"account_credentials"}, "account_id": {e.seed.AccountID}})
	if status != 200 {
		e.t.Fatalf("s2s token status %d: %v", status, tok)
	}
	return tok["access_token"].(string)
}

// token posts to /oauth/token with app's Basic credentials.
func (e *env) token(app zoomsim.App, form url.Values) (map[string]any, int) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(app.ClientID, app.ClientSecret)
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("token body: %v", err)
	}
	return out, resp.StatusCode
}

// call sends an API request with a bearer token and decodes a JSON answer.
func (e *env) call(tok, method, path string, body any) (int, map[string]any, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, e.srv.URL+"/v2"+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			e.t.Fatalf("%s %s: body %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode, out, resp.Header
}

// rawCall sends a raw body without request validation (for bodies the
// spec forbids) but still validates the response.
func (e *env) rawCall(tok, method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+"/v2"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	e.rawChecked++
	if err := e.v.ValidateResponse(context.Background(), req, []byte(body), resp.StatusCode, resp.Header, data); err != nil {
		e.t.Errorf("response violates the spec: %v", err)
	}
	var out map[string]any
	json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// wantZoomError checks a Zoom error answer.
func wantZoomError(t *testing.T, status int, body map[string]any, wantStatus, wantCode int) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status = %d, want %d (body %v)", status, wantStatus, body)
	}
	if code, _ := body["code"].(float64); int(code) != wantCode {
		t.Fatalf("code = %v, want %d (body %v)", body["code"], wantCode, body)
	}
}
