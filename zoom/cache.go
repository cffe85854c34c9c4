package zoom

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// CacheTTLs are the lifetimes of cached GET responses per resource. Zero
// takes the default; a negative value turns caching of that resource off.
type CacheTTLs struct {
	RoomsList time.Duration // GET /rooms pages; default 30 s
	Room      time.Duration // GET /rooms/{id}; default 60 s
	Devices   time.Duration // GET /rooms/{id}/devices; default 5 min
	Settings  time.Duration // GET /rooms/{id}/settings; default 60 s
}

func (t CacheTTLs) withDefaults() CacheTTLs {
	def := func(v, d time.Duration) time.Duration {
		if v == 0 {
			return d
		}
		return v
	}
	return CacheTTLs{
		RoomsList: def(t.RoomsList, 30*time.Second),
		Room:      def(t.Room, 60*time.Second),
		Devices:   def(t.Devices, 5*time.Minute),
		Settings:  def(t.Settings, 60*time.Second),
	}
}

// cacheSpec says how one GET is cached.
type cacheSpec struct {
	resource string // metrics label: rooms, room, devices, settings
	roomID   string // the room whose writes drop the entry; "" for the list
	ttl      time.Duration
}

// storeIfGen stores a response only if the scope's generation is still the
// one read before the call, so a GET that raced a write cannot put back the
// value the write just dropped. It also releases the fill lock if held.
var storeIfGen = redis.NewScript(`
local cur = redis.call('GET', KEYS[2])
if not cur then cur = '' end
if cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
if redis.call('GET', KEYS[3]) == ARGV[4] then
  redis.call('DEL', KEYS[3])
end
return 0
`)

// cachedGet answers a GET from the Redis cache, or makes the call once for
// all concurrent identical callers: in process through singleflight, and
// across replicas through a short Redis fill lock (a replica that finds the
// lock taken waits for the other's result up to CacheLockTTL). Redis trouble
// never fails the call; it only costs the cache.
func (a *AccountClient) cachedGet(ctx context.Context, r request, spec cacheSpec) ([]byte, error) {
	c := a.c
	key := c.cacheKey(a.acc.ZoomAccountID, spec.roomID, r)
	if a.acc.NoCache {
		return a.send(ctx, r)
	}
	useRedis := c.rdb != nil && spec.ttl > 0 && !c.redisResting()
	if useRedis {
		if b, err := c.rdb.Get(ctx, key).Bytes(); err == nil {
			c.metrics.cache.WithLabelValues(spec.resource, "hit").Inc()
			return b, nil
		} else if !errors.Is(err, redis.Nil) {
			c.redisFailed(ctx, err)
			useRedis = false
		}
	}
	c.metrics.cache.WithLabelValues(spec.resource, "miss").Inc()
	// The shared call must not die with the first caller's cancellation,
	// but it keeps that caller's deadline so retries stay bounded.
	ch := c.flight.DoChan(key, func() (any, error) {
		fctx := context.WithoutCancel(ctx)
		var cancel context.CancelFunc = func() {}
		if dl, ok := ctx.Deadline(); ok {
			fctx, cancel = context.WithDeadline(fctx, dl)
		}
		defer cancel()
		if !useRedis {
			return a.send(fctx, r)
		}
		return a.fill(fctx, r, spec, key)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]byte), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// fill makes the call under the cross-replica fill lock and stores the
// result if no write dropped the scope meanwhile.
func (a *AccountClient) fill(ctx context.Context, r request, spec cacheSpec, key string) ([]byte, error) {
	c := a.c
	lockKey := key + ":lock"
	owner := randomID()
	got, err := c.rdb.SetNX(ctx, lockKey, owner, c.lockTTL).Result()
	if err == nil && !got {
		if b, ok := c.awaitFill(ctx, key, lockKey); ok {
			return b, nil
		}
	}
	genKey := c.genKey(a.acc.ZoomAccountID, spec.roomID)
	gen, err := c.rdb.Get(ctx, genKey).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		gen = "unreadable" // never matches: do not store
	}
	body, callErr := a.send(ctx, r)
	if callErr != nil {
		if got {
			c.rdb.Del(context.WithoutCancel(ctx), lockKey)
		}
		return nil, callErr
	}
	err = storeIfGen.Run(context.WithoutCancel(ctx), c.rdb, []string{key, genKey, lockKey},
		gen, body, spec.ttl.Milliseconds(), owner).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		c.log.WarnContext(ctx, "zoom: cache write failed", "resource", spec.resource, "error", err)
	}
	return body, nil
}

// awaitFill polls for another replica's result while its fill lock lives.
func (c *Client) awaitFill(ctx context.Context, key, lockKey string) ([]byte, bool) {
	deadline := time.Now().Add(c.lockTTL)
	for time.Now().Before(deadline) {
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return nil, false
		}
		if b, err := c.rdb.Get(ctx, key).Bytes(); err == nil {
			return b, true
		}
		if n, err := c.rdb.Exists(ctx, lockKey).Result(); err != nil || n == 0 {
			// The other replica failed or stored nothing; call ourselves.
			if b, err := c.rdb.Get(ctx, key).Bytes(); err == nil {
				return b, true
			}
			return nil, false
		}
	}
	return nil, false
}

// InvalidateRoom drops every cached response about the room for the account
// and makes in-flight GETs of it unable to store what they read. Writes made
// through the client call it themselves; the sync engine may call it when a
// webhook says the room changed.
func (a *AccountClient) InvalidateRoom(ctx context.Context, roomID string) error {
	c := a.c
	if c.rdb == nil {
		return nil
	}
	acct := a.acc.ZoomAccountID
	keys := []string{
		c.cacheKey(acct, roomID, getRoomRequest(roomID)),
		c.cacheKey(acct, roomID, devicesRequest(roomID)),
		c.cacheKey(acct, roomID, getSettingsRequest(roomID)),
	}
	genKey := c.genKey(acct, roomID)
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, genKey)
		// Outlive every TTL so a slow GET still sees the bump.
		p.Expire(ctx, genKey, time.Hour)
		p.Del(ctx, keys...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("zoom.InvalidateRoom: %w", err)
	}
	return nil
}

// cacheKey names a response: account, scope (room or list) and a hash of
// method, path and query (page tokens can be long).
func (c *Client) cacheKey(account, roomID string, r request) string {
	h := sha256.New()
	h.Write([]byte(r.method + " " + r.path + "?" + r.query.Encode()))
	sum := hex.EncodeToString(h.Sum(nil))[:32]
	if roomID == "" {
		return c.key("cache", account, "rooms", sum)
	}
	return c.key("cache", account, "room", roomID, sum)
}

func (c *Client) genKey(account, roomID string) string {
	if roomID == "" {
		return c.key("cachegen", account, "rooms")
	}
	return c.key("cachegen", account, "room", roomID)
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
