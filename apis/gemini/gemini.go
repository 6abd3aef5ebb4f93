// Package gemini is the Gemini inbound API (Google's Generative Language
// API, as the Google Gen AI SDKs speak it): generateContent,
// streamGenerateContent, countTokens, embedContent and batchEmbedContents
// under /v1beta/models/{model} (and /v1/models/{model}), and the models list
// at /v1beta/models.
//
// A request whose candidate is a `gemini` target passes through byte for
// byte (the model is in the path). For other targets it is translated to
// the hub format (OpenAI chat or embeddings, see ToHub) and the hub answer
// back to Gemini's (see the encoder). countTokens with no gemini target is
// answered with an estimate (see Answer). Errors are Google's shape,
// `{"error":{"code":…,"message":…,"status":…}}`.
package gemini

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func init() {
	caddy.RegisterModule(API{})
}

// API is the Gemini API.
type API struct{}

// CaddyModule returns the Caddy module information.
func (API) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.apis.gemini",
		New: func() caddy.Module { return new(API) },
	}
}

// Name implements apis.API.
func (API) Name() string { return "gemini" }

// Format implements apis.API.
func (API) Format() string { return llm.FormatGemini }

// Parse reads the client's key (`x-goog-api-key`, else `?key=`), takes the
// model from the path, and checks the top-level shape of the body in one
// pass: `contents` for generateContent, `contents` or
// `generateContentRequest` for countTokens, `content` for embedContent,
// `requests` for batchEmbedContents; `generationConfig.maxOutputTokens` is
// the output limit. The prompt's tokens are estimated as countTokens
// estimates them.
func (a API) Parse(r *http.Request, body []byte, rt apis.Route) (*apis.Request, *llm.Error) {
	model := strings.TrimPrefix(rt.Model, "models/")
	if e := apis.CheckModel(model); e != nil {
		return nil, e
	}
	req := &apis.Request{
		API: a, Op: rt.Op, Body: body, Model: strings.Clone(model), Stream: rt.Stream,
		// The hub stream must end with its usage chunk: the last Gemini
		// chunk carries usageMetadata.
		IncludeUsage: true,
		ClientKey:    clientKey(r),
	}
	switch rt.Op {
	case llm.OpGenerateContent:
		req.HubOp = llm.OpChat
	case llm.OpEmbedContent, llm.OpBatchEmbedContents:
		req.HubOp = llm.OpEmbeddings
	}
	var (
		required string
		found    bool
		e        *llm.Error
	)
	switch rt.Op {
	case llm.OpGenerateContent, llm.OpGeminiCountTokens:
		required = "contents"
	case llm.OpEmbedContent:
		required = "content"
	case llm.OpBatchEmbedContents:
		required = "requests"
	}
	gjson.Parse(llm.BytesString(body)).ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "contents", "requests":
			if key.Str == required {
				if !v.IsArray() {
					e = apis.Invalid(key.Str, "'%s' must be an array", key.Str)
					return false
				}
				found = true
			}
		case "content":
			if key.Str == required {
				if !v.IsObject() {
					e = apis.Invalid("content", "'content' must be an object")
					return false
				}
				found = true
			}
		case "generateContentRequest", "generate_content_request":
			if rt.Op == llm.OpGeminiCountTokens && v.IsObject() {
				found = true
			}
		case "generationConfig", "generation_config":
			if n := field(v, "maxOutputTokens", "max_output_tokens"); n.Type == gjson.Number && n.Int() > 0 {
				req.MaxTokens = n.Int()
			}
		}
		return true
	})
	switch {
	case e != nil:
		return nil, e
	case !found:
		return nil, apis.Invalid(required, "'%s' is required", required)
	}
	// Limits and budgets count images by what they cost, not by the size
	// of their base64, which the router's generic estimate would.
	req.EstimatedPromptTokens = max(estimateTokens(body), 1)
	return req, nil
}

// clientKey is the key as the Gen AI SDKs send it: the `x-goog-api-key`
// header, else the `key` query parameter.
func clientKey(r *http.Request) string {
	if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
		return strings.TrimSpace(k)
	}
	if r.URL == nil || !strings.Contains(r.URL.RawQuery, "key=") {
		return ""
	}
	return r.URL.Query().Get("key")
}

// field is obj's member named camel, else snake: Google's JSON accepts the
// proto field names in both spellings.
func field(obj gjson.Result, camel, snake string) gjson.Result {
	if v := obj.Get(camel); v.Exists() {
		return v
	}
	return obj.Get(snake)
}

// NewEncoder returns the encoder that turns the hub answer a provider
// writes into Gemini's.
func (API) NewEncoder(w *stream.Writer, req *apis.Request) apis.Encoder {
	return newEncoder(w, req)
}

// Interface guards
var (
	_ apis.API         = API{}
	_ apis.Translator  = API{}
	_ apis.Local       = API{}
	_ apis.ModelLister = API{}
)
