package azure

import (
	"context"
	"net/http"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/providers/openai"
)

// Speaks reports that Azure OpenAI serves the Responses API and the media
// operations itself, moderations aside: Azure OpenAI has no moderations
// endpoint (its content filters run on every deployment instead), so a
// moderation request skips an azure target as unsupported.
func (Provider) Speaks(op llm.Op) bool {
	return op == llm.OpResponses || op.Media() && op != llm.OpModeration
}

// NewNativeRequest builds `POST {base_url}/openai/v1/responses`: the
// Responses API of Azure's v1 API, generally available since August 2025,
// which takes the deployment as the body's `model` and no api-version
// (the older preview path,
// `/openai/responses?api-version=2025-03-01-preview`, is not used). The
// body is the client's byte for byte but for `model`; the key goes in
// `api-key`.
func (Provider) NewNativeRequest(ctx context.Context, c *llm.Call) (*http.Request, error) {
	if c.Op.Media() {
		return newMediaRequest(ctx, c)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Upstream.BaseURL+"/openai/v1/responses", nil)
	if err != nil {
		return nil, err
	}
	openai.AttachNativeBody(req, c)
	if key := c.Key(); key != "" {
		req.Header["Api-Key"] = []string{key}
	}
	providers.SetExtraHeaders(req, c.Upstream.Header)
	return req, nil
}

// RelayNative relays a Responses API answer unchanged, and a media answer
// byte for byte, as for OpenAI.
func (Provider) RelayNative(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	if c.Op.Media() {
		return openai.RelayMedia(w, resp, c)
	}
	return openai.RelayResponses(w, resp, c)
}

// Interface guards
var _ providers.Native = (*Provider)(nil)
