package screens

import (
	"testing"
	"time"

	"zoomsignage/internal/testutil/clocktest"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestScheduleAcrossTimezonesAndDST: windows are wall-clock times in the
// playlist's timezone, on both sides of DST changes, past midnight, and
// on days the clock skips or repeats an hour; the next change is the
// instant the answer flips.
func TestScheduleAcrossTimezonesAndDST(t *testing.T) {
	weekdays := []Window{{Days: []string{"MON", "TUE", "WED", "THU", "FRI"}, Start: "08:00", End: "18:30"}}
	tests := []struct {
		name    string
		tz      string
		windows []Window
		at      string // UTC
		active  bool
		nextUTC string // "" = never
	}{
		{"no schedule plays always", "UTC", nil, "2026-03-04T03:00:00Z", true, ""},
		{"New York weekday morning, winter (EST, UTC-5)", "America/New_York", weekdays, "2026-03-06T13:00:00Z", true, "2026-03-06T23:30:00Z"},
		{"New York before opening, winter", "America/New_York", weekdays, "2026-03-06T12:59:00Z", false, "2026-03-06T13:00:00Z"},
		// DST starts on Sunday 2026-03-08: Monday opens at 08:00 EDT = 12:00 UTC.
		{"New York Friday evening: next opening is Monday after DST", "America/New_York", weekdays, "2026-03-06T23:30:00Z", false, "2026-03-09T12:00:00Z"},
		{"New York Monday after DST at 12:30 UTC is 08:30 EDT", "America/New_York", weekdays, "2026-03-09T12:30:00Z", true, "2026-03-09T22:30:00Z"},
		// Europe's DST ends on Sunday 2026-10-25: Monday 08:00 CET = 07:00 UTC.
		{"Paris Friday before DST ends (CEST, UTC+2)", "Europe/Paris", weekdays, "2026-10-23T06:00:00Z", true, "2026-10-23T16:30:00Z"},
		{"Paris Monday after DST ends (CET, UTC+1)", "Europe/Paris", weekdays, "2026-10-26T06:30:00Z", false, "2026-10-26T07:00:00Z"},
		{"Tokyo has no DST (UTC+9)", "Asia/Tokyo", weekdays, "2026-03-08T23:00:00Z", true, "2026-03-09T09:30:00Z"},
		{"Kathmandu is UTC+5:45", "Asia/Kathmandu", weekdays, "2026-03-09T02:14:00Z", false, "2026-03-09T02:15:00Z"},
		{"weekend closed", "UTC", weekdays, "2026-03-07T12:00:00Z", false, "2026-03-09T08:00:00Z"},
		{"past midnight: Friday 22:00 to 02:00, Saturday 01:00", "UTC",
			[]Window{{Days: []string{"FRI"}, Start: "22:00", End: "02:00"}}, "2026-03-07T01:00:00Z", true, "2026-03-07T02:00:00Z"},
		{"past midnight: Saturday 23:00 is not Friday's window", "UTC",
			[]Window{{Days: []string{"FRI"}, Start: "22:00", End: "02:00"}}, "2026-03-07T23:00:00Z", false, "2026-03-13T22:00:00Z"},
		{"until 24:00 ends at midnight", "UTC",
			[]Window{{Days: []string{"WED"}, Start: "20:00", End: "24:00"}}, "2026-03-04T23:59:00Z", true, "2026-03-05T00:00:00Z"},
		// New York skips 02:00–03:00 on 2026-03-08: a 02:30 start begins at
		// 03:00 EDT (07:00 UTC), when the clock resumes.
		{"a start inside the skipped hour begins when the clock resumes", "America/New_York",
			[]Window{{Days: []string{"SUN"}, Start: "02:30", End: "05:00"}}, "2026-03-08T06:59:00Z", false, "2026-03-08T07:00:00Z"},
		// New York repeats 01:00–02:00 on 2026-11-01: a window to 01:30 ends
		// at the first 01:30 (EDT, 05:30 UTC) and is open again during the
		// repeated hour's first half (01:00 EST = 06:00 UTC).
		{"the repeated hour is open again", "America/New_York",
			[]Window{{Days: []string{"SUN"}, Start: "00:00", End: "01:30"}}, "2026-11-01T06:10:00Z", true, "2026-11-01T06:30:00Z"},
		{"two windows: lunch gap", "Europe/London",
			[]Window{{Days: []string{"MON"}, Start: "09:00", End: "12:00"}, {Days: []string{"MON"}, Start: "13:00", End: "17:00"}},
			"2026-03-02T12:30:00Z", false, "2026-03-02T13:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidateWindows(tc.windows); err != nil {
				t.Fatal(err)
			}
			at, _ := time.Parse(time.RFC3339, tc.at)
			clock := clocktest.At(at)
			s := Schedule{Location: mustLoad(t, tc.tz), Windows: tc.windows}
			active, next := s.At(clock.Now())
			got := ""
			if !next.IsZero() {
				got = next.UTC().Format(time.RFC3339)
			}
			if active != tc.active || got != tc.nextUTC {
				t.Fatalf("At(%s) = %v, next %q; want %v, next %q", tc.at, active, got, tc.active, tc.nextUTC)
			}
			// The fake clock moved to the announced change sees the flip,
			// and a minute before it the old answer.
			if !next.IsZero() {
				clock.Advance(next.Sub(clock.Now()) - time.Minute)
				if before, _ := s.At(clock.Now()); before != tc.active {
					t.Fatalf("a minute before the change: %v", before)
				}
				clock.Advance(time.Minute)
				if after, _ := s.At(clock.Now()); after == tc.active {
					t.Fatalf("at the change (%s) still %v", clock.Now().UTC().Format(time.RFC3339), after)
				}
			}
		})
	}
}

func TestScheduleValidation(t *testing.T) {
	bad := []Window{
		{Days: nil, Start: "08:00", End: "09:00"},
		{Days: []string{"MONDAY"}, Start: "08:00", End: "09:00"},
		{Days: []string{"MON"}, Start: "8:00", End: "09:00"},
		{Days: []string{"MON"}, Start: "24:00", End: "09:00"},
		{Days: []string{"MON"}, Start: "08:00", End: "24:01"},
		{Days: []string{"MON"}, Start: "08:60", End: "09:00"},
		{Days: []string{"MON"}, Start: "08:00", End: "08:00"},
	}
	for _, w := range bad {
		if err := ValidateWindows([]Window{w}); err == nil {
			t.Errorf("%+v accepted", w)
		}
	}
	for _, tz := range []string{"Mars/Olympus", "Local", "+02:00"} {
		if _, err := LoadLocation(tz); err == nil {
			t.Errorf("timezone %q accepted", tz)
		}
	}
}
