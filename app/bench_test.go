package app_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"zoomsignage/auth"
)

// BenchmarkAuthOverhead measures, in one run, `{viewer{tenantId}}` with an
// API key against `{__typename}` without credentials on the same server.
// Requests alternate so both see the same machine noise; the ratio is what
// counts (auth overhead at steady state should stay under 15%).
func BenchmarkAuthOverhead(b *testing.B) {
	g := newBenchGateway(b)
	tenant := g.tenant("bench", 1)
	key := g.apiKey(tenant, auth.ScopeRoomsRead)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	anon := []byte(`{"query":"{__typename}"}`)
	authed := []byte(`{"query":"{viewer{tenantId}}"}`)
	do := func(body []byte, credential string) time.Duration {
		req, _ := http.NewRequest(http.MethodPost, g.url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if credential != "" {
			req.Header.Set("Authorization", "Bearer "+credential)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		elapsed := time.Since(start)
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return elapsed
	}
	for range 200 { // warm up: connections, query cache, API-key cache
		do(anon, "")
		do(authed, key)
	}
	var anonTotal, authTotal time.Duration
	b.ResetTimer()
	for b.Loop() {
		anonTotal += do(anon, "")
		authTotal += do(authed, key)
	}
	n := float64(b.N)
	b.ReportMetric(float64(anonTotal.Nanoseconds())/n, "ns/typename")
	b.ReportMetric(float64(authTotal.Nanoseconds())/n, "ns/viewer")
	b.ReportMetric(100*(float64(authTotal)/float64(anonTotal)-1), "overhead%")
}
