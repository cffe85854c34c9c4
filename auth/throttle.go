package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// FailureThrottle limits failed authentications per client address across
// replicas: past Limit failures within Window an address is refused (429
// with Retry-After) before its credential is even looked at, until the
// window ends. Without it a client could try thousands of wrong keys a
// second. The counters are fixed windows in Redis (INCR with an expiry),
// shared by every replica.
type FailureThrottle struct {
	rdb    *redis.Client
	prefix string
	limit  int64
	window time.Duration
}

// NewFailureThrottle counts in rdb under prefix (keys are prefix +
// "authfail:" + address); limit failures per window.
func NewFailureThrottle(rdb *redis.Client, prefix string, limit int, window time.Duration) *FailureThrottle {
	return &FailureThrottle{rdb: rdb, prefix: prefix, limit: int64(limit), window: window}
}

func (t *FailureThrottle) key(addr string) string { return t.prefix + "authfail:" + addr }

// Refused reports whether addr has used up its failures, and for how long
// it stays refused. A Redis error is returned: callers fail open on it (the
// credential is still verified), as a Redis outage must not lock everyone
// out.
func (t *FailureThrottle) Refused(ctx context.Context, addr string) (time.Duration, bool, error) {
	n, err := t.rdb.Get(ctx, t.key(addr)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("auth.FailureThrottle.Refused: %w", err)
	}
	if n < t.limit {
		return 0, false, nil
	}
	ttl, err := t.rdb.PTTL(ctx, t.key(addr)).Result()
	if err != nil {
		return 0, false, fmt.Errorf("auth.FailureThrottle.Refused: %w", err)
	}
	if ttl <= 0 {
		ttl = t.window
	}
	return ttl, true, nil
}

// Failed counts one failed authentication of addr.
func (t *FailureThrottle) Failed(ctx context.Context, addr string) error {
	pipe := t.rdb.TxPipeline()
	pipe.Incr(ctx, t.key(addr))
	pipe.ExpireNX(ctx, t.key(addr), t.window)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("auth.FailureThrottle.Failed: %w", err)
	}
	return nil
}
