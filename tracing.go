package llmrouter

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmrouter/caddy-llm-router/cache"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// tracerName names the router's spans' instrumentation scope.
const tracerName = "github.com/llmrouter/caddy-llm-router"

// traceparent is the W3C trace context an attempt passes upstream, so a
// traced upstream (vLLM, a sidecar) joins the request's trace.
var traceparent = propagation.TraceContext{}

// spans is the tracing of one request: the span Caddy's `tracing` handler
// opened for it (nil when tracing is off or the span is not recorded) and
// the tracer of its provider, for one child span per attempt. No message
// content is ever put on a span.
type spans struct {
	req    trace.Span
	tracer trace.Tracer
}

// startTracing picks up the request's span; with tracing off this costs
// one context lookup.
func (x *exchange) startTracing() {
	span := trace.SpanFromContext(x.r.Context())
	if !span.IsRecording() {
		return
	}
	x.spans.req = span
	x.spans.tracer = span.TracerProvider().Tracer(tracerName)
}

// startAttempt opens the span of one attempt (kind CLIENT) as a child of
// the request's span and returns the context the upstream request carries.
func (x *exchange) startAttempt(ctx context.Context, m member) (context.Context, trace.Span) {
	if x.spans.req == nil {
		return ctx, nil
	}
	ctx, span := x.spans.tracer.Start(ctx, x.req.Op.Name()+" "+m.model,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("gen_ai.operation.name", x.req.Op.Name()),
			attribute.String("gen_ai.provider.name", m.target.providerName),
			attribute.String("gen_ai.request.model", m.model),
			attribute.String("llm_router.target", m.target.Name),
			attribute.Int("llm_router.attempt", x.attempts),
		))
	return ctx, span
}

// endAttempt closes an attempt's span with its status and outcome.
func endAttempt(span trace.Span, status int, e *llm.Error) {
	if span == nil {
		return
	}
	outcome := "success"
	if e != nil {
		outcome = outcomeOf(e)
		status = e.Status
		span.SetStatus(codes.Error, e.Message)
	}
	if status != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", status))
	}
	span.SetAttributes(attribute.String("llm_router.outcome", outcome))
	span.End()
}

// injectTraceparent adds the attempt's trace context to an upstream
// request.
func (x *exchange) injectTraceparent(ctx context.Context, req *http.Request) {
	if x.spans.req != nil {
		traceparent.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
}

// finishTracing puts the request's outcome on its span: the OpenTelemetry
// GenAI attributes and the router's own.
func (x *exchange) finishTracing(cost float64, priced bool) {
	span := x.spans.req
	if span == nil {
		return
	}
	u := x.usage
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", x.req.Op.Name()),
		attribute.String("gen_ai.request.model", x.req.Model),
		attribute.Bool("gen_ai.request.stream", x.req.Stream),
		attribute.Int("llm_router.attempts", x.attempts),
		attribute.String("llm_router.api", x.api.Name()),
	}
	if x.req.MaxTokens > 0 {
		attrs = append(attrs, attribute.Int64("gen_ai.request.max_tokens", x.req.MaxTokens))
	}
	if t := x.lastTarget; t != nil {
		attrs = append(attrs,
			attribute.String("gen_ai.provider.name", t.providerName),
			attribute.String("gen_ai.response.model", x.lastModel),
			attribute.String("llm_router.target", t.Name),
			attribute.Int64("gen_ai.usage.input_tokens", u.PromptTokens),
			attribute.Int64("gen_ai.usage.output_tokens", u.CompletionTokens),
			attribute.Int64("gen_ai.usage.cache_read.input_tokens", u.CacheReadTokens),
		)
		if u.ReasoningTokens > 0 {
			attrs = append(attrs, attribute.Int64("gen_ai.usage.reasoning.output_tokens", u.ReasoningTokens))
		}
	}
	if u.FinishReason != "" {
		attrs = append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{u.FinishReason}))
	}
	if x.req.Stream && x.ttfb > 0 {
		attrs = append(attrs, attribute.Float64("gen_ai.response.time_to_first_chunk", x.ttfb.Seconds()))
	}
	if priced {
		attrs = append(attrs, attribute.Float64("llm_router.cost_usd", cost))
	}
	if x.keyName != "" {
		attrs = append(attrs, attribute.String("llm_router.key", x.keyName))
	}
	if x.cache != nil && x.cache.result != "" {
		attrs = append(attrs, attribute.String("llm_router.cache", x.cache.result))
	}
	span.SetAttributes(attrs...)
}

// finishTracingHit puts a cache hit's outcome on the request's span: no
// attempt was made, so there is no child span; the answer's target, model
// and usage are the stored ones, its cost 0.
func (x *exchange) finishTracingHit(e *cache.Entry) {
	span := x.spans.req
	if span == nil {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", x.req.Op.Name()),
		attribute.String("gen_ai.request.model", x.req.Model),
		attribute.Bool("gen_ai.request.stream", x.req.Stream),
		attribute.Int("llm_router.attempts", 0),
		attribute.String("llm_router.api", x.api.Name()),
	}
	if x.req.MaxTokens > 0 {
		attrs = append(attrs, attribute.Int64("gen_ai.request.max_tokens", x.req.MaxTokens))
	}
	if e != nil {
		u := e.Usage
		attrs = append(attrs,
			attribute.String("gen_ai.response.model", e.Model),
			attribute.String("llm_router.target", e.Target),
			attribute.Int64("gen_ai.usage.input_tokens", u.PromptTokens),
			attribute.Int64("gen_ai.usage.output_tokens", u.CompletionTokens),
			attribute.Int64("gen_ai.usage.cache_read.input_tokens", u.PromptTokens),
			attribute.Float64("llm_router.cost_usd", 0),
			attribute.String("llm_router.cache", "hit"),
		)
		if u.FinishReason != "" {
			attrs = append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{u.FinishReason}))
		}
	}
	if x.keyName != "" {
		attrs = append(attrs, attribute.String("llm_router.key", x.keyName))
	}
	span.SetAttributes(attrs...)
}

// providerSemconv is the gen_ai.provider.name of a provider module.
func providerSemconv(module string) string {
	switch module {
	case "azure":
		return "azure.ai.openai"
	case "gemini":
		return "gcp.gemini"
	}
	return module
}
