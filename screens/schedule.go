package screens

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // playlist timezones resolve on hosts without a zoneinfo database

	"zoomsignage/apierror"
)

// Limits of a schedule.
const (
	maxWindows = 50
	minutesDay = 24 * 60
)

// Window is one weekly schedule window: on each of Days, from Start to End
// (wall-clock "HH:MM" in the playlist's timezone; End "24:00" is midnight).
// An End before its Start runs past midnight into the next day.
type Window struct {
	Days  []string `json:"days"` // MON … SUN
	Start string   `json:"start"`
	End   string   `json:"end"`
}

// weekdays maps the API's day names to Go's.
var weekdays = map[string]time.Weekday{
	"SUN": time.Sunday, "MON": time.Monday, "TUE": time.Tuesday, "WED": time.Wednesday,
	"THU": time.Thursday, "FRI": time.Friday, "SAT": time.Saturday,
}

// Schedule is when a playlist plays: its windows in its timezone; no
// windows means always.
type Schedule struct {
	Location *time.Location
	Windows  []Window
}

// window is a Window parsed: a day set and minutes since local midnight.
type window struct {
	days       [7]bool
	start, end int
}

// parseClock reads "HH:MM" (00:00 to 24:00).
func parseClock(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return hh*60 + mm, true
}

// LoadLocation resolves a playlist timezone (IANA name; "" is UTC).
func LoadLocation(name string) (*time.Location, error) {
	if name == "" {
		name = "UTC"
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, apierror.Invalid("input.timezone", "timezone %q is not an IANA timezone name such as Europe/Paris", name)
	}
	return loc, nil
}

// ValidateWindows checks windows as the API receives them.
func ValidateWindows(ws []Window) error {
	if len(ws) > maxWindows {
		return apierror.Invalid("input.schedule", "at most %d schedule windows", maxWindows)
	}
	for i, w := range ws {
		field := fmt.Sprintf("input.schedule[%d]", i)
		if len(w.Days) == 0 {
			return apierror.Invalid(field+".days", "give at least one day")
		}
		for _, d := range w.Days {
			if _, ok := weekdays[d]; !ok {
				return apierror.Invalid(field+".days", "unknown day %q", d)
			}
		}
		start, ok1 := parseClock(w.Start)
		end, ok2 := parseClock(w.End)
		if !ok1 || start == minutesDay {
			return apierror.Invalid(field+".start", "start must be a time of day as HH:MM, 00:00 to 23:59")
		}
		if !ok2 {
			return apierror.Invalid(field+".end", "end must be a time of day as HH:MM, 00:00 to 24:00")
		}
		if start == end {
			return apierror.Invalid(field+".end", "a window must not start and end at the same time")
		}
	}
	return nil
}

func (s Schedule) parsed() []window {
	out := make([]window, 0, len(s.Windows))
	for _, w := range s.Windows {
		var p window
		for _, d := range w.Days {
			if wd, ok := weekdays[d]; ok {
				p.days[wd] = true
			}
		}
		p.start, _ = parseClock(w.Start)
		p.end, _ = parseClock(w.End)
		out = append(out, p)
	}
	return out
}

// activeAt reports whether any window covers the wall-clock time local.
func activeAt(ws []window, local time.Time) bool {
	day := local.Weekday()
	prev := (day + 6) % 7
	m := local.Hour()*60 + local.Minute()
	for _, w := range ws {
		if w.start < w.end {
			if w.days[day] && m >= w.start && m < w.end {
				return true
			}
			continue
		}
		// Past midnight: the evening of a listed day, or the early hours
		// of the day after one.
		if (w.days[day] && m >= w.start) || (w.days[prev] && m < w.end) {
			return true
		}
	}
	return false
}

// At reports whether the schedule plays at t and when that next changes
// (zero when it never does). Windows are wall-clock times in the
// schedule's timezone, so a 08:00 start is 08:00 on both sides of a DST
// change; a start inside a skipped hour begins when the clock resumes.
func (s Schedule) At(t time.Time) (bool, time.Time) {
	ws := s.parsed()
	if len(ws) == 0 {
		return true, time.Time{}
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	now := activeAt(ws, local)
	// Candidate changes: every window edge on the next eight local days.
	var edges []time.Time
	y, mo, d := local.Date()
	for off := 0; off <= 8; off++ {
		for _, w := range ws {
			for _, m := range []int{w.start, w.end} {
				e := time.Date(y, mo, d+off, m/60, m%60, 0, 0, loc)
				edges = append(edges, e)
				// A wall-clock time the clock repeats (DST ending) is an
				// edge at each occurrence.
				for _, shift := range []time.Duration{30 * time.Minute, time.Hour} {
					if again := e.Add(shift).In(loc); again.Hour() == e.Hour() && again.Minute() == e.Minute() {
						edges = append(edges, again)
					}
				}
			}
		}
	}
	// And the timezone's offset changes: a window starting inside a
	// skipped hour begins at the change.
	horizon := t.AddDate(0, 0, 9)
	for z := local; z.Before(horizon); {
		_, end := z.ZoneBounds()
		if end.IsZero() {
			break
		}
		edges = append(edges, end)
		z = end.In(loc)
	}
	sort.Slice(edges, func(i, j int) bool { return edges[i].Before(edges[j]) })
	for _, e := range edges {
		if !e.After(t) {
			continue
		}
		if activeAt(ws, e.In(loc)) != now {
			return now, e
		}
	}
	return now, time.Time{}
}
