package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"zoomsignage/app"
	"zoomsignage/internal/testutil/faultproxy"
	"zoomsignage/zoom/zoomsim"
)

// TestDeadWorkersCleanupResumesOnAnotherReplica is issue 11 item 4: the
// cleanup of a replica that died mid-room was resumed only after River's
// ten-minute job timeout, the connection sitting in DISCONNECTING with
// every license meanwhile. Replica A runs the cleanup and dies (its
// Postgres connections are cut for good while a Zoom call hangs, so its
// job row stays running, exactly as after a kill -9); replica B, on the
// same database, must rescue the job and finish it. The rescue horizon is
// shortened through RIVER_RESCUE_AFTER; River's own 30 s rescuer tick and
// leader election are not.
func TestDeadWorkersCleanupResumesOnAnotherReplica(t *testing.T) {
	var proxy *faultproxy.Proxy
	directDB := ""
	w := newZoomWorld(t, 4, func(c *app.Config) {
		c.DisconnectWait = time.Millisecond
		c.JobRescueAfter = 6 * time.Second
		directDB = c.DatabaseURL
		u, err := url.Parse(c.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy = faultproxy.New(t, u.Host)
		u.Host = proxy.Addr()
		c.DatabaseURL = u.String()
	})
	tenant := w.tenant("Acme", 10)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	id := w.connectServerApp(t, admin)
	w.activate(t, tenant, id, 4)
	if r := w.post(admin, disconnect, map[string]any{"id": id}); r.code() != "" {
		t.Fatalf("disconnect: %s", r.Raw)
	}
	// Two rooms go through; the third room's library delete hangs, and
	// replica A dies there.
	if _, err := w.sim.AddFault(ctx, zoomsim.Fault{Route: zoomsim.RouteDeleteContent, Count: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.AddFault(ctx, zoomsim.Fault{Route: zoomsim.RouteDeleteContent, Hang: true}); err != nil {
		t.Fatal(err)
	}
	w.sim.ResetCalls()
	w.startJobs(t)
	waitFor(t, "the third room's delete", func() bool { return w.sim.Calls(w.seed.AccountID)[zoomsim.RouteDeleteContent] >= 3 })
	proxy.Down()
	killed := time.Now()
	if err := w.sim.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}

	cfgB := w.app.Config
	cfgB.DatabaseURL = directDB
	b := newGateway(t, &cfgB)
	b.startJobs(t)
	count := func(sql string) int {
		var n int
		if err := b.app.DB.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Within two minutes of the death, whatever River's timers do.
	deadline := killed.Add(2 * time.Minute)
	for count(`SELECT count(*) FROM zoom_connections`) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the dead replica's cleanup was not finished within 2 minutes; connection rows: %d",
				count(`SELECT count(*) FROM zoom_connections`))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("cleanup finished by replica B %s after replica A died", time.Since(killed).Round(time.Millisecond))

	var errs string
	if err := b.app.DB.QueryRow(ctx, `SELECT errors::text FROM river_job WHERE kind = 'connection_cleanup' ORDER BY id LIMIT 1`).Scan(&errs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errs, "Stuck job rescued") {
		t.Errorf("the job was not rescued from the dead replica but retried: %s", errs)
	}
	b.disconnectCleanly(t, admin, tenant, id, 4)
	if lib := w.sim.LibraryContents(w.seed.AccountID); len(lib) != 0 {
		t.Errorf("library items left: %v", lib)
	}
}
