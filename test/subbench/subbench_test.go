// Package subbench is the subscriptions load test of `make bench`
// (scripts/bench-subscriptions.sh): one gateway process, ten thousand
// websocket subscribers in another process (./client), room status events
// published through Redis at a fixed rate. It reports the p99 latency from
// an event's At (when the change was detected) to its arrival at a client,
// and the gateway's resident memory per idle subscriber.
package subbench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"zoomsignage/events"
	"zoomsignage/internal/testutil/redistest"
	"zoomsignage/store/storetest"
	"zoomsignage/tenants"
	"zoomsignage/vault/vaulttest"
)

const jwtSecret = "subscriptions-bench-secret-of-32-bytes!!"

// settings are the load's shape; SUBBENCH_* variables override them.
type settings struct {
	subscribers, tenants, rate int
	duration, idleWait         time.Duration
}

func loadSettings(b *testing.B) settings {
	num := func(key string, def int) int {
		if v := os.Getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				b.Fatalf("%s must be a positive integer", key)
			}
			return n
		}
		return def
	}
	return settings{
		subscribers: num("SUBBENCH_SUBSCRIBERS", 10_000),
		tenants:     num("SUBBENCH_TENANTS", 1_000),
		rate:        num("SUBBENCH_RATE", 1_000),
		duration:    time.Duration(num("SUBBENCH_SECONDS", 10)) * time.Second,
		idleWait:    time.Duration(num("SUBBENCH_IDLE_SECONDS", 130)) * time.Second,
	}
}

// BenchmarkSubscriptions measures one replica under the load of the issue:
// 10,000 subscribers (10 per tenant over 1,000 tenants, each subscribed to
// roomStatusChanged of all its connections) and 1,000 room status events
// per second spread over the tenants, so 10,000 deliveries per second.
func BenchmarkSubscriptions(b *testing.B) {
	if os.Getenv("ZS_SUBBENCH") == "" {
		b.Skip("run by scripts/bench-subscriptions.sh, which raises the file-descriptor limit and runs it alone")
	}
	s := loadSettings(b)
	ctx := context.Background()
	pool, dbURL := storetest.NewWithURL(b)
	rdb, prefix := redistest.New(b)
	vcfg := vaulttest.Config(b)

	tenantIDs := make([]string, s.tenants)
	var tokens strings.Builder
	for i := range tenantIDs {
		tn, err := tenants.Create(ctx, pool, fmt.Sprintf("bench-%d", i), 1)
		if err != nil {
			b.Fatal(err)
		}
		tenantIDs[i] = tn.ID
		tokens.WriteString(jwtFor(b, tn.ID) + "\n")
	}
	dir := b.TempDir()
	tokensFile := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokensFile, []byte(tokens.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	gatewayBin := build(b, dir, "./cmd/gateway")
	clientBin := build(b, dir, "./test/subbench/client")

	addr := freeAddr(b)
	gw := exec.Command(gatewayBin, "serve")
	gw.Env = append(os.Environ(), "GATEWAY_ENV=production", "GATEWAY_ADDR="+addr, "LOG_LEVEL=warn",
		"DATABASE_URL="+dbURL, "REDIS_URL="+redistest.URL(), "REDIS_KEY_PREFIX="+prefix,
		"VAULT_ADDR="+vcfg.Address, "VAULT_TOKEN="+vcfg.Token, "VAULT_TRANSIT_KEY="+vcfg.Key,
		"JWT_HS256_SECRET="+jwtSecret)
	gw.Stderr = io.Discard
	if err := gw.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stop(gw) })
	base := "http://" + addr
	waitReady(b, base)
	time.Sleep(time.Second)
	rssBefore := rssKB(b, gw.Process.Pid)

	client := exec.Command(clientBin, "-url", "ws://"+addr+"/graphql", "-tokens", tokensFile, "-n", strconv.Itoa(s.subscribers))
	client.Stderr = os.Stderr
	stdin, err := client.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := client.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := client.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stop(client) })
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "ready") {
		b.Fatalf("client did not get ready: %q", lines.Text())
	}
	waitStreams(b, base, s.subscribers)
	// Idle means after the runtime's periodic GC (every 2 minutes) and the
	// scavenger have run once the connection burst is over: what a replica
	// holding these subscribers costs, not the garbage of connecting them.
	time.Sleep(s.idleWait)
	rssIdle := rssKB(b, gw.Process.Pid)
	perSubKB := float64(rssIdle-rssBefore) / float64(s.subscribers)
	idle := gatewayMetrics(b, base, "go_goroutines", "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes")

	bus, err := events.NewBus(events.BusOptions{Redis: rdb, Prefix: prefix, Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	b.ResetTimer()
	published := publish(ctx, b, bus, tenantIDs, s)
	b.StopTimer()
	time.Sleep(2 * time.Second) // in-flight deliveries
	_ = stdin.Close()
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "result ") {
		b.Fatalf("client result: %q", lines.Text())
	}
	var res struct {
		Subscribers, Events int
		Errors              int64
		P50Ms, P99Ms, MaxMs float64
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(lines.Text(), "result ")), &res); err != nil {
		b.Fatal(err)
	}
	expected := published * s.subscribers / s.tenants
	b.ReportMetric(res.P99Ms, "p99-ms")
	b.ReportMetric(res.P50Ms, "p50-ms")
	b.ReportMetric(perSubKB, "KB/idle-subscriber")
	b.ReportMetric(float64(res.Events)/float64(expected), "delivered/expected")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
	fmt.Printf("subscriptions: %d subscribers over %d tenants, %d events/s for %s (%d published, %d deliveries expected, %d received, %d errors) on %d cores\n",
		s.subscribers, s.tenants, s.rate, s.duration, published, expected, res.Events, res.Errors, runtime.NumCPU())
	fmt.Printf("subscriptions: latency from detection to client p50 %.1f ms, p99 %.1f ms (bar 200 ms), max %.1f ms\n", res.P50Ms, res.P99Ms, res.MaxMs)
	fmt.Printf("subscriptions: gateway RSS %d KB before, %d KB with every subscriber idle: %.1f KB per idle subscriber (bar 40 KB)\n", rssBefore, rssIdle, perSubKB)
	fmt.Printf("subscriptions: idle gateway: %.0f goroutines, heap in use %.0f KB, stacks %.0f KB\n",
		idle["go_goroutines"], idle["go_memstats_heap_inuse_bytes"]/1024, idle["go_memstats_stack_inuse_bytes"]/1024)
}

// publish sends s.rate room status events per second for s.duration,
// round-robin over the tenants, in batches every 10 ms as a sync would. Each
// event's At is stamped as it is built: the detection time.
func publish(ctx context.Context, b *testing.B, bus *events.Bus, tenantIDs []string, s settings) int {
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	start := time.Now()
	statuses := []string{"AVAILABLE", "IN_MEETING", "OFFLINE"}
	n := 0
	for now := range ticker.C {
		elapsed := now.Sub(start)
		if elapsed > s.duration {
			break
		}
		due := int(elapsed.Seconds() * float64(s.rate)) // catch up on late ticks: the rate holds
		batch := make([]events.Event, 0, due-n)
		for ; n < due; n++ {
			tenant := tenantIDs[n%len(tenantIDs)]
			batch = append(batch, events.Event{Kind: events.RoomStatusChanged, TenantID: tenant, ConnectionID: "c", At: time.Now(),
				PreviousStatus: statuses[n%3], Room: &events.RoomSnapshot{ID: strconv.Itoa(n), ConnectionID: "c", Status: statuses[(n+1)%3], Health: "OK"}})
		}
		if err := bus.Publish(ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}
	return n
}

func jwtFor(b *testing.B, tenant string) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "bench", "tenant": tenant, "role": "viewer", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func build(b *testing.B, dir, pkg string) string {
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(b *testing.B, base string) {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	b.Fatal("the gateway did not get ready")
}

// waitStreams waits until the gateway holds n event streams.
func waitStreams(b *testing.B, base string, n int) {
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if streams(b, base) == n {
			return
		}
	}
	b.Fatalf("the gateway holds %d streams, want %d", streams(b, base), n)
}

func streams(b *testing.B, base string) int {
	return int(gatewayMetrics(b, base, "gateway_event_subscribers")["gateway_event_subscribers"])
}

// gatewayMetrics reads unlabelled metrics from the gateway's /metrics.
func gatewayMetrics(b *testing.B, base string, names ...string) map[string]float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out := make(map[string]float64, len(names))
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		for _, name := range names {
			if v, ok := strings.CutPrefix(s.Text(), name+" "); ok {
				out[name], _ = strconv.ParseFloat(v, 64)
			}
		}
	}
	return out
}

// rssKB is a process's resident set size.
func rssKB(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// stop ends a child process politely, then firmly.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
