package zoomsim

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLabel is Zoom's rate-limit label of an operation.
type RateLabel string

// Rate labels.
const (
	Light  RateLabel = "Light"
	Medium RateLabel = "Medium"
	Heavy  RateLabel = "Heavy"
)

// Limit is one label's budget: PerSecond requests in any one-second window
// and, when Daily > 0, Daily requests per UTC day. PerSecond <= 0 means
// unlimited.
type Limit struct {
	PerSecond int `json:"per_second"`
	Daily     int `json:"daily,omitempty"`
}

// Limits maps labels to budgets.
type Limits map[RateLabel]Limit

// planLimits() are the presets of zoom-api.md's table.
func planLimits() map[Plan]Limits {
	return map[Plan]Limits{
		PlanFree:     {Light: {4, 6000}, Medium: {2, 2000}, Heavy: {1, 1000}},
		PlanPro:      {Light: {30, 0}, Medium: {20, 0}, Heavy: {10, 0}},
		PlanBusiness: {Light: {80, 0}, Medium: {60, 0}, Heavy: {40, 0}},
	}
}

// PlanLimits returns a copy of a plan's preset limits.
func PlanLimits(p Plan) Limits {
	out := Limits{}
	for k, v := range planLimits()[p] {
		out[k] = v
	}
	return out
}

// bucket tracks one (account, label): the times of the last PerSecond
// allowed requests (a ring, so the check is exact over any sliding
// second) and the day's count.
type bucket struct {
	limit Limit
	ring  []time.Time
	head  int // index of the oldest entry once full
	n     int
	day   int64
	daily int
	// served counts allowed requests; first/last bound them.
	served      int
	first, last time.Time
	times       []time.Time // most recent served times, capped
}

const maxServedTimes = 100_000

type limiter struct {
	mu      sync.Mutex
	buckets map[string]map[RateLabel]*bucket
}

func (l *limiter) init() { l.buckets = map[string]map[RateLabel]*bucket{} }

func (l *limiter) setPlan(accountID string, p Plan) { l.set(accountID, PlanLimits(p)) }

// set replaces an account's limits for the labels given.
func (l *limiter) set(accountID string, lim Limits) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.buckets[accountID]
	if m == nil {
		m = map[RateLabel]*bucket{}
		l.buckets[accountID] = m
	}
	for label, v := range lim {
		b := m[label]
		if b == nil {
			b = &bucket{}
			m[label] = b
		}
		b.limit = v
		b.ring = make([]time.Time, max(v.PerSecond, 0))
		b.head, b.n = 0, 0
	}
}

// allow takes one request from the bucket or writes a 429.
func (l *limiter) allow(w http.ResponseWriter, accountID string, label RateLabel, now time.Time, headers bool) bool {
	l.mu.Lock()
	b := l.buckets[accountID][label]
	if b == nil {
		l.mu.Unlock()
		return true
	}
	day := now.UTC().Unix() / 86400
	if day != b.day {
		b.day, b.daily = day, 0
	}
	lim := b.limit
	if lim.Daily > 0 && b.daily >= lim.Daily {
		l.mu.Unlock()
		reset := time.Unix((day+1)*86400, 0).UTC()
		writeRateLimited(w, label, "Daily-limit", lim.Daily, 0, reset.Format(http.TimeFormat), headers,
			"You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request.")
		return false
	}
	if lim.PerSecond > 0 && b.n == lim.PerSecond {
		oldest := b.ring[b.head]
		if wait := oldest.Add(time.Second).Sub(now); wait > 0 {
			l.mu.Unlock()
			secs := int(math.Ceil(wait.Seconds()))
			writeRateLimited(w, label, "QPS", lim.PerSecond, 0, strconv.Itoa(secs), headers,
				"You have reached the maximum per-second rate limit for this API. Try again later.")
			return false
		}
	}
	if lim.PerSecond > 0 {
		if b.n < lim.PerSecond {
			b.ring[(b.head+b.n)%lim.PerSecond] = now
			b.n++
		} else {
			b.ring[b.head] = now
			b.head = (b.head + 1) % lim.PerSecond
		}
	}
	b.daily++
	b.record(now)
	l.mu.Unlock()
	return true
}

func (b *bucket) record(now time.Time) {
	if b.served == 0 {
		b.first = now
	}
	b.served++
	b.last = now
	if len(b.times) >= maxServedTimes {
		b.times = b.times[maxServedTimes/2:]
	}
	b.times = append(b.times, now)
}

func writeRateLimited(w http.ResponseWriter, label RateLabel, typ string, limit, remaining int, retryAfter string, headers bool, msg string) {
	if headers {
		h := w.Header()
		h.Set("X-RateLimit-Category", string(label))
		h.Set("X-RateLimit-Type", typ)
		h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("Retry-After", retryAfter)
	}
	writeError(w, &apiError{status: http.StatusTooManyRequests, Code: CodeRateLimited, Message: msg})
}

// SetLimits overrides an account's limits for the labels given (others
// keep their plan preset), e.g. Limits{Medium: {PerSecond: 20}}. It
// resets the per-second windows of those labels.
func (s *Sim) SetLimits(ctx context.Context, accountID string, lim Limits) error {
	if err := ctxDone(ctx); err != nil {
		return err
	}
	s.mu.RLock()
	_, ok := s.accounts[accountID]
	s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: account %q", ErrNotFound, accountID)
	}
	s.limiter.set(accountID, lim)
	return nil
}

// Served reports what the rate limiter let through for an account and
// label: the count and the times of the first and last request, so a
// benchmark can compute the served rate.
type Served struct {
	Count       int       `json:"count"`
	First, Last time.Time `json:"-"`
}

// Served returns the requests served (allowed past the rate limiter) for
// an account, per label.
func (s *Sim) Served(accountID string) map[RateLabel]Served {
	s.limiter.mu.Lock()
	defer s.limiter.mu.Unlock()
	out := map[RateLabel]Served{}
	for label, b := range s.limiter.buckets[accountID] {
		out[label] = Served{Count: b.served, First: b.first, Last: b.last}
	}
	return out
}

// ServedTimes returns the times of the most recent served requests (up to
// 100,000) for an account and label, oldest first.
func (s *Sim) ServedTimes(accountID string, label RateLabel) []time.Time {
	s.limiter.mu.Lock()
	defer s.limiter.mu.Unlock()
	b := s.limiter.buckets[accountID][label]
	if b == nil {
		return nil
	}
	return append([]time.Time(nil), b.times...)
}
