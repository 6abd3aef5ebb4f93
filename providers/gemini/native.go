package gemini

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// Speaks reports the Gemini API's own operations, which Gemini clients'
// requests pass through unchanged.
func (Provider) Speaks(op llm.Op) bool {
	switch op {
	case llm.OpGenerateContent, llm.OpGeminiCountTokens, llm.OpEmbedContent, llm.OpBatchEmbedContents:
		return true
	}
	return false
}

// NewNativeRequest builds the request of a Gemini client passed through:
// `{base_url}/{api_version}/models/{model}:{method}` (`?alt=sse` for a
// stream) with the client's body byte for byte — except, for
// batchEmbedContents and embedContent, a `model` member naming another
// model than the upstream one, which Gemini requires to match the path —
// and the key in x-goog-api-key, never in the URL.
func (Provider) NewNativeRequest(ctx context.Context, c *llm.Call) (*http.Request, error) {
	method := ":" + c.Op.String()
	if c.Op == llm.OpGenerateContent && c.Stream {
		method = ":streamGenerateContent?alt=sse"
	}
	body := c.Body
	switch c.Op {
	case llm.OpBatchEmbedContents:
		body = spliceModels(body, "requests.#.model", "models/"+strings.TrimPrefix(c.Model, "models/"))
	case llm.OpEmbedContent:
		body = spliceModels(body, "model", "models/"+strings.TrimPrefix(c.Model, "models/"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, methodURL(c, method), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header["Content-Type"] = jsonContentType
	if c.Stream {
		req.Header["Accept"] = eventStreamValue
	}
	if key := c.Key(); key != "" {
		req.Header["X-Goog-Api-Key"] = []string{key}
	}
	providers.SetExtraHeaders(req, c.Upstream.Header)
	return req, nil
}

// spliceModels returns body with every string at path (a gjson path; with
// `#` one per array element) that is not model replaced by model, in
// order, and every other byte as it was. When nothing differs body itself
// is returned.
func spliceModels(body []byte, path, model string) []byte {
	found := gjson.Get(llm.BytesString(body), path)
	var out []byte
	pos := 0
	splice := func(m gjson.Result) {
		if m.Type == gjson.String && m.Str == model {
			return
		}
		if m.Index <= 0 || m.Index < pos {
			return // not placed in the body: left for the upstream to judge
		}
		if out == nil {
			out = make([]byte, 0, len(body)+64)
		}
		out = append(out, body[pos:m.Index]...)
		out = llm.AppendString(out, model)
		pos = m.Index + len(m.Raw)
	}
	if strings.Contains(path, "#") {
		found.ForEach(func(_, m gjson.Result) bool {
			splice(m)
			return true
		})
	} else if found.Exists() {
		splice(found)
	}
	if out == nil {
		return body
	}
	return append(out, body[pos:]...)
}
