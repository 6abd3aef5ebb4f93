package cache

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/llmrouter/caddy-llm-router/internal/redisurl"
	goredis "github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every Redis key and channel of the cache.
const DefaultRedisPrefix = "llm_router:cache:"

// MaxRedisEntry is the largest answer shared through Redis; a larger one
// is answered but not stored.
const MaxRedisEntry = 16 << 20

// redisDownFor is how long Redis is left alone after a failed round trip:
// meanwhile lookups miss and nothing is stored, without waiting for a
// timeout on every request.
var redisDownFor = time.Second

// recheckEvery is how often a request waiting for another instance's
// answer looks at Redis itself, in case the notice was lost.
var recheckEvery = time.Second

// Redis is a store shared by every process that names the same Redis:
// entries are Redis strings with a TTL, `<prefix><key hex>`; a request
// leading a flight holds `<prefix>lock:<key hex>`, and its release is
// published on `<prefix>done`, so that the identical requests of every
// instance wait for one upstream answer.
type Redis struct {
	poolKey string
	b       *redisBackend
}

// redisPool shares one client and one subscription among the configs that
// name the same URL and prefix, across reloads.
var redisPool = caddy.NewUsagePool()

// OpenRedis connects (lazily: an unreachable Redis fails no config) to the
// Redis at rawURL (`redis://[user:password@]host:port[/db]`, `rediss://`
// for TLS). prefix defaults to DefaultRedisPrefix. Close releases it.
func OpenRedis(rawURL, prefix string) (*Redis, error) {
	opt, err := ParseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	sum := sha256.Sum256([]byte(rawURL)) // the URL may hold a password: pooled by hash
	key := hex.EncodeToString(sum[:]) + "|" + prefix
	v, _, err := redisPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		return &redisBackend{client: goredis.NewClient(opt), prefix: prefix, waiters: make(map[Key][]chan struct{})}, nil
	})
	if err != nil {
		return nil, err
	}
	return &Redis{poolKey: key, b: v.(*redisBackend)}, nil
}

// ParseRedisURL checks a Redis URL and returns its client options, with
// short timeouts by default: the cache must not hold a request up long.
func ParseRedisURL(raw string) (*goredis.Options, error) {
	opt, _, err := redisurl.Parse(raw, "cache redis", time.Second)
	return opt, err
}

// Close leaves the shared client; the last config to leave closes it.
func (r *Redis) Close() error {
	if r.b == nil {
		return nil
	}
	r.b = nil
	_, err := redisPool.Delete(r.poolKey)
	return err
}

// RoundTrips counts the commands sent to Redis by every config sharing
// this one's client (for tests).
func (r *Redis) RoundTrips() uint64 { return r.b.trips.Load() }

// Get implements Store.
func (r *Redis) Get(ctx context.Context, k Key) (*Entry, error) {
	b := r.b
	if b.down() {
		return nil, errRedisDown
	}
	b.trips.Add(1)
	raw, err := b.client.Get(ctx, b.entryKey(k)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, b.failed(err)
	}
	e := new(Entry)
	if err := e.UnmarshalBinary(raw); err != nil {
		return nil, nil // another version's entry: a miss
	}
	return e, nil
}

// Set implements Store. Entries larger than MaxRedisEntry are declined.
func (r *Redis) Set(ctx context.Context, k Key, e *Entry, ttl time.Duration) error {
	b := r.b
	if e.Size() > MaxRedisEntry || ttl <= 0 {
		return nil
	}
	if b.down() {
		return errRedisDown
	}
	raw, _ := e.MarshalBinary()
	b.trips.Add(1)
	if err := b.client.Set(ctx, b.entryKey(k), raw, ttl).Err(); err != nil {
		return b.failed(err)
	}
	return nil
}

// releaseScript deletes a lock that is still the caller's and publishes
// its release.
var releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`)

// lockScript returns the entry if there is one, else takes the lock if it
// is free (SET NX PX): the leader of another instance may have stored its
// answer and released its lock since the caller looked.
var lockScript = goredis.NewScript(`
local e = redis.call('GET', KEYS[1])
if e then return {2, e} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
return {0}`)

// Lock implements Coordinator with one script: the entry, or SET NX PX.
func (r *Redis) Lock(ctx context.Context, k Key, ttl time.Duration) (*Entry, func(), error) {
	b := r.b
	if b.down() {
		return nil, nil, errRedisDown
	}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	lock := b.lockKey(k)
	b.trips.Add(1)
	res, err := lockScript.Run(ctx, b.client, []string{b.entryKey(k), lock}, token, max(ttl, time.Millisecond).Milliseconds()).Slice()
	if err != nil {
		return nil, nil, b.failed(err)
	}
	switch code, _ := res[0].(int64); code {
	case 2:
		raw, _ := res[1].(string)
		e := new(Entry)
		if e.UnmarshalBinary([]byte(raw)) != nil {
			return nil, nil, nil // another version's entry: a miss, not ours to lead
		}
		return e, nil, nil
	case 0:
		return nil, nil, nil
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		b.trips.Add(1)
		if err := releaseScript.Run(ctx, b.client, []string{lock}, token, b.channel(), k.String()).Err(); err != nil {
			_ = b.failed(err) // the lock lapses at its TTL
		}
	}
	return nil, release, nil
}

// Await implements Coordinator: it listens for releases (one subscription
// per client, shared by every waiting request), and looks at the entry and
// the lock once listening, whenever a release of k is published, and every
// recheckEvery in case a notice was lost.
func (r *Redis) Await(ctx context.Context, k Key, wait time.Duration) (*Entry, error) {
	b := r.b
	if err := b.listen(ctx); err != nil {
		return nil, err
	}
	ch := b.addWaiter(k)
	defer b.removeWaiter(k, ch)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(recheckEvery)
	defer tick.Stop()
	for {
		e, held, err := r.check(ctx, k)
		if e != nil || !held || err != nil {
			return e, err
		}
		select {
		case <-ch:
			e, err := r.Get(ctx, k)
			return e, err
		case <-tick.C:
		case <-deadline.C:
			return r.Get(ctx, k)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// check returns k's entry and whether its lock is still held, in one round
// trip.
func (r *Redis) check(ctx context.Context, k Key) (*Entry, bool, error) {
	b := r.b
	if b.down() {
		return nil, false, errRedisDown
	}
	b.trips.Add(1)
	var get *goredis.StringCmd
	var exists *goredis.IntCmd
	// The lock first: a leader stores its entry before it releases the
	// lock, so a lock found free means the entry, if any, is there.
	_, err := b.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		exists = p.Exists(ctx, b.lockKey(k))
		get = p.Get(ctx, b.entryKey(k))
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, false, b.failed(err)
	}
	if raw, err := get.Bytes(); err == nil {
		e := new(Entry)
		if e.UnmarshalBinary(raw) == nil {
			return e, false, nil
		}
	}
	return nil, exists.Val() > 0, nil
}

var errRedisDown = errors.New("cache redis: unavailable")

// redisBackend is one client with its subscription to releases.
type redisBackend struct {
	client    *goredis.Client
	prefix    string
	trips     atomic.Uint64
	downUntil atomic.Int64

	mu      sync.Mutex
	sub     *goredis.PubSub
	waiters map[Key][]chan struct{}
}

func (b *redisBackend) entryKey(k Key) string { return b.prefix + k.String() }
func (b *redisBackend) lockKey(k Key) string  { return b.prefix + "lock:" + k.String() }
func (b *redisBackend) channel() string       { return b.prefix + "done" }

func (b *redisBackend) down() bool { return time.Now().UnixNano() < b.downUntil.Load() }

func (b *redisBackend) failed(err error) error {
	b.downUntil.Store(time.Now().Add(redisDownFor).UnixNano())
	return fmt.Errorf("%w: %v", errRedisDown, err)
}

// listen subscribes to the release channel once. The subscription does
// not end with the request that started it.
func (b *redisBackend) listen(context.Context) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sub != nil {
		return nil
	}
	if b.down() {
		return errRedisDown
	}
	ps := b.client.Subscribe(ctx, b.channel())
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return b.failed(err)
	}
	b.sub = ps
	go b.dispatch(ps.Channel())
	return nil
}

// dispatch wakes the waiters of each released key.
func (b *redisBackend) dispatch(msgs <-chan *goredis.Message) {
	for m := range msgs {
		raw, err := hex.DecodeString(m.Payload)
		if err != nil || len(raw) != len(Key{}) {
			continue
		}
		k := Key(raw)
		b.mu.Lock()
		for _, ch := range b.waiters[k] {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
		b.mu.Unlock()
	}
}

func (b *redisBackend) addWaiter(k Key) chan struct{} {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.waiters[k] = append(b.waiters[k], ch)
	b.mu.Unlock()
	return ch
}

func (b *redisBackend) removeWaiter(k Key, ch chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	list := b.waiters[k]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(b.waiters, k)
	} else {
		b.waiters[k] = list
	}
}

// Destruct closes the subscription and the client once no config uses
// them.
func (b *redisBackend) Destruct() error {
	b.mu.Lock()
	if b.sub != nil {
		_ = b.sub.Close()
		b.sub = nil
	}
	b.mu.Unlock()
	return b.client.Close()
}

// Interface guards
var (
	_ Store            = (*Redis)(nil)
	_ Coordinator      = (*Redis)(nil)
	_ caddy.Destructor = (*redisBackend)(nil)
)
