package openai

import (
	"github.com/llmrouter/caddy-llm-router/internal/openaiwire"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// responseEvents renders a whole `response` object as its events (see
// openaiwire.ResponseEvents).
func responseEvents(body []byte) []byte { return openaiwire.ResponseEvents(body) }

// writeResponseEvents sends a whole answer to a streamed request as its
// event stream.
func writeResponseEvents(w llm.ResponseWriter, status int, body []byte) error {
	h := w.Header()
	h["Content-Type"] = eventStreamValue
	h.Del("Content-Length")
	w.WriteHeader(status)
	if _, err := w.Write(responseEvents(body)); err != nil {
		return err
	}
	return w.Flush()
}
