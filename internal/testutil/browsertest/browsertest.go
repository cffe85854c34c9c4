// Package browsertest starts a real headless Chromium for a test and drives
// it over the Chrome DevTools protocol (a websocket speaking JSON), so
// browser tests need no Node toolchain and no browser download.
//
// CHROMIUM (default /usr/bin/chromium, then chromium on PATH) is the
// browser. When it is missing the test is skipped, except under CI=true,
// where a missing browser fails the test: CI must never pass by skipping.
package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Flags are the launch flags: headless, no sandbox (containers), and
// nothing that talks to Google or to the network on its own.
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--autoplay-policy=no-user-gesture-required", "--remote-debugging-port=0",
}

// Browser is one Chromium process with a fresh profile.
type Browser struct {
	t    testing.TB
	cmd  *exec.Cmd
	conn *websocket.Conn

	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int64
	waiting map[int64]chan reply
	logs    []string
	closed  chan struct{}
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

type message struct {
	ID        int64           `json:"id"`
	Method    string          `json:"method"`
	SessionID string          `json:"sessionId"`
	Params    json.RawMessage `json:"params"`
	reply
}

// Path returns the Chromium binary, or "" when there is none.
func Path() string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// Require returns the Chromium binary for t, skipping t when there is
// none, or failing it under CI=true: CI must never pass by skipping. Tests
// that drive Chromium by other means (playwright-core under test/graphiql)
// follow the same rule through it.
func Require(t testing.TB) string {
	t.Helper()
	path := Path()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("browsertest: chromium is required under CI=true and was not found (apt-get install chromium)")
		}
		t.Skip("browsertest: chromium is not installed (set CHROMIUM or install Debian's chromium)")
	}
	return path
}

// Start launches Chromium for t (see the package comment for when it
// skips) with Flags and any extra flags (OfflineFlags, say), and closes it
// when t ends.
func Start(t testing.TB, extra ...string) *Browser {
	t.Helper()
	path := Require(t)
	args := append(append(append([]string{}, Flags...), extra...), "--user-data-dir="+t.TempDir(), "about:blank")
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("browsertest: start chromium: %v", err)
	}
	b := &Browser{t: t, cmd: cmd, waiting: map[int64]chan reply{}, closed: make(chan struct{})}
	t.Cleanup(b.close)
	wsURL := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "DevTools listening on "); ok {
				wsURL <- strings.TrimSpace(u)
			}
		}
	}()
	var u string
	select {
	case u = <-wsURL:
	case <-time.After(30 * time.Second):
		t.Fatal("browsertest: chromium did not open its DevTools endpoint within 30 s")
	}
	if b.conn, _, err = websocket.DefaultDialer.Dial(u, nil); err != nil {
		t.Fatalf("browsertest: dial DevTools: %v", err)
	}
	go b.read()
	return b
}

func (b *Browser) close() {
	if b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, _ = b.call(ctx, "", "Browser.close", nil)
		cancel()
		b.conn.Close()
	}
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		// Chromium's helpers share its process group (Setpgid above).
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func (b *Browser) read() {
	defer close(b.closed)
	for {
		_, data, err := b.conn.ReadMessage()
		if err != nil {
			return
		}
		var m message
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if c, ok := b.waiting[m.ID]; ok {
				delete(b.waiting, m.ID)
				c <- m.reply
			}
		} else if line := logLine(m); line != "" {
			b.logs = append(b.logs, line)
		}
		b.mu.Unlock()
	}
}

// logLine keeps console messages and browser log entries (CSP violations
// among them) for Logs.
func logLine(m message) string {
	switch m.Method {
	case "Log.entryAdded":
		var p struct {
			Entry struct{ Level, Source, Text, URL string } `json:"entry"`
		}
		_ = json.Unmarshal(m.Params, &p)
		return fmt.Sprintf("log %s %s: %s", p.Entry.Level, p.Entry.Source, p.Entry.Text)
	case "Runtime.exceptionThrown":
		return "exception: " + string(m.Params)
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value any `json:"value"`
			} `json:"args"`
		}
		_ = json.Unmarshal(m.Params, &p)
		parts := []string{"console " + p.Type + ":"}
		for _, a := range p.Args {
			parts = append(parts, fmt.Sprint(a.Value))
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// Logs returns what the pages logged so far.
func (b *Browser) Logs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.logs...)
}

// call sends one command (to a page's session when session is set).
func (b *Browser) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	c := make(chan reply, 1)
	b.waiting[id] = c
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	b.writeMu.Lock()
	err := b.conn.WriteJSON(msg)
	b.writeMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("browsertest: %s: %w", method, err)
	}
	select {
	case r := <-c:
		if r.Error != nil {
			return nil, fmt.Errorf("browsertest: %s: %s", method, r.Error.Message)
		}
		return r.Result, nil
	case <-b.closed:
		return nil, fmt.Errorf("browsertest: %s: the browser went away", method)
	case <-ctx.Done():
		return nil, fmt.Errorf("browsertest: %s: %w", method, ctx.Err())
	}
}

// Page is one tab.
type Page struct {
	b       *Browser
	session string
}

// NewPage opens a blank tab with its console and log reported to Logs.
func (b *Browser) NewPage() *Page {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		b.t.Fatal(err)
	}
	var target struct {
		TargetID string `json:"targetId"`
	}
	_ = json.Unmarshal(res, &target)
	res, err = b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	if err != nil {
		b.t.Fatal(err)
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	_ = json.Unmarshal(res, &attached)
	p := &Page{b: b, session: attached.SessionID}
	for _, domain := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		if _, err := b.call(ctx, p.session, domain, nil); err != nil {
			b.t.Fatal(err)
		}
	}
	return p
}

// Navigate loads url in the tab.
func (p *Page) Navigate(url string) {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := p.b.call(ctx, p.session, "Page.navigate", map[string]any{"url": url})
	if err != nil {
		p.b.t.Fatal(err)
	}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	_ = json.Unmarshal(res, &nav)
	if nav.ErrorText != "" {
		p.b.t.Fatalf("browsertest: navigate: %s", nav.ErrorText)
	}
}

// Eval evaluates a JavaScript expression in the page and unmarshals its
// value into out (when not nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	res, err := p.b.call(ctx, p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("browsertest: %s: %s", expr, r.ExceptionDetails.Text)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// ErrTimeout is WaitString's error when the value never came.
var ErrTimeout = errors.New("browsertest: timed out")

// WaitString evaluates expr (a string-valued expression) every 25 ms
// until it equals want or timeout passes, and returns how long it took.
// The last value seen is returned with ErrTimeout.
func (p *Page) WaitString(expr, want string, timeout time.Duration) (time.Duration, string, error) {
	start := time.Now()
	var got string
	for time.Since(start) < timeout {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		var v *string
		err := p.Eval(ctx, expr, &v)
		cancel()
		if err == nil && v != nil {
			got = *v
			if got == want {
				return time.Since(start), got, nil
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return time.Since(start), got, ErrTimeout
}
