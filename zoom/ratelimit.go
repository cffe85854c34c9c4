package zoom

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// DefaultRateLimits returns Zoom's per-second limits by plan and label
// (zoom-api.md, "Rate limits"). The limits belong to the Zoom account and are
// shared with every other app the customer runs, which is why the client
// only takes a share of them.
func DefaultRateLimits() map[Plan]map[RateLabel]float64 {
	return map[Plan]map[RateLabel]float64{
		PlanFree:     {Light: 4, Medium: 2, Heavy: 1},
		PlanPro:      {Light: 30, Medium: 20, Heavy: 10},
		PlanBusiness: {Light: 80, Medium: 60, Heavy: 40},
	}
}

// rateLimit returns the GCRA limit for the account's plan and label: the
// configured share of the plan's rate, as one request per emission interval
// with a burst of one, so the gateway's traffic is smooth and its aggregate
// across replicas never exceeds the share even for an instant.
func (c *Client) rateLimit(plan Plan, label RateLabel) (redis_rate.Limit, bool) {
	rate, ok := c.sharedRate(plan, label)
	if !ok {
		return redis_rate.Limit{}, false
	}
	return redis_rate.Limit{Rate: 1, Burst: 1, Period: time.Duration(float64(time.Second) / rate)}, true
}

// sharedRate is the requests per second all replicas together allow
// themselves for the plan and label: the configured share of Zoom's limit.
func (c *Client) sharedRate(plan Plan, label RateLabel) (float64, bool) {
	perSec := c.limits[plan][label]
	if perSec <= 0 {
		perSec = c.limits[PlanPro][label]
	}
	rate := perSec * c.share
	if rate <= 0 || math.IsInf(rate, 0) || math.IsNaN(rate) {
		return 0, false
	}
	return rate, true
}

// waitForSlot takes one slot of the Redis GCRA bucket of (Zoom account,
// label), waiting as long as the bucket says, but never past ctx's deadline:
// when the next slot comes too late the call fails as rate limited without
// reaching Zoom. A daily-limit block recorded by any replica fails the call
// at once.
func (c *Client) waitForSlot(ctx context.Context, acc Account, label RateLabel) error {
	if c.limiter == nil || acc.ZoomAccountID == "" {
		// No Redis, or an account not known yet (GET /users/me right
		// after a Marketplace code exchange): nothing to share a budget
		// with.
		return nil
	}
	limit, ok := c.rateLimit(acc.Plan, label)
	if !ok {
		return nil
	}
	if c.redisResting() {
		return c.waitLocally(ctx, acc, label, nil)
	}
	if until, err := c.rdb.Get(ctx, c.blockKey(acc, label)).Time(); err == nil && until.After(c.now()) {
		return &Error{HTTPStatus: 429, Code: CodeRateLimited, Daily: true, Local: true, RetryAt: until,
			Message: "daily rate limit of the Zoom account reached"}
	} else if err != nil && !errors.Is(err, redis.Nil) {
		return c.waitLocally(ctx, acc, label, err)
	}
	start := time.Now()
	defer func() { c.metrics.limiterWait.WithLabelValues(string(label)).Observe(time.Since(start).Seconds()) }()
	key := c.key("rl", acc.ZoomAccountID, string(label))
	for {
		res, err := c.limiter.Allow(ctx, key, limit)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
			}
			return c.waitLocally(ctx, acc, label, err)
		}
		c.redisBack(ctx)
		if res.Allowed > 0 {
			return nil
		}
		wait := res.RetryAfter
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return &Error{HTTPStatus: 429, Code: CodeRateLimited, Local: true, RetryAt: c.now().Add(wait),
				Message: "no slot of the shared rate limiter before the deadline"}
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
}

// waitLocally paces a call by the in-process fallback limiter because the
// shared one could not be reached (redisErr). The daily-limit blocks other
// replicas recorded are unreadable too; Zoom's own 429s still stop the
// call, and are honoured by the retry loop.
func (c *Client) waitLocally(ctx context.Context, acc Account, label RateLabel, redisErr error) error {
	if redisErr != nil {
		c.redisFailed(ctx, redisErr)
	}
	c.metrics.limiterFallback.WithLabelValues(string(label)).Inc()
	rate, ok := c.sharedRate(acc.Plan, label)
	if !ok {
		return nil
	}
	delay, ok := c.local.wait(ctx, acc.ZoomAccountID+"/"+string(label), rate)
	if ok {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	return &Error{HTTPStatus: 429, Code: CodeRateLimited, Local: true, RetryAt: c.now().Add(delay),
		Message: "no slot of the local fallback rate limiter before the deadline"}
}

// blockUntil records, for every replica, that Zoom's daily limit of (account,
// label) is exhausted until until, so later calls fail fast instead of
// spending requests on certain 429s.
func (c *Client) blockUntil(ctx context.Context, acc Account, label RateLabel, until time.Time) {
	if c.rdb == nil || until.IsZero() {
		return
	}
	ttl := until.Sub(c.now())
	if ttl <= 0 {
		return
	}
	if err := c.rdb.Set(context.WithoutCancel(ctx), c.blockKey(acc, label), until, ttl).Err(); err != nil {
		c.log.WarnContext(ctx, "zoom: cannot record daily rate limit", "label", string(label), "error", err)
	}
}

func (c *Client) blockKey(acc Account, label RateLabel) string {
	return c.key("rlblock", acc.ZoomAccountID, string(label))
}
