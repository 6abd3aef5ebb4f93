package openai

import (
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/openaiwire"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// appendAsChunks renders a whole chat completion as chunks (see
// openaiwire.AppendChunks).
func appendAsChunks(b []byte, doc gjson.Result, includeUsage bool) []byte {
	return openaiwire.AppendChunks(b, doc, includeUsage)
}

// writeAsStream answers a streamed request whose upstream sent one JSON
// answer with that answer as an event stream.
func writeAsStream(w llm.ResponseWriter, body []byte, c *llm.Call) error {
	out := appendAsChunks(make([]byte, 0, len(body)*2+256), gjson.ParseBytes(body), c.IncludeUsage)
	h := w.Header()
	delete(h, "Content-Length")
	h["Content-Type"] = []string{stream.ContentType}
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(out); err != nil {
		return err
	}
	return w.Flush()
}
