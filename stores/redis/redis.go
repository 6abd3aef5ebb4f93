// Package redis is the `redis` store of router keys
// (`http.llm_router.stores.redis`): every counter, reservation and spend in
// Redis, updated by one Lua script per admission and per settlement (one
// round trip each), so that every Caddy instance sharing that Redis
// enforces the same limits and budgets exactly as one instance would.
package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	goredis "github.com/redis/go-redis/v9"

	"github.com/llmrouter/caddy-llm-router/internal/redisurl"
	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
)

func init() {
	caddy.RegisterModule(Redis{})
}

// DefaultPrefix starts every Redis key the store writes unless Prefix says
// otherwise.
const DefaultPrefix = "llm_router:"

// Redis keeps key counters in Redis. Requests of one key name, whichever
// Caddy instance serves them, are admitted against the same windows and
// budgets, atomically. When Redis cannot be reached, `fail open` (the
// default) admits requests against counters in the process (each instance
// its own, starting from the budgets' spend Redis last reported) and hands
// their spend over to Redis once it is back; `fail closed` refuses them
// (ErrUnavailable: 503 store_unavailable).
type Redis struct {
	// URL is `redis://[user:password@]host:port[/db]`, or `rediss://` for
	// TLS, with go-redis's query options (dial_timeout, read_timeout, …).
	// Placeholders such as `{env.REDIS_URL}` are expanded at provision.
	// Required.
	URL string `json:"url,omitempty"`

	// Prefix starts every key the store writes, so several routers (or
	// other programs) can share one Redis. Default: `llm_router:`.
	Prefix string `json:"prefix,omitempty"`

	// Fail is what happens to requests when Redis cannot be reached:
	// `open` admits them, counted in the process until Redis is back;
	// `closed` refuses them with 503 store_unavailable. Default: open.
	Fail string `json:"fail,omitempty"`

	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time `json:"-"`

	instance string // set by tests: a backend of its own, as another process would have
	poolKey  string
	b        *backend
	closed   bool
	notify   func(error)
}

// CaddyModule returns the Caddy module information.
func (Redis) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.stores.redis",
		New: func() caddy.Module { return new(Redis) },
	}
}

// UnmarshalCaddyfile reads the store. Syntax:
//
//	store redis <url> {
//		prefix <string>
//		fail   open|closed
//	}
func (r *Redis) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the store's name
	if !d.NextArg() {
		return d.Err("store redis: expected a URL such as redis://host:6379")
	}
	r.URL = d.Val()
	urlTok := caddyfile.NewDispenser([]caddyfile.Token{d.Token()})
	if d.NextArg() {
		// Not ArgErr: it would quote the token, which may hold a password.
		return d.Err("store redis: expected one URL")
	}
	for d.NextBlock(0) {
		switch sub := d.Val(); sub {
		case "prefix":
			if !d.NextArg() {
				return d.Err("prefix: expected a string")
			}
			r.Prefix = d.Val()
			if d.NextArg() {
				return d.Err("prefix: expected one string")
			}
		case "fail":
			if !d.NextArg() || (d.Val() != "open" && d.Val() != "closed") {
				return d.Err("fail: expected open or closed")
			}
			r.Fail = d.Val()
			if d.NextArg() {
				return d.Err("fail: expected open or closed")
			}
		default:
			return d.Errf("unrecognized option %q", sub)
		}
	}
	if !strings.Contains(r.URL, "{") {
		if _, err := parseURL(r.URL); err != nil {
			urlTok.Next()
			return urlTok.WrapErr(err)
		}
	}
	return nil
}

// Validate checks the settings that need no placeholder expanded.
func (r *Redis) Validate() error {
	if r.URL == "" {
		return errors.New("store redis: url is required")
	}
	if r.Fail != "" && r.Fail != "open" && r.Fail != "closed" {
		return fmt.Errorf("store redis: fail must be open or closed, not %q", r.Fail)
	}
	return nil
}

// Provision connects (lazily: an unreachable Redis does not fail the
// config) through a client shared by every config that names the same URL
// and prefix.
func (r *Redis) Provision(ctx caddy.Context) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Prefix == "" {
		r.Prefix = DefaultPrefix
	}
	raw := caddy.NewReplacer().ReplaceAll(r.URL, "")
	opt, err := parseURL(raw)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(raw)) // the URL may hold a password: pooled by hash
	r.poolKey = hex.EncodeToString(sum[:]) + "|" + r.Prefix + "|" + r.instance
	v, _, err := pool.LoadOrNew(r.poolKey, func() (caddy.Destructor, error) {
		return newBackend(opt, r.Prefix, ctx.Logger(), r.Now), nil
	})
	if err != nil {
		return err
	}
	r.b = v.(*backend)
	r.closed = r.Fail == "closed"
	return nil
}

// Cleanup leaves the shared client; the last config to leave closes it.
func (r *Redis) Cleanup() error {
	if r.b == nil {
		return nil
	}
	r.b = nil
	_, err := pool.Delete(r.poolKey)
	return err
}

// NotifyErrors implements stores.ErrorNotifier: f is called with every
// failed round trip to Redis. Call it before the store is used.
func (r *Redis) NotifyErrors(f func(err error)) { r.notify = f }

// RoundTrips is the number of round trips made to Redis by every store
// sharing this one's client.
func (r *Redis) RoundTrips() uint64 { return r.b.trips.Load() }

// failed records a failed round trip: the circuit opens for a moment, the
// error is logged (at most every 10 seconds) and reported.
func (r *Redis) failed(err error) error {
	r.b.fail(err, r.closed)
	if r.notify != nil {
		r.notify(err)
	}
	return fmt.Errorf("%w: %v", stores.ErrUnavailable, err)
}

// Admit implements stores.Store with one round trip. Like Adjust and
// Settle, it is not cut short by the request's cancellation.
func (r *Redis) Admit(ctx context.Context, a stores.Admission) (*stores.Ticket, stores.Decision, error) {
	b := r.b
	if b.down() {
		return r.fallbackAdmit(&a, stores.ErrUnavailable)
	}
	now := b.now()
	t := stores.NewTicket(&a, now)
	ctx, cancel := detach(ctx)
	defer cancel()
	res, err := b.admit(ctx, &a, t, now)
	if err != nil {
		return r.fallbackAdmit(&a, r.failed(err))
	}
	o := stores.Outcome{Admitted: res[0] == 1, Requests: res[1], RequestRetry: ms(res[2]), RequestReset: ms(res[3]),
		Tokens: res[4], TokenRetry: ms(res[5]), TokenReset: ms(res[6]), Used: res[7:]}
	b.remember(t, o.Used, o.Admitted)
	d := stores.Decide(&a, t, &o, now)
	if !o.Admitted {
		return nil, d, nil
	}
	return t, d, nil
}

func (r *Redis) fallbackAdmit(a *stores.Admission, cause error) (*stores.Ticket, stores.Decision, error) {
	if r.closed {
		return nil, stores.Decision{}, cause
	}
	r.b.seed(a)
	t, d := r.b.local.Admit(a)
	d.Degraded = true
	if t != nil {
		t.Fallback = true
	}
	return t, d, nil
}

// Adjust implements stores.Store with one round trip.
func (r *Redis) Adjust(ctx context.Context, t *stores.Ticket, usd float64) (stores.Decision, error) {
	b := r.b
	if t.Fallback {
		return b.local.Adjust(t, usd), nil
	}
	if len(t.Budgets) == 0 {
		return stores.DecideAdjust(t, true, keys.ToNano(usd), nil, b.now()), nil
	}
	var err error
	if b.down() {
		err = stores.ErrUnavailable
	} else {
		now := b.now()
		n := keys.ToNano(usd)
		ctx, cancel := detach(ctx)
		defer cancel()
		var res []int64
		if res, err = b.adjust(ctx, t, n, now); err == nil {
			return stores.DecideAdjust(t, res[0] == 1, n, res[1:], now), nil
		}
		err = r.failed(err)
	}
	if r.closed {
		return stores.Decision{}, err
	}
	// Open: let the attempt go; the reservation in Redis stays as it was.
	d := stores.DecideAdjust(t, true, t.Reserved, nil, b.now())
	d.Degraded = true
	return d, nil
}

// Settle implements stores.Store with one round trip. When Redis cannot be reached the spend is
// kept in the process and handed over once Redis is back (the reservation
// in Redis then lapses at its TTL).
func (r *Redis) Settle(ctx context.Context, t *stores.Ticket, tokens int64, usd float64) error {
	if !t.MarkSettled() {
		return stores.ErrSettled
	}
	b := r.b
	if t.Fallback {
		b.local.Settle(t, tokens, usd)
		return nil
	}
	var err error
	if b.down() {
		err = stores.ErrUnavailable
	} else {
		ctx, cancel := detach(ctx)
		defer cancel()
		if err = b.settle(ctx, t, tokens, usd); err == nil {
			return nil
		}
		err = r.failed(err)
	}
	n := keys.ToNano(usd)
	b.settledLocally(t)
	for _, tb := range t.Budgets {
		if n > 0 {
			b.local.AddSpend(t.Key, tb.Period, tb.End, n)
		}
	}
	if r.closed {
		return err
	}
	return nil
}

// Status implements stores.Store.
func (r *Redis) Status(ctx context.Context, l keys.Limits) (keys.Status, error) {
	st, err := r.b.status(ctx, l)
	if err != nil && ctx.Err() == nil {
		err = r.failed(err)
	}
	return st, err
}

// callTimeout bounds one call to Redis beyond the client's own timeouts.
const callTimeout = 5 * time.Second

// detach keeps a call from being cut short by the request's cancellation:
// a script that ran but whose reply was dropped would leave Redis and the
// ticket disagreeing.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// parseURL reads a redis:// or rediss:// URL into client options (see
// package redisurl), with 2 s timeouts and no retries unless the query says
// otherwise: a script that may have run must not run twice.
func parseURL(raw string) (*goredis.Options, error) {
	opt, q, err := redisurl.Parse(raw, "store redis", 2*time.Second)
	if err != nil {
		return nil, err
	}
	if !q.Has("max_retries") {
		opt.MaxRetries = -1
	}
	return opt, nil
}

// Interface guards
var (
	_ stores.Store          = (*Redis)(nil)
	_ stores.ErrorNotifier  = (*Redis)(nil)
	_ caddy.Provisioner     = (*Redis)(nil)
	_ caddy.Validator       = (*Redis)(nil)
	_ caddy.CleanerUpper    = (*Redis)(nil)
	_ caddyfile.Unmarshaler = (*Redis)(nil)
)
