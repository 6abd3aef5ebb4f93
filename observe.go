package llmrouter

import (
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stats"
)

// finish publishes what the request cost: the token and cost placeholders,
// the access log fields and the metrics.
func (x *exchange) finish() {
	if x.key != nil {
		x.settle(x.spent)
		recordKeyRequest(x.keyName, x.status)
		if x.spent > 0 && metrics.initialized {
			add(metrics.keySpend, x.spent, x.keyName)
		}
	}
	if x.cache != nil {
		recordCache(x.cache.result)
		if x.repl != nil {
			x.repl.Set("http.llm_router.cache", x.cache.result)
		}
	}
	end := now()
	if x.lastTarget == nil {
		stats.Record(stats.Request{Status: x.status, Duration: end.Sub(x.start), Key: x.keyName, At: end})
		return
	}
	t := x.lastTarget
	u := x.usage
	cost, priced := t.cost(x.lastModel, u)
	stats.Record(stats.Request{
		Target: t.Name, Model: x.lastModel, Status: x.status, Usage: u, Cost: cost,
		Duration: end.Sub(x.start), TTFB: x.ttfb, Key: x.keyName, At: end,
	})
	if x.repl != nil {
		x.repl.Set("http.llm_router.prompt_tokens", u.PromptTokens)
		x.repl.Set("http.llm_router.completion_tokens", u.CompletionTokens)
		x.repl.Set("http.llm_router.cached_tokens", u.CacheReadTokens)
		x.repl.Set("http.llm_router.reasoning_tokens", u.ReasoningTokens)
		if priced {
			x.repl.Set("http.llm_router.cost", strconv.FormatFloat(cost, 'f', -1, 64))
		}
	}
	if extra, ok := x.r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
		// One inline object rather than one Add per field: each Add resets
		// the fields' handler cache.
		extra.Add(zap.Inline(&logFields{
			target: t.Name, model: x.lastModel, attempts: x.attempts, usage: u,
			cost: cost, priced: priced, ttfb: x.ttfb, api: x.api.Name(), key: x.keyName,
			cache: x.cacheResult(),
		}))
	}
	x.finishTracing(cost, priced)
	if metrics.initialized {
		model := boundedModel(x.lastModel)
		inc(metrics.requests, t.Name, model, statusLabel(x.status))
		for _, tok := range [...]struct {
			kind string
			n    int64
		}{
			{"prompt", u.PromptTokens}, {"completion", u.CompletionTokens},
			{"cache_read", u.CacheReadTokens}, {"cache_write", u.CacheWriteTokens}, {"reasoning", u.ReasoningTokens},
		} {
			if tok.n > 0 {
				add(metrics.tokens, float64(tok.n), t.Name, model, tok.kind)
			}
		}
		if priced && cost > 0 {
			add(metrics.cost, cost, t.Name, model)
		}
		observe(metrics.duration, end.Sub(x.start).Seconds(), t.Name)
		if x.ttfb > 0 {
			observe(metrics.ttfb, x.ttfb.Seconds(), t.Name)
		}
	}
}

// cost is the USD cost of usage on model, and whether a price matched.
func (t *Target) cost(model string, u llm.Usage) (float64, bool) {
	p, ok := t.price(model)
	if !ok {
		return 0, false
	}
	return p.Cost(u), true
}

// logCooldown notes a target going into cooldown for d, at warn level.
// It is called once per cooldown, when it starts.
func (h *Handler) logCooldown(t *Target, d time.Duration, e *llm.Error) {
	if ce := h.logger.Check(zapcore.WarnLevel, "target in cooldown"); ce != nil {
		ce.Write(
			zap.String("target", t.Name),
			zap.Duration("for", d),
			zap.Int("status", e.Status),
			zap.String("last_error", e.Message),
		)
	}
}

// logAttemptFailure notes a failed attempt at debug level, with the
// underlying error (which may name internal addresses: the log may, the
// client's answer does not).
func (h *Handler) logAttemptFailure(t *Target, e *llm.Error) {
	if ce := h.logger.Check(zapcore.DebugLevel, "attempt failed"); ce != nil {
		fields := []zap.Field{zap.String("target", t.Name), zap.Int("status", e.Status), zap.String("error", e.Message)}
		if e.Cause != nil {
			fields = append(fields, zap.String("cause", e.Cause.Error()))
		}
		ce.Write(fields...)
	}
}

// logFields are the access log fields of one routed request.
type logFields struct {
	target, model, api, key string
	cache                   string // hit or miss; "" without a cache
	attempts                int
	usage                   llm.Usage
	cost                    float64
	priced                  bool
	ttfb                    time.Duration
}

// MarshalLogObject implements zapcore.ObjectMarshaler.
func (f *logFields) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("llm_api", f.api)
	if f.key != "" {
		enc.AddString("llm_key", f.key)
	}
	enc.AddString("llm_target", f.target)
	enc.AddString("llm_model", f.model)
	enc.AddInt("llm_attempts", f.attempts)
	enc.AddInt64("llm_prompt_tokens", f.usage.PromptTokens)
	enc.AddInt64("llm_completion_tokens", f.usage.CompletionTokens)
	if f.usage.CacheReadTokens > 0 {
		enc.AddInt64("llm_cached_tokens", f.usage.CacheReadTokens)
	}
	if f.usage.CacheWriteTokens > 0 {
		enc.AddInt64("llm_cache_write_tokens", f.usage.CacheWriteTokens)
	}
	if f.usage.ReasoningTokens > 0 {
		enc.AddInt64("llm_reasoning_tokens", f.usage.ReasoningTokens)
	}
	if f.priced {
		enc.AddFloat64("llm_cost_usd", f.cost)
	}
	if f.ttfb > 0 {
		enc.AddFloat64("llm_ttfb_ms", float64(f.ttfb)/float64(time.Millisecond))
	}
	if f.cache != "" {
		enc.AddString("llm_cache", f.cache)
	}
	return nil
}
