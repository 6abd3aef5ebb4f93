package providers

import (
	"bytes"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/llmrouter/caddy-llm-router/stream"
)

// Snippet is a short, printable excerpt of a non-JSON error body, for error
// messages.
func Snippet(b []byte) string {
	const max = 200
	if len(b) > max {
		b = b[:max]
	}
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return string(bytes.Join(bytes.Fields(b), []byte(" ")))
}

// IsEventStream reports whether a response is Server-Sent Events.
func IsEventStream(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == stream.ContentType {
		return true
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == stream.ContentType
}
