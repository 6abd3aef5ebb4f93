package redact

import (
	"bytes"
	"strings"
	"testing"
)

// benchSecrets are shaped like real upstream keys and header values.
var benchSecrets = []string{
	"sk-proj-" + strings.Repeat("aB3dE5fG7h", 16),
	"sk-ant-api03-" + strings.Repeat("Zq9_xY8-wV", 9) + "AA",
	"AIzaSyD" + strings.Repeat("k3Jr8sQ2", 4),
	"Bearer gsk_" + strings.Repeat("Tq8mNb4R", 6),
}

// benchBody is a JSON error body without secrets, of size bytes, dense with
// what makes the scanner look closer: escapes, percent signs, "sk-", "AIza".
func benchBody(size int) []byte {
	const chunk = `{"error":{"message":"The model \"gpt-4o\" does not exist or you do not have access to it. See https:\/\/platform.openai.com\/docs?q=a%20b\u00e9 — skip, sk-, AIza? \n","type":"invalid_request_error","param":null,"code":"model_not_found"}}` + "\n"
	var b bytes.Buffer
	for b.Len() < size {
		b.WriteString(chunk)
	}
	return b.Bytes()[:size]
}

func benchmarkScrub(b *testing.B, size int) {
	s := New(benchSecrets...)
	body := benchBody(size)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if out := s.Scrub(body); &out[0] != &body[0] {
			b.Fatal("scrubbed a body without secrets")
		}
	}
}

func BenchmarkScrubClean4KiB(b *testing.B) { benchmarkScrub(b, 4<<10) }
func BenchmarkScrubClean1MiB(b *testing.B) { benchmarkScrub(b, 1<<20) }

// A chat answer without escapes: the common body.
func BenchmarkScrubCleanAnswer1MiB(b *testing.B) {
	s := New(benchSecrets...)
	const chunk = `{"id":"chatcmpl-123","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, how may I help you today?"}}]}` + "\n"
	body := []byte(strings.Repeat(chunk, 1<<20/len(chunk)))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if out := s.Scrub(body); &out[0] != &body[0] {
			b.Fatal("scrubbed a body without secrets")
		}
	}
}

func BenchmarkScrubStringClean4KiB(b *testing.B) {
	s := New(benchSecrets...)
	body := string(benchBody(4 << 10))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if s.ScrubString(body) != body {
			b.Fatal("scrubbed a body without secrets")
		}
	}
}

func BenchmarkScrubWithSecret4KiB(b *testing.B) {
	s := New(benchSecrets...)
	body := benchBody(4 << 10)
	copy(body[2000:], benchSecrets[0])
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if out := s.Scrub(body); len(out) >= len(body) {
			b.Fatal("secret not scrubbed")
		}
	}
}

func BenchmarkTruncate1MiB(b *testing.B) {
	s := New(benchSecrets...)
	body := string(benchBody(1 << 20))
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Truncate(body, 200)) > 200 {
			b.Fatal("too long")
		}
	}
}
