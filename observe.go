package llmrouter

import (
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/llmrouter/caddy-llm-router/llm"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// finish publishes what the request cost: the token and cost placeholders,
// the access log fields and the metrics.
func (x *exchange) finish() {
	if x.lastTarget == nil {
		return
	}
	t := x.lastTarget
	u := x.usage
	cost, priced := t.cost(x.lastModel, u)
	if x.repl != nil {
		x.repl.Set("http.llm_router.prompt_tokens", u.PromptTokens)
		x.repl.Set("http.llm_router.completion_tokens", u.CompletionTokens)
		if priced {
			x.repl.Set("http.llm_router.cost", strconv.FormatFloat(cost, 'f', -1, 64))
		}
	}
	if extra, ok := x.r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
		// One inline object rather than one Add per field: each Add resets
		// the fields' handler cache.
		extra.Add(zap.Inline(&logFields{
			target: t.Name, model: x.lastModel, attempts: x.attempts, usage: u,
			cost: cost, priced: priced, ttfb: x.ttfb,
		}))
	}
	if metrics.initialized {
		model := boundedModel(x.lastModel)
		code := "499" // the client left before any answer (nginx's convention)
		if x.status != 0 {
			code = strconv.Itoa(x.status)
		}
		metrics.requests.WithLabelValues(t.Name, model, code).Inc()
		if u.PromptTokens > 0 {
			metrics.tokens.WithLabelValues(t.Name, model, "prompt").Add(float64(u.PromptTokens))
		}
		if u.CompletionTokens > 0 {
			metrics.tokens.WithLabelValues(t.Name, model, "completion").Add(float64(u.CompletionTokens))
		}
		if priced && cost > 0 {
			metrics.cost.WithLabelValues(t.Name, model).Add(cost)
		}
		metrics.duration.WithLabelValues(t.Name).Observe(now().Sub(x.start).Seconds())
		if x.ttfb > 0 {
			metrics.ttfb.WithLabelValues(t.Name).Observe(x.ttfb.Seconds())
		}
	}
}

// cost is the USD cost of usage on model, and whether a price matched.
func (t *Target) cost(model string, u llm.Usage) (float64, bool) {
	p, ok := t.price(model)
	if !ok {
		return 0, false
	}
	return (float64(u.PromptTokens)*p.input + float64(u.CompletionTokens)*p.output) / 1e6, true
}

// logCooldown notes a target going into cooldown, at warn level.
func (h *Handler) logCooldown(t *Target, e *llm.Error) {
	if ce := h.logger.Check(zapcore.WarnLevel, "target in cooldown"); ce != nil {
		ce.Write(
			zap.String("target", t.Name),
			zap.Duration("for", h.cooldownD),
			zap.Int("status", e.Status),
			zap.String("last_error", e.Message),
		)
	}
}

// logFields are the access log fields of one routed request.
type logFields struct {
	target, model string
	attempts      int
	usage         llm.Usage
	cost          float64
	priced        bool
	ttfb          time.Duration
}

// MarshalLogObject implements zapcore.ObjectMarshaler.
func (f *logFields) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("llm_target", f.target)
	enc.AddString("llm_model", f.model)
	enc.AddInt("llm_attempts", f.attempts)
	enc.AddInt64("llm_prompt_tokens", f.usage.PromptTokens)
	enc.AddInt64("llm_completion_tokens", f.usage.CompletionTokens)
	if f.priced {
		enc.AddFloat64("llm_cost_usd", f.cost)
	}
	if f.ttfb > 0 {
		enc.AddFloat64("llm_ttfb_ms", float64(f.ttfb)/float64(time.Millisecond))
	}
	return nil
}
