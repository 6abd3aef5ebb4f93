package llmrouter

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/cache"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stats"
	"github.com/llmrouter/caddy-llm-router/stores"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Defaults of the response cache.
const (
	defaultCacheTTL     = time.Hour
	defaultCacheMaxSize = 256 << 20
)

// CacheConfig is the response cache (SPEC 12). Identical requests — same
// inbound API, operation, model, key name and body apart from `stream`,
// `stream_options`, `user` and `metadata` — within the TTL are answered
// from the cache, streamed or not whatever the first one was; only
// complete 200 answers are stored. A hit costs 0 and counts against the
// key's rpm (it is a request) but not its tpm or budgets. `Cache-Control:
// no-cache` from the client skips the lookup, `no-store` the storing.
// Identical requests arriving together send one upstream request: the
// others wait for its answer (at most the targets' timeout, or
// first_byte_timeout for a stream), then send their own if it failed.
type CacheConfig struct {
	// TTL is how long an answer is served from the cache. Default: 1h.
	TTL caddy.Duration `json:"ttl,omitempty"`

	// MaxSize bounds the memory store in bytes: when an answer does not
	// fit, the least recently used ones are evicted; an answer larger
	// than MaxSize is not stored. Default: 256 MiB.
	MaxSize int64 `json:"max_size,omitempty"`

	// Redis, a URL (`redis://[user:password@]host:port[/db]`, `rediss://`
	// for TLS; placeholders expanded), keeps the cache in Redis instead
	// of memory, shared by every instance that names it: an answer one
	// stored is a hit on the others, and identical requests arriving at
	// different instances also send one upstream request. Answers larger
	// than 16 MiB are not stored there.
	Redis string `json:"redis,omitempty"`
}

// responseCache is a handler's cache at run time.
type responseCache struct {
	c        *cache.Cache
	redis    *cache.Redis // to close; nil for the memory store
	memory   *cache.Memory
	maxEntry int64 // the largest answer recorded
	lastLog  atomic.Int64
}

// provisionCache opens the cache's store.
func (h *Handler) provisionCache() error {
	cfg := h.Cache
	if cfg == nil {
		return nil
	}
	ttl := time.Duration(cfg.TTL)
	if ttl == 0 {
		ttl = defaultCacheTTL
	}
	if ttl < 0 {
		return fmt.Errorf("cache: ttl must not be negative")
	}
	rc := &responseCache{}
	if cfg.Redis != "" {
		r, err := cache.OpenRedis(caddy.NewReplacer().ReplaceAll(cfg.Redis, ""), "")
		if err != nil {
			return err
		}
		rc.redis, rc.maxEntry = r, cache.MaxRedisEntry
		rc.c = cache.New(r, ttl)
	} else {
		size := cfg.MaxSize
		if size == 0 {
			size = defaultCacheMaxSize
		}
		if size < 0 {
			return fmt.Errorf("cache: max_size must not be negative")
		}
		rc.memory, rc.maxEntry = cache.NewMemory(size, nil), size
		rc.c = cache.New(rc.memory, ttl)
	}
	h.cache = rc
	return nil
}

// close releases the store.
func (rc *responseCache) close() {
	if rc != nil && rc.redis != nil {
		_ = rc.redis.Close()
	}
}

// cached is the cache's part in one request.
type cached struct {
	key    cache.Key
	flight *cache.Flight // the identical requests waiting for this one
	store  bool          // a complete answer is to be stored
	rec    *bytes.Buffer // the answer as the client receives it
	over   bool          // the answer is larger than the cache keeps
	max    int64
	result string // hit or miss, for the log
}

// record is the writer's Tap: it keeps what reaches the client, up to the
// largest answer the cache keeps.
func (c *cached) record(p []byte) {
	if c.over {
		return
	}
	if int64(c.rec.Len()+len(p)) > c.max {
		c.over = true
		return
	}
	c.rec.Write(p)
}

// reset forgets what a failed attempt wrote.
func (c *cached) reset() {
	if c != nil && c.rec != nil {
		c.rec.Reset()
		c.over = false
	}
}

// cacheControl reads the client's Cache-Control: no-cache skips the
// lookup, no-store the storing.
func cacheControl(h http.Header) (noCache, noStore bool) {
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			switch strings.ToLower(strings.TrimSpace(d)) {
			case "no-cache":
				noCache = true
			case "no-store":
				noStore = true
			}
		}
	}
	return noCache, noStore
}

// lookup answers the request from the cache when it can (it reports true
// then), else prepares the recording of the answer. It runs after the
// request was authenticated and resolved, before any admission.
func (x *exchange) lookup(g *group) bool {
	rc := x.h.cache
	noCache, noStore := cacheControl(x.r.Header)
	c := &cached{result: "miss", store: !noStore}
	x.cache = c
	c.key = cache.NewKey(&cache.Request{
		API: x.api.Name(), Op: x.req.Op, Model: x.req.Model, Target: x.req.forceTarget,
		Models: x.req.Models, KeyName: x.keyName, Credential: x.clientKey(), Header: x.req.Header, Body: x.req.Body,
	})
	ctx := x.r.Context()
	var e *cache.Entry
	var err error
	switch {
	case noCache:
	case noStore:
		// Served from the cache, but leading no flight: its answer is not
		// to be kept, so nobody may wait for it.
		e, err = rc.c.Peek(ctx, c.key)
	default:
		e, c.flight, err = rc.c.Lookup(ctx, c.key, cacheWait(g, x.req.Stream))
	}
	if err != nil {
		x.h.logCacheError(err)
	}
	if e != nil && x.serveHit(e) {
		return true // (a lookup that finds an entry leads no flight)
	}
	if ctx.Err() != nil {
		return false
	}
	if c.store || c.flight != nil {
		c.rec, c.max = llm.GetBuffer(), rc.maxEntry
		x.w.Tap = c.record
	}
	// Every answer but a hit says so, errors included.
	x.w.Unwrap().Header()["X-Llm-Cache"] = cacheMiss
	return false
}

var (
	cacheHit  = []string{"hit"}
	cacheMiss = []string{"miss"}
	zeroValue = []string{"0"}
)

// cacheWait is how long a request waits for an identical one's answer: the
// longest a member's attempt may take to answer (its first_byte_timeout
// for a stream, else its timeout).
func cacheWait(g *group, stream bool) time.Duration {
	var wait time.Duration
	for _, m := range g.members {
		t := m.target
		d := time.Duration(t.timeout)
		if stream && t.FirstByteTimeout > 0 {
			d = time.Duration(t.FirstByteTimeout)
		}
		wait = max(wait, d)
	}
	if wait <= 0 {
		wait = defaultTimeout
	}
	return wait
}

// hitBody returns what the client of req receives from e: the stored
// answer itself, or converted to the other form by the API. ok is false
// when it cannot be (an API without a Replayer, a stored answer it cannot
// read): then the request goes upstream.
func hitBody(api apis.API, req *apis.Request, e *cache.Entry) (body []byte, contentType string, ok bool) {
	r, isReplayer := api.(apis.Replayer)
	switch {
	case e.Stream == req.Stream:
		if e.Stream && isReplayer {
			return r.ReplayEvents(req, e.Body, e.Usage), e.ContentType, true
		}
		return e.Body, e.ContentType, true
	case !isReplayer:
		return nil, "", false
	case req.Stream:
		b, err := r.AnswerToEvents(req, e.Body)
		return b, stream.ContentType, err == nil
	default:
		b, err := r.EventsToAnswer(req, e.Body, e.Usage)
		return b, "application/json", err == nil
	}
}

// serveHit answers from e: the stored answer with its Content-Type,
// X-LLM-Target and X-LLM-Model, `X-LLM-Cache: hit` and
// `X-LLM-Attempts: 0`, and for a keyed request its limit headers (see
// admitHit). It reports false, having written nothing, when e cannot
// serve this request.
func (x *exchange) serveHit(e *cache.Entry) bool {
	body, contentType, ok := hitBody(x.api, x.req.Request, e)
	if !ok {
		return false
	}
	x.cache.result = "hit"
	x.status = http.StatusOK
	if x.key != nil && !x.admitHit() {
		return true
	}
	h := x.w.Header()
	h["Content-Type"] = []string{contentType}
	h["X-Llm-Cache"] = cacheHit
	h["X-Llm-Target"] = []string{e.Target}
	h["X-Llm-Model"] = []string{e.Model}
	h["X-Llm-Attempts"] = zeroValue
	var cost *apis.CostFilter
	if cs, ok := x.api.(apis.CostSplicer); ok && x.h.UsageCost {
		// usage_cost: a hit costs 0 (the stored answer was recorded before
		// the cost was spliced in); a keyed hit's budget is what its
		// admission saw.
		hc := apis.Cost{Priced: true, Remaining: x.decision.BudgetRemaining, HasBudget: x.key != nil && x.decision.HasBudget}
		if cost = cs.CostFilter(x.req.Request, true, func(llm.Usage) apis.Cost { return hc }); cost != nil {
			x.w.Filter = cost.Func()
			defer x.endCost(cost)
		}
	}
	if !x.req.Stream && cost == nil {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	if x.repl != nil {
		x.repl.Set("http.llm_router.target", e.Target)
		x.repl.Set("http.llm_router.model", e.Model)
		x.repl.Set("http.llm_router.attempts", 0)
	}
	x.hit = e
	x.w.WriteHeader(http.StatusOK)
	_, _ = x.w.Write(body)
	if x.req.Stream {
		_ = x.w.Flush()
	}
	return true
}

// admitHit counts a keyed hit: a request (rpm counts it and may refuse
// it) that spends no tokens and no money (tpm and budgets cannot refuse
// it). Its answer carries every limit header a keyed answer does. It
// reports false when it answered the refusal itself.
func (x *exchange) admitHit() bool {
	ctx, cancel := storeContext()
	defer cancel()
	t, d, err := x.h.store.Admit(ctx, stores.Admission{Key: x.key.Limits, Free: true, TTL: x.h.reserveTTL})
	switch {
	case err != nil:
		x.answerHitRefusal(errStoreUnavailable())
		return false
	case !d.OK:
		x.decision = d
		x.answerHitRefusal(refusal(d))
		return false
	}
	x.decision = d
	_ = x.h.store.Settle(ctx, t, 0, 0)
	d.SetHeaders(x.w.Header())
	return true
}

// answerHitRefusal answers a hit that the key's rpm (or its store) refused.
func (x *exchange) answerHitRefusal(e *llm.Error) {
	x.cache.result = "miss"
	x.w.Unwrap().Header()["X-Llm-Cache"] = cacheMiss
	x.w.OnCommit = func(w *stream.Writer) {
		x.status = w.Status()
		x.setKeyHeaders(w.Header())
	}
	x.api.WriteError(x.w, e)
}

// storeAnswer ends the request's part in the cache: a complete 200 answer
// (the answering attempt relayed all of it: a client that left midway
// cut the relay short) is stored unless the client said no-store, and
// handed to the identical requests that waited for it; otherwise they
// send their own. A client that hangs up once it has the whole answer (an
// SDK closing the stream at its last event) does not undo that.
func (x *exchange) storeAnswer() {
	c := x.cache
	if c == nil || c.result == "hit" {
		return
	}
	x.w.Tap = nil
	var e *cache.Entry
	if c.rec != nil && c.store && !c.over && x.complete && x.status == http.StatusOK && x.lastTarget != nil {
		e = &cache.Entry{
			Stream: x.req.Stream, ContentType: x.w.Header().Get("Content-Type"),
			Target: x.lastTarget.Name, Model: x.lastModel, Usage: x.usage, Stored: now(),
			Body: bytes.Clone(c.rec.Bytes()), // exactly its size: what the store counts
		}
	}
	if c.rec != nil {
		llm.PutBuffer(c.rec)
		c.rec = nil
	}
	if c.flight == nil && e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var err error
	if c.flight != nil {
		err = c.flight.Done(ctx, e)
	} else {
		err = x.h.cache.c.Put(ctx, c.key, e)
	}
	if err != nil {
		x.h.logCacheError(err)
	}
}

// finishHit publishes a hit: the access log fields (the stored answer's
// usage, all of its prompt counted as cached, cost 0, `llm_cache: hit`),
// the placeholders, the dashboard's statistics and the metrics (the
// tokens as cache_read and completion of the target that made the answer;
// no cost, duration or time to first byte, which are the upstream's).
func (x *exchange) finishHit() {
	e := x.hit
	if x.key != nil {
		recordKeyRequest(x.keyName, x.status)
	}
	recordCache(x.cache.result)
	x.finishTracingHit(e)
	end := now()
	if e == nil {
		// Refused by the key's rpm.
		stats.Record(stats.Request{Status: x.status, Duration: end.Sub(x.start), Key: x.keyName, At: end})
		return
	}
	u := e.Usage
	u.CacheReadTokens, u.CacheWriteTokens = u.PromptTokens, 0
	stats.Record(stats.Request{
		Target: e.Target, Model: e.Model, Status: x.status, Usage: u, Duration: end.Sub(x.start),
		Key: x.keyName, CacheHit: true, At: end,
	})
	if x.repl != nil {
		x.repl.Set("http.llm_router.prompt_tokens", u.PromptTokens)
		x.repl.Set("http.llm_router.completion_tokens", u.CompletionTokens)
		x.repl.Set("http.llm_router.cached_tokens", u.CacheReadTokens)
		x.repl.Set("http.llm_router.reasoning_tokens", u.ReasoningTokens)
		x.repl.Set("http.llm_router.cost", "0")
		x.repl.Set("http.llm_router.cache", "hit")
	}
	if extra, ok := x.r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
		extra.Add(zap.Inline(&logFields{
			target: e.Target, model: e.Model, usage: u, priced: true, api: x.api.Name(), key: x.keyName, cache: "hit",
		}))
	}
	if metrics.initialized {
		model := boundedModel(e.Model)
		inc(metrics.requests, e.Target, model, statusLabel(x.status))
		for _, tok := range [...]struct {
			kind string
			n    int64
		}{{"prompt", u.PromptTokens}, {"completion", u.CompletionTokens}, {"cache_read", u.CacheReadTokens}, {"reasoning", u.ReasoningTokens}} {
			if tok.n > 0 {
				add(metrics.tokens, float64(tok.n), e.Target, model, tok.kind)
			}
		}
	}
}

// cacheLogEvery is the least time between two logs of the cache's store
// failing.
const cacheLogEvery = 10 * time.Second

// logCacheError notes a failed store round trip (Redis) at most every
// cacheLogEvery: the request goes on without the cache.
func (h *Handler) logCacheError(err error) {
	rc := h.cache
	t := now().UnixNano()
	last := rc.lastLog.Load()
	if t-last < int64(cacheLogEvery) || !rc.lastLog.CompareAndSwap(last, t) {
		return
	}
	if ce := h.logger.Check(zap.WarnLevel, "response cache unavailable; requests go on without it"); ce != nil {
		ce.Write(zap.Error(err))
	}
}

// cacheResult is hit or miss for the log, "" without a cache.
func (x *exchange) cacheResult() string {
	if x.cache == nil {
		return ""
	}
	return x.cache.result
}

// parseCache reads the `cache` subdirective:
//
//	cache [<ttl>] {
//		max_size <size>
//		redis    <url>
//	}
func parseCache(d *caddyfile.Dispenser) (*CacheConfig, error) {
	cfg := new(CacheConfig)
	if d.NextArg() {
		dur, err := caddy.ParseDuration(d.Val())
		if err != nil || dur <= 0 {
			return nil, d.Errf("cache: %q is not a duration such as 10m or 1h", d.Val())
		}
		cfg.TTL = caddy.Duration(dur)
		if d.NextArg() {
			return nil, d.Errf("cache: unexpected argument %q", d.Val())
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "max_size":
			size, err := sizeArg(d)
			if err != nil {
				return nil, err
			}
			cfg.MaxSize = size
		case "redis":
			if !d.NextArg() {
				return nil, d.Err("redis: expected a URL such as redis://host:6379")
			}
			cfg.Redis = d.Val()
			if d.NextArg() {
				// Not ArgErr: it would quote the token, which may hold a password.
				return nil, d.Err("redis: expected one URL")
			}
			if !strings.Contains(cfg.Redis, "{") {
				if _, err := cache.ParseRedisURL(cfg.Redis); err != nil {
					return nil, d.Err(err.Error())
				}
			}
		default:
			return nil, d.Errf("cache: unrecognized option %q", d.Val())
		}
	}
	return cfg, nil
}
