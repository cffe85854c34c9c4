package zoom

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultLocalRateFraction is the part of the rate share one replica allows
// itself while Redis, and with it the shared limiter, is unreachable. Every
// replica falls back alike and none knows how many others there are, so
// the fraction must be small enough that all of them together stay within
// the share: 0.1 holds for up to ten replicas.
const DefaultLocalRateFraction = 0.1

// redisProbeInterval is how long calls skip an unreachable Redis (cache and
// shared limiter) before one of them tries it again: a Redis that hangs
// instead of refusing would otherwise cost every call a dial timeout.
const redisProbeInterval = time.Second

// redisResting reports whether Redis failed within the probe interval, so
// this call skips the cache and paces itself by the local limiter.
func (c *Client) redisResting() bool {
	return c.redisDown.Load() && time.Now().UnixNano() < c.redisProbeAt.Load()
}

// redisFailed notes a failed Redis call: the next probe interval goes
// without Redis, and the first failure of an outage is logged.
func (c *Client) redisFailed(ctx context.Context, err error) {
	c.redisProbeAt.Store(time.Now().Add(redisProbeInterval).UnixNano())
	if !c.redisDown.Swap(true) {
		c.log.WarnContext(ctx, "zoom: Redis is unreachable; calls skip the cache and are paced locally at a fraction of the rate share until it returns",
			"fraction", c.local.fraction, "error", err.Error())
	}
}

// redisBack notes that Redis answers again.
func (c *Client) redisBack(ctx context.Context) {
	if c.redisDown.Swap(false) {
		c.log.InfoContext(ctx, "zoom: Redis is reachable again; the cache and the shared rate limiter are back")
	}
}

// localLimiters pace calls in process while the shared Redis limiter is
// down, so syncs and signage pushes go on at a conservative rate instead
// of all failing (and no replica turns a Redis outage into a 429 storm at
// Zoom). One limiter per account and label, like the shared buckets.
type localLimiters struct {
	fraction float64

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

func newLocalLimiters(fraction float64) *localLimiters {
	if fraction <= 0 || fraction > 1 {
		fraction = DefaultLocalRateFraction
	}
	return &localLimiters{fraction: fraction, limiters: map[string]*rate.Limiter{}}
}

// limiter returns key's limiter at fraction of perSec (the replica's share).
func (l *localLimiters) limiter(key string, perSec float64) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.limiters[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(perSec*l.fraction), 1)
		l.limiters[key] = lim
	}
	return lim
}

// wait takes a slot of key's local limiter, or fails without waiting when
// the slot comes after ctx's deadline (as the shared limiter does).
func (l *localLimiters) wait(ctx context.Context, key string, perSec float64) (time.Duration, bool) {
	r := l.limiter(key, perSec).Reserve()
	delay := r.Delay()
	if dl, ok := ctx.Deadline(); ok && time.Now().Add(delay).After(dl) {
		r.Cancel()
		return delay, false
	}
	if err := sleepCtx(ctx, delay); err != nil {
		r.Cancel()
		return delay, false
	}
	return delay, true
}
