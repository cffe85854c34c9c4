package screens

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// allow counts one request of a token in the current minute (a fixed
// window in Redis, shared by every replica) and reports whether it is
// within the limit. The key holds a hash of the token, never the token.
// When Redis fails the request is allowed: a screen keeps working, and
// every request is still a token lookup in Postgres.
func (s *Service) allow(ctx context.Context, token string) (bool, time.Duration) {
	now := s.cfg.Now()
	window := now.Truncate(time.Minute)
	sum := sha256.Sum256([]byte(token))
	key := s.cfg.RedisPrefix + "screens:rl:" + hex.EncodeToString(sum[:12]) + ":" + strconv.FormatInt(window.Unix(), 10)
	pipe := s.cfg.Redis.TxPipeline()
	incr := pipe.Incr(ctx, key)
	pipe.Expire(ctx, key, 2*time.Minute)
	if _, err := pipe.Exec(ctx); err != nil {
		s.log.WarnContext(ctx, "screen rate limit unavailable; allowing", "error", err.Error())
		return true, 0
	}
	if incr.Val() > int64(s.cfg.RateLimit) {
		return false, window.Add(time.Minute).Sub(now)
	}
	return true, 0
}
