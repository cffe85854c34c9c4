package events_test

import (
	"testing"
	"time"

	"zoomsignage/internal/testutil/redistest"
	"zoomsignage/store/storetest"
)

// outage is how long Redis is down in BenchmarkDeliveryAcrossRedisOutage
// (issue 11's measure: a 20 s outage).
const outage = 20 * time.Second

// BenchmarkDeliveryAcrossRedisOutage commits a room status change every
// 50 ms while the events' Redis is down for 20 s, brings it back, and
// reports delivered/committed (unique events a subscriber received over
// events committed; must be 1.0) and the duplicates it saw (must be 0).
func BenchmarkDeliveryAcrossRedisOutage(b *testing.B) {
	srv := redistest.StartServer(b)
	r := newRelayed(b, storetest.New(b), srv.Client(), "bench:")
	s := subscribe(b, r.bus, "tenant-a", all)
	var committed, delivered, duplicates int
	for b.Loop() {
		srv.Stop()
		var rooms []string
		for start := time.Now(); time.Since(start) < outage; {
			room := time.Now().Format("15:04:05.000000000")
			r.commit(b, "tenant-a", room)
			rooms = append(rooms, room)
			time.Sleep(50 * time.Millisecond)
		}
		srv.Start()
		r.commit(b, "tenant-a", "sentinel")
		seen := map[string]int{}
		for _, ev := range receive(b, s, "sentinel") {
			seen[ev.Room.ID]++
		}
		committed += len(rooms)
		for _, room := range rooms {
			if seen[room] > 0 {
				delivered++
			}
			duplicates += max(seen[room]-1, 0)
		}
	}
	b.ReportMetric(float64(delivered)/float64(committed), "delivered/committed")
	b.ReportMetric(float64(duplicates), "duplicates")
	b.ReportMetric(float64(committed)/float64(b.N), "events/outage")
}
