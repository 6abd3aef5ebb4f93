package openai

import (
	"context"
	"net/http"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// Speaks reports that OpenAI serves the Responses API and the media
// operations (images, audio, moderations) itself: such requests pass
// through.
func (Provider) Speaks(op llm.Op) bool { return op == llm.OpResponses || op.Media() }

// NewNativeRequest builds `POST {base_url}/responses` with the client's body
// byte for byte but for `model`, and `Authorization: Bearer`; a media
// request goes to its own path (see newMediaRequest).
func (Provider) NewNativeRequest(ctx context.Context, c *llm.Call) (*http.Request, error) {
	if c.Op.Media() {
		return newMediaRequest(ctx, c)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Upstream.BaseURL+"/responses", nil)
	if err != nil {
		return nil, err
	}
	AttachNativeBody(req, c)
	if key := c.Key(); key != "" {
		req.Header["Authorization"] = []string{"Bearer " + key}
	}
	providers.SetExtraHeaders(req, c.Upstream.Header)
	return req, nil
}

// AttachNativeBody sets a passthrough request's body (the client's, with
// the upstream model; nothing is injected: a Responses stream always ends
// with its usage), its content headers and the client headers the API
// forwards.
func AttachNativeBody(req *http.Request, c *llm.Call) {
	providers.NewPassthroughBody(c.Body, c.Model, false).Attach(req)
	for k, v := range c.ClientHeader {
		req.Header[k] = v
	}
	req.Header["Content-Type"] = jsonContentType
	if c.Stream {
		req.Header["Accept"] = eventStreamValue
	}
}

// RelayNative relays a Responses API answer unchanged (see
// RelayResponses), a media answer byte for byte (see RelayMedia).
func (Provider) RelayNative(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	if c.Op.Media() {
		return RelayMedia(w, resp, c)
	}
	return RelayResponses(w, resp, c)
}

// Interface guards
var _ providers.Native = (*Provider)(nil)
