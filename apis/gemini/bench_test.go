package gemini

import (
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Run with: go test -run '^$' -bench . -benchmem ./apis/gemini

func BenchmarkToHub(b *testing.B) {
	for _, name := range []string{"basic", "function_loop", "tools", "media"} {
		body := goldenfile.Read(b, filepath.Join("testdata", "tohub", name+".gemini.json"))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := chatToHub(nil, body, "client-model", false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncoderAnswer(b *testing.B) {
	for _, name := range []string{"text", "tool_calls"} {
		body := goldenfile.Read(b, filepath.Join("testdata", "answer", name+".hub.json"))
		b.Run(name, func(b *testing.B) {
			req := chatRequest(nil, false)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encode(b, req, "application/json", body, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncoderStream(b *testing.B) {
	for _, name := range []string{"text", "parallel_tools"} {
		body := goldenfile.Read(b, filepath.Join("testdata", "stream", name+".hub.sse"))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				runStream(b, body, 0)
			}
		})
	}
}

// BenchmarkEncoderChunk is the cost of one text delta, the hot path of a
// translated stream, without the recorder's setup.
func BenchmarkEncoderChunk(b *testing.B) {
	event := []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" is blue"},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	enc := newEncoder(stream.NewWriter(httptest.NewRecorder()), chatRequest(nil, true))
	enc.Header().Set("Content-Type", stream.ContentType)
	b.SetBytes(int64(len(event)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.Write(event); err != nil {
			b.Fatal(err)
		}
	}
}
