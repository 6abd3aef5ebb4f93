package integration

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// otlpReceiver is an OTLP/HTTP trace receiver: Caddy's tracing exporter
// (autoexport, protocol http/protobuf) posts ExportTraceServiceRequest
// messages to /v1/traces.
type otlpReceiver struct {
	url   string
	mu    sync.Mutex
	spans []*tracepb.Span
}

// newOTLPReceiver returns the test binary's one receiver, started on first
// use and never stopped: Caddy's tracing modules share one tracer provider
// (and its exporter, with the endpoint read when it was made) for as long
// as a config uses tracing, so every test of the process must export to
// the same endpoint.
func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	otlpOnce.Do(func() {
		rcv := &otlpReceiver{}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			otlpErr = err
			return
		}
		srv := &http.Server{Handler: http.HandlerFunc(rcv.serve)}
		go func() { _ = srv.Serve(l) }()
		rcv.url = "http://" + l.Addr().String()
		otlpShared = rcv
	})
	if otlpErr != nil {
		t.Fatal(otlpErr)
	}
	return otlpShared
}

var (
	otlpOnce   sync.Once
	otlpShared *otlpReceiver
	otlpErr    error
)

func (rcv *otlpReceiver) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	var req collectortrace.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(b, &req) != nil {
		http.Error(w, "bad export", 400)
		return
	}
	rcv.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			rcv.spans = append(rcv.spans, ss.Spans...)
		}
	}
	rcv.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// exportHere points the OTLP exporter of the Caddy the test loads next at
// rcv (OTLP/HTTP protobuf, uncompressed), every trace sampled, batches
// sent every 20 ms.
func (rcv *otlpReceiver) exportHere(t *testing.T) {
	for k, v := range map[string]string{
		"OTEL_TRACES_EXPORTER":                  "otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL":           "http/protobuf",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":    rcv.url + "/v1/traces",
		"OTEL_BSP_SCHEDULE_DELAY":               "20",
		"OTEL_TRACES_SAMPLER":                   "always_on",
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":     "5000",
		"OTEL_EXPORTER_OTLP_COMPRESSION":        "none",
		"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "none",
	} {
		t.Setenv(k, v)
	}
}

// trace returns the spans of one trace id.
func (rcv *otlpReceiver) trace(id []byte) []*tracepb.Span {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range rcv.spans {
		if bytes.Equal(s.TraceId, id) {
			out = append(out, s)
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

// With Caddy's `tracing` in front, the request's span carries the GenAI and
// router attributes, each attempt is a CLIENT child span, the upstream gets
// the attempt's traceparent, and no message content is on any span.
func TestTracingSpans(t *testing.T) {
	rcv := newOTLPReceiver(t)
	rcv.exportHere(t)
	flaky := fakeupstream.NewOpenAI(t, "flaky")
	steady := fakeupstream.NewOpenAI(t, "steady")
	load(t, fmt.Sprintf(`tracing {
		span llm
	}
	llm_router {
		target flaky {
			base_url %s
			models gpt-*
			price gpt-* 2 8
		}
		target steady {
			base_url %s
			weight 0
			models gpt-*
		}
		retries 0
	}`, flaky.BaseURL(), steady.BaseURL()))

	const secret = "the-words-of-a-private-prompt"
	body := fmt.Sprintf(`{"model":"gpt-4o","max_tokens":50,"stream":%%t,"messages":[{"role":"user","content":%q}]}`, secret)
	for _, streamed := range []bool{false, true} {
		flaky.Reset()
		steady.Reset()
		flaky.Script(fakeupstream.Step{Status: 500})
		r := do(t, "/v1/chat/completions", fmt.Sprintf(body, streamed))
		expectStatus(t, r, 200)
		if r.Header.Get("X-LLM-Target") != "steady" {
			t.Fatalf("answered by %q", r.Header.Get("X-LLM-Target"))
		}
		// The upstream requests carry traceparent headers of one trace.
		tp := [2]string{flaky.Last().Header.Get("Traceparent"), steady.Last().Header.Get("Traceparent")}
		parts := [2][]string{strings.Split(tp[0], "-"), strings.Split(tp[1], "-")}
		if len(parts[0]) != 4 || len(parts[1]) != 4 || parts[0][1] != parts[1][1] || parts[0][2] == parts[1][2] {
			t.Fatalf("traceparent headers %q", tp)
		}
		traceID, _ := hex.DecodeString(parts[0][1])
		var spans []*tracepb.Span
		eventually(t, 10*time.Second, func() bool {
			spans = rcv.trace(traceID)
			return len(spans) >= 3
		}, "three spans of the trace at the OTLP receiver")

		var server *tracepb.Span
		clients := map[string]*tracepb.Span{}
		for _, s := range spans {
			switch s.Kind {
			case tracepb.Span_SPAN_KIND_SERVER:
				server = s
			case tracepb.Span_SPAN_KIND_CLIENT:
				clients[hex.EncodeToString(s.SpanId)] = s
			}
		}
		if server == nil || len(clients) != 2 {
			t.Fatalf("spans %v", spans)
		}
		for i, p := range parts {
			c := clients[p[2]]
			if c == nil {
				t.Fatalf("no client span %s for upstream %d", p[2], i)
			}
			if !bytes.Equal(c.ParentSpanId, server.SpanId) || c.Name != "chat gpt-4o" {
				t.Fatalf("attempt span %q parent %x, server %x", c.Name, c.ParentSpanId, server.SpanId)
			}
			wantTarget, wantOutcome, wantStatus := "flaky", "upstream_5xx", int64(500)
			if i == 1 {
				wantTarget, wantOutcome, wantStatus = "steady", "success", 200
			}
			if attr(c, "llm_router.target").GetStringValue() != wantTarget || attr(c, "llm_router.outcome").GetStringValue() != wantOutcome ||
				attr(c, "http.response.status_code").GetIntValue() != wantStatus || attr(c, "gen_ai.provider.name").GetStringValue() != "openai" {
				t.Fatalf("attempt span attributes %v", c.Attributes)
			}
		}
		checks := map[string]func(*commonpb.AnyValue) bool{
			"gen_ai.operation.name":                func(v *commonpb.AnyValue) bool { return v.GetStringValue() == "chat" },
			"gen_ai.provider.name":                 func(v *commonpb.AnyValue) bool { return v.GetStringValue() == "openai" },
			"gen_ai.request.model":                 func(v *commonpb.AnyValue) bool { return v.GetStringValue() == "gpt-4o" },
			"gen_ai.response.model":                func(v *commonpb.AnyValue) bool { return v.GetStringValue() == "gpt-4o" },
			"gen_ai.request.stream":                func(v *commonpb.AnyValue) bool { return v.GetBoolValue() == streamed },
			"gen_ai.request.max_tokens":            func(v *commonpb.AnyValue) bool { return v.GetIntValue() == 50 },
			"gen_ai.usage.input_tokens":            func(v *commonpb.AnyValue) bool { return v.GetIntValue() > 0 },
			"gen_ai.usage.output_tokens":           func(v *commonpb.AnyValue) bool { return v.GetIntValue() > 0 },
			"gen_ai.usage.cache_read.input_tokens": func(v *commonpb.AnyValue) bool { return v != nil },
			"llm_router.target":                    func(v *commonpb.AnyValue) bool { return v.GetStringValue() == "steady" },
			"llm_router.attempts":                  func(v *commonpb.AnyValue) bool { return v.GetIntValue() == 2 },
			"llm_router.cost_usd":                  func(v *commonpb.AnyValue) bool { return v == nil }, // steady has no price
		}
		if streamed {
			checks["gen_ai.response.time_to_first_chunk"] = func(v *commonpb.AnyValue) bool { return v.GetDoubleValue() > 0 }
		}
		for key, ok := range checks {
			if !ok(attr(server, key)) {
				t.Errorf("stream %v: server span attribute %s = %v", streamed, key, attr(server, key))
			}
		}
		for _, s := range spans {
			if strings.Contains(s.String(), secret) || strings.Contains(s.String(), "Hello from") {
				t.Fatalf("message content on span %q: %v", s.Name, s)
			}
		}
	}
}

// A cache hit makes no attempt, so its trace has no CLIENT span; the
// request's span still carries the answer's model and usage, cost 0 and
// llm_router.cache "hit" (a miss says "miss").
func TestTracingCacheHit(t *testing.T) {
	rcv := newOTLPReceiver(t)
	rcv.exportHere(t)
	up := fakeupstream.NewOpenAI(t, "up")
	load(t, fmt.Sprintf(`tracing {
		span llm
	}
	llm_router {
		target up {
			base_url %s
			price gpt-* 2 8
		}
		cache 1m
	}`, up.BaseURL()))

	body := `{"model":"gpt-4o-traced-cache","messages":[{"role":"user","content":"cache me"}]}`
	for i, want := range []string{"miss", "hit"} {
		traceID := fmt.Sprintf("%016x%016x", time.Now().UnixNano(), 0xcace0+i) // new in every run
		r := do(t, "/v1/chat/completions", body, "Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		expectStatus(t, r, 200)
		if r.Header.Get("X-LLM-Cache") != want {
			t.Fatalf("request %d: X-LLM-Cache %q, want %q", i, r.Header.Get("X-LLM-Cache"), want)
		}
		id, _ := hex.DecodeString(traceID)
		var server *tracepb.Span
		clients := 0
		eventually(t, 10*time.Second, func() bool {
			server, clients = nil, 0
			for _, s := range rcv.trace(id) {
				switch s.Kind {
				case tracepb.Span_SPAN_KIND_SERVER:
					server = s
				case tracepb.Span_SPAN_KIND_CLIENT:
					clients++
				}
			}
			return server != nil && (want == "hit" || clients == 1)
		}, "the request's span at the OTLP receiver")
		if got := attr(server, "llm_router.cache").GetStringValue(); got != want {
			t.Fatalf("request %d: llm_router.cache %q, want %q: %v", i, got, want, server.Attributes)
		}
		if want == "miss" {
			continue
		}
		if clients != 0 {
			t.Fatalf("a hit has %d attempt spans", clients)
		}
		if attr(server, "llm_router.attempts").GetIntValue() != 0 || attr(server, "llm_router.target").GetStringValue() != "up" ||
			attr(server, "gen_ai.response.model").GetStringValue() != "gpt-4o-traced-cache" ||
			attr(server, "gen_ai.usage.input_tokens").GetIntValue() <= 0 || attr(server, "gen_ai.usage.output_tokens").GetIntValue() <= 0 ||
			attr(server, "llm_router.cost_usd") == nil || attr(server, "llm_router.cost_usd").GetDoubleValue() != 0 {
			t.Fatalf("hit span attributes %v", server.Attributes)
		}
	}
}
