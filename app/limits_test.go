package app_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"zoomsignage/auth"
)

// TestFragmentBombIsRefused sends a kilobyte of valid GraphQL whose
// fragments double at each level (2^40 fields once expanded). It must be
// refused by the shape limit, not expanded; the client timeout turns a
// regression into a failure instead of a hang.
func TestFragmentBombIsRefused(t *testing.T) {
	g := newGateway(t, nil)
	var q strings.Builder
	q.WriteString("query { ...F0 }\n")
	const levels = 40
	for i := range levels {
		fmt.Fprintf(&q, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&q, "fragment F%d on Query { __typename }\n", levels)
	out, _ := g.hostile(q.String())
	if out.code() != "FIELD_LIMIT_EXCEEDED" {
		t.Fatalf("code = %q, want FIELD_LIMIT_EXCEEDED (%v)", out.code(), out.Errors)
	}
}

func TestInlineFragmentsCountTowardsDepth(t *testing.T) {
	cfg := testConfig(t)
	cfg.DepthLimit = 3
	g := newGateway(t, &cfg)
	key := g.apiKey(g.tenant("A", 1), auth.ScopeAdmin)
	r := g.post(key, `{ ... on Query { auditEvents { edges { ... on AuditEventEdge { node { id } } } } } }`, nil)
	if r.code() != "DEPTH_LIMIT_EXCEEDED" {
		t.Fatalf("code %q (%s)", r.code(), r.Raw)
	}
}

// TestSlowBodyIsCutOff trickles a request body: the server must give up
// after its request timeout instead of holding the connection forever.
func TestSlowBodyIsCutOff(t *testing.T) {
	cfg := testConfig(t)
	cfg.RequestTimeout = time.Second
	g := newGateway(t, &cfg)
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"query\":")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// Keep trickling a byte every 200 ms until the server gives up.
		for ctx.Err() == nil {
			if _, err := conn.Write([]byte(" ")); err != nil {
				done <- nil
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("slow body answered %d", resp.StatusCode)
		}
		return
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server still held a trickling request after 15 s (request timeout 1 s)")
	}
}

func TestUnknownMethodsShareOneMetricsLabel(t *testing.T) {
	g := newGateway(t, nil)
	for i := range 3 {
		req, _ := http.NewRequest(fmt.Sprintf("FOO%d", i), g.url+"/graphql", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	_, body := get(t, g.url+"/metrics")
	if strings.Contains(body, `method="FOO`) || !strings.Contains(body, `method="OTHER"`) {
		t.Fatal("client-chosen methods reach the metrics labels")
	}
}

func TestMalformedScalarsAreBadUserInput(t *testing.T) {
	g := newGateway(t, nil)
	key := g.apiKey(g.tenant("A", 1), auth.ScopeAdmin)
	cases := map[string]string{
		"time literal":  `{auditEvents(filter:{since:"last tuesday"}){totalCount}}`,
		"int overflow":  `{auditEvents(first: 99999999999){totalCount}}`,
		"time variable": `query($s: Time){auditEvents(filter:{since:$s}){totalCount}}`,
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			r := g.post(key, q, map[string]any{"s": "yesterday"})
			if r.code() != "BAD_USER_INPUT" && r.code() != "GRAPHQL_VALIDATION_FAILED" {
				t.Fatalf("code %q, want BAD_USER_INPUT (%s)", r.code(), r.Raw)
			}
			if strings.Contains(g.logs.String(), `"level":"ERROR"`) {
				t.Fatal("bad input was logged as an internal error")
			}
		})
	}
}
