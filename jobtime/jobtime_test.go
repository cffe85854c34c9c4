package jobtime

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

func TestTimingDerivesFromTheHorizon(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                   string
		in                     time.Duration
		rescue, timeout, slice time.Duration
	}{
		{"default when zero", 0, DefaultRescueAfter, 45 * time.Second, 30 * time.Second},
		{"default when negative", -time.Second, DefaultRescueAfter, 45 * time.Second, 30 * time.Second},
		{"configured", 8 * time.Second, 8 * time.Second, 6 * time.Second, 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tm := Timing{RescueAfter: tc.in}
			if got := tm.Rescue(); got != tc.rescue {
				t.Errorf("Rescue = %s, want %s", got, tc.rescue)
			}
			if got := tm.JobTimeout(); got != tc.timeout || got >= tm.Rescue() {
				t.Errorf("JobTimeout = %s, want %s (below the horizon)", got, tc.timeout)
			}
			if got := tm.Slice(); got != tc.slice || got >= tm.JobTimeout() {
				t.Errorf("Slice = %s, want %s (below the timeout)", got, tc.slice)
			}
		})
	}
}

func TestNextRetry(t *testing.T) {
	t.Parallel()
	ago := func(d time.Duration) *time.Time { at := time.Now().Add(-d); return &at }
	for _, tc := range []struct {
		name   string
		job    rivertype.JobRow
		atOnce bool
	}{
		{"outlived its timeout (rescued)", rivertype.JobRow{AttemptedAt: ago(time.Minute), Errors: make([]rivertype.AttemptError, 4)}, true},
		{"failed quickly", rivertype.JobRow{AttemptedAt: ago(time.Second), Errors: make([]rivertype.AttemptError, 4)}, false},
		{"never attempted", rivertype.JobRow{Errors: make([]rivertype.AttemptError, 4)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wait := time.Until(NextRetry(&tc.job, 30*time.Second))
			if got := wait <= Continue; got != tc.atOnce {
				t.Errorf("retry in %s; at once = %v, want %v", wait, got, tc.atOnce)
			}
		})
	}
}

func TestSlice(t *testing.T) {
	t.Parallel()
	if SliceUsed(context.Background()) {
		t.Error("work without a slice reported its slice used")
	}
	if SliceUsed(WithSlice(context.Background(), time.Hour)) {
		t.Error("a fresh slice reported used")
	}
	if !SliceUsed(WithSlice(context.Background(), -time.Millisecond)) {
		t.Error("an ended slice reported unused")
	}
}
