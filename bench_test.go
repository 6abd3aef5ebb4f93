package llmrouter

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// benchUpstream answers every chat request with a pre-built body, or a
// pre-built stream of n chunks, as fast as it can.
func benchUpstream(tb testing.TB, chunks int) *httptest.Server {
	resp := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}`)
	var stream bytes.Buffer
	for i := 0; i < chunks; i++ {
		fmt.Fprintf(&stream, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"},\"finish_reason\":null}],\"usage\":null}\n\n", i)
	}
	stream.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}` + "\n\ndata: [DONE]\n\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("Accept") == "text/event-stream" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(stream.Bytes())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(resp)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// discard is a ResponseWriter that keeps nothing, so the benchmark measures
// the router, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

func benchServe(b *testing.B, h *Handler, body string, header ...string) {
	b.Helper()
	b.ReportAllocs()
	payload := []byte(body)
	b.SetBytes(int64(len(payload)))
	w := &discard{h: make(http.Header)}
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(payload))
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		repl := caddy.NewReplacer()
		r = caddyhttp.PrepareRequest(r, repl, w, nil)
		clear(w.h)
		if err := h.ServeHTTP(w, r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

const benchBody = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello! Please say hello back."}],"temperature":0.7}`

// BenchmarkPassthrough is one non-streamed OpenAI-compatible request through
// the router to a local upstream over loopback.
func BenchmarkPassthrough(b *testing.B) {
	up := benchUpstream(b, 0)
	h := provisioned(b, "llm_router {\n target a {\n  base_url "+up.URL+"/v1\n }\n}")
	benchServe(b, h, benchBody)
}

// BenchmarkPassthroughStream is one streamed request of 50 chunks.
func BenchmarkPassthroughStream(b *testing.B) {
	up := benchUpstream(b, 50)
	h := provisioned(b, "llm_router {\n target a {\n  base_url "+up.URL+"/v1\n }\n}")
	benchServe(b, h, strings.Replace(benchBody, `"temperature"`, `"stream":true,"temperature"`, 1))
}

// BenchmarkPassthroughAlias adds an alias with a model rewrite.
func BenchmarkPassthroughAlias(b *testing.B) {
	up := benchUpstream(b, 0)
	h := provisioned(b, "llm_router {\n target a {\n  base_url "+up.URL+"/v1\n }\n model gpt-4o-mini {\n  to a upstream-model\n }\n}")
	benchServe(b, h, benchBody)
}

// BenchmarkMock is the gateway alone: no upstream hop.
func BenchmarkMock(b *testing.B) {
	h := provisioned(b, "llm_router {\n target a {\n  provider mock\n }\n}")
	benchServe(b, h, benchBody)
}

// BenchmarkPassthroughBodySize shows that the bytes allocated per request do
// not grow with the request body: the body is read into one pooled buffer
// and spliced upstream without copies.
func BenchmarkPassthroughBodySize(b *testing.B) {
	up := benchUpstream(b, 0)
	h := provisioned(b, "llm_router {\n target a {\n  base_url "+up.URL+"/v1\n }\n model alias {\n  to a upstream-model\n }\n}")
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			body := `{"model":"alias","messages":[{"role":"user","content":"` + strings.Repeat("x", size) + `"}]}`
			benchServe(b, h, body)
		})
	}
}

// BenchmarkPassthroughKeyed is BenchmarkPassthrough with a router key that
// has an rpm limit and a budget on the memory store (the overhead of keys).
func BenchmarkPassthroughKeyed(b *testing.B) {
	up := benchUpstream(b, 0)
	h := provisioned(b, "llm_router {\n target a {\n  base_url "+up.URL+"/v1\n  price * 1 1\n }\n key sk-bench-key-0123456789 {\n  name bench\n  rpm 100000000\n  budget 1000000 daily\n }\n}")
	benchServe(b, h, benchBody, "Authorization", "Bearer sk-bench-key-0123456789")
}
