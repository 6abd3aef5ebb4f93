package gemini

import (
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Run with: go test -run '^$' -bench . -benchmem ./providers/gemini

func BenchmarkTranslateRequest(b *testing.B) {
	for _, name := range []string{"basic", "tool_results", "tools"} {
		body := goldenfile.Read(b, filepath.Join("testdata", "request", name+".openai.json"))
		b.Run(name, func(b *testing.B) {
			c := chatCall(body, false, false)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := translateChat(nil, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTranslateResponse(b *testing.B) {
	for _, name := range []string{"text", "tool_calls"} {
		body := goldenfile.Read(b, filepath.Join("testdata", "response", name+".gemini.json"))
		b.Run(name, func(b *testing.B) {
			c := chatCall([]byte(`{"model":"m","messages":[]}`), false, false)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				if _, err := (Provider{}).WriteResponse(stream.NewWriter(rec), jsonResponse(body), c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTranslateStream(b *testing.B) {
	for _, name := range []string{"text", "parallel_tools"} {
		body := goldenfile.Read(b, filepath.Join("testdata", "stream", name+".gemini.sse"))
		b.Run(name, func(b *testing.B) {
			c := chatCall([]byte(`{"model":"m","messages":[]}`), true, true)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				if _, err := (Provider{}).WriteResponse(stream.NewWriter(rec), sseResponse(body), c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamFrame is the per-event cost of the translation alone,
// without the recorder and the reader.
func BenchmarkStreamFrame(b *testing.B) {
	frame := []byte(`{"candidates":[{"content":{"parts":[{"text":" is blue"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.0-flash","responseId":"sse-1"}`)
	t := newStreamTranslator(chatCall(nil, true, false))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.frame(frame); err != nil {
			b.Fatal(err)
		}
	}
}
