// Package gemini is the `gemini` provider: Google's Gemini API
// (generativelanguage.googleapis.com). Gemini clients' requests
// (generateContent, streamGenerateContent, countTokens, embedContent,
// batchEmbedContents) pass through byte for byte (see Speaks,
// NewNativeRequest, RelayNative); OpenAI chat and embeddings requests are
// translated as described below.
//
// Requests go to `{base_url}/{api_version}/models/{model}:generateContent`,
// `:streamGenerateContent?alt=sse` (streams) and `:batchEmbedContents`
// (embeddings); api_version defaults to v1beta, a model named
// `tunedModels/…` is called there. The key travels in the `x-goog-api-key`
// header (the target's api_key, else the client's bearer key), never in the
// URL.
//
// Chat requests: system and developer messages → systemInstruction;
// assistant → role model; consecutive turns of one role are merged; text,
// images (data: URLs → inlineData, http(s) and gs URLs → fileData),
// input_audio and inline files; tools → functionDeclarations and
// tool_choice → toolConfig (required → ANY, a named function → ANY with
// allowedFunctionNames); assistant tool_calls → functionCall parts with the
// arguments as objects; tool results → functionResponse parts (a JSON object
// as that object, anything else as {"content": "<text>"}), the function's
// name recovered from the matching call; temperature, top_p,
// max_completion_tokens/max_tokens, stop, n (candidateCount), seed,
// presence/frequency_penalty and response_format (json_object,
// json_schema) → generationConfig, the JSON-schema keywords Gemini rejects
// (additionalProperties, $schema, strict) removed from every schema; Google's
// OpenAI-compatibility extension `google.thinking_config` → thinkingConfig.
// Dropped, as they do not change the answer's meaning: user, logit_bias,
// parallel_tool_calls, store, metadata, service_tier, reasoning_effort,
// prediction. Refused (400 unsupported, so another candidate may serve):
// /v1/completions, logprobs, audio output, non-function tools, file_id
// parts, token-array embedding inputs.
//
// Answers: candidates → choices, text parts joined, thought parts →
// reasoning_content, functionCall parts → tool_calls (arguments as JSON
// strings, ids made up as `call_…`), finishReason mapped (STOP with calls →
// tool_calls, MAX_TOKENS → length, SAFETY, RECITATION and the other block
// reasons → content_filter), usageMetadata → usage, `model` the upstream
// model. Streams: one chat.completion.chunk per Gemini frame, the role in
// the first, each tool call as one delta with its index, the usage chunk
// when asked, and `data: [DONE]`, which Gemini does not send. Errors keep
// Gemini's status, message and status name (as type and code).
package gemini

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func init() {
	caddy.RegisterModule(Provider{})
}

// DefaultBaseURL is the Gemini API's public endpoint.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// DefaultAPIVersion is the path version used when the target sets no
// api_version.
const DefaultAPIVersion = "v1beta"

// Provider is the `gemini` provider. It has no options of its own: the
// endpoint, key, path version (api_version, default v1beta) and headers are
// the target's.
type Provider struct{}

// CaddyModule returns the Caddy module information.
func (Provider) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.providers.gemini",
		New: func() caddy.Module { return new(Provider) },
	}
}

// ConfigureUpstream fills in the public endpoint when base_url is unset and
// the default path version when api_version is.
func (Provider) ConfigureUpstream(u *llm.Upstream) error {
	if u.BaseURL == "" {
		u.BaseURL = DefaultBaseURL
	}
	u.BaseURL = strings.TrimRight(u.BaseURL, "/")
	if u.APIVersion == "" {
		u.APIVersion = DefaultAPIVersion
	}
	u.APIVersion = strings.Trim(u.APIVersion, "/")
	return nil
}

var (
	jsonContentType  = []string{"application/json"}
	eventStreamValue = []string{stream.ContentType}
)

// NewRequest builds the Gemini request for c: the translated body, the
// method URL and the `x-goog-api-key` header.
func (Provider) NewRequest(ctx context.Context, c *llm.Call) (*http.Request, error) {
	var (
		body   []byte
		method string
		err    *llm.Error
	)
	switch c.Op {
	case llm.OpChat:
		body, err = translateChat(nil, c)
		method = ":generateContent"
		if c.Stream {
			method = ":streamGenerateContent?alt=sse"
		}
	case llm.OpEmbeddings:
		body, err = translateEmbeddings(nil, c)
		method = ":batchEmbedContents"
	default:
		return nil, llm.Unsupported(c.Upstream.Name, c.Op.String(), "the Gemini API has no such endpoint")
	}
	if err != nil {
		return nil, err
	}
	// A *bytes.Reader body gets its length and GetBody (for the
	// transport's replays) from NewRequestWithContext.
	req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, methodURL(c, method), bytes.NewReader(body))
	if rerr != nil {
		return nil, rerr
	}
	req.Header["Content-Type"] = jsonContentType
	if c.Stream && c.Op == llm.OpChat {
		req.Header["Accept"] = eventStreamValue
	}
	if key := c.Key(); key != "" {
		req.Header["X-Goog-Api-Key"] = []string{key}
	}
	providers.SetExtraHeaders(req, c.Upstream.Header)
	return req, nil
}

// methodURL is `{base_url}/{api_version}/models/{model}{method}` (or
// `tunedModels/{name}` for a model so named). The model is path-escaped so
// that it cannot add path segments or a query.
func methodURL(c *llm.Call, method string) string {
	version := c.Upstream.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	collection, model := "/models/", strings.TrimPrefix(c.Model, "models/")
	if name, ok := strings.CutPrefix(model, "tunedModels/"); ok {
		collection, model = "/tunedModels/", name
	}
	var b strings.Builder
	b.Grow(len(c.Upstream.BaseURL) + len(version) + len(model) + len(method) + 16)
	b.WriteString(c.Upstream.BaseURL)
	b.WriteByte('/')
	b.WriteString(version)
	b.WriteString(collection)
	b.WriteString(url.PathEscape(model))
	b.WriteString(method)
	return b.String()
}

// WriteResponse translates a 2xx Gemini answer to OpenAI's format: a JSON
// body whole, an event stream chunk by chunk.
func (Provider) WriteResponse(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	switch {
	case c.Op == llm.OpEmbeddings:
		return writeEmbeddings(w, resp, c)
	case c.Stream:
		return writeStream(w, resp, c)
	}
	return writeChat(w, resp, c)
}

// ReadError reads Google's error shape (see parseError).
func (Provider) ReadError(resp *http.Response, body []byte, c *llm.Call) *llm.Error {
	return parseError(resp, body)
}

// Interface guards
var (
	_ providers.Provider   = (*Provider)(nil)
	_ providers.Configurer = (*Provider)(nil)
	_ providers.Checker    = (*Provider)(nil)
	_ providers.Native     = (*Provider)(nil)
)
