// Package azure is the `azure` provider: Azure OpenAI deployments. Requests
// go to `{base_url}/openai/deployments/{model}/{chat/completions,
// completions, embeddings}?api-version=…` with the key in `api-key`; bodies
// and responses pass through as for the `openai` provider. The media
// endpoints go to the deployment's own paths (see media.go); the Responses
// API to the v1 API (see native.go).
package azure

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/providers/openai"
)

func init() {
	caddy.RegisterModule(Provider{})
}

// DefaultAPIVersion is the api-version sent when the target sets none: the
// GA version that supports stream_options.include_usage.
const DefaultAPIVersion = "2024-10-21"

// Provider is the `azure` provider. The deployment name is the upstream
// model (use `model_map` or `to <target> <deployment>` to name it).
type Provider struct{}

// CaddyModule returns the Caddy module information.
func (Provider) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.providers.azure",
		New: func() caddy.Module { return new(Provider) },
	}
}

// ConfigureUpstream requires base_url (the resource endpoint, e.g.
// https://my-resource.openai.azure.com) and fills in the api-version.
func (Provider) ConfigureUpstream(u *llm.Upstream) error {
	if u.BaseURL == "" {
		return fmt.Errorf("the azure provider needs base_url, e.g. https://<resource>.openai.azure.com")
	}
	u.BaseURL = strings.TrimRight(u.BaseURL, "/")
	if u.APIVersion == "" {
		u.APIVersion = DefaultAPIVersion
	}
	return nil
}

// NewRequest builds the deployment request with the `api-key` header.
func (Provider) NewRequest(ctx context.Context, c *llm.Call) (*http.Request, error) {
	target := c.Upstream.BaseURL + "/openai/deployments/" + url.PathEscape(c.Model) +
		c.Op.String() + "?api-version=" + url.QueryEscape(c.Upstream.APIVersion)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return nil, err
	}
	openai.AttachBody(req, c)
	if key := c.Key(); key != "" {
		req.Header["Api-Key"] = []string{key}
	}
	providers.SetExtraHeaders(req, c.Upstream.Header)
	return req, nil
}

// WriteResponse relays the answer unchanged, as for OpenAI.
func (Provider) WriteResponse(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	return openai.Relay(w, resp, c)
}

// ReadError keeps Azure's OpenAI-shaped error bodies as they are.
func (Provider) ReadError(resp *http.Response, body []byte, _ *llm.Call) *llm.Error {
	return openai.ParseError(resp, body)
}

// Interface guards
var (
	_ providers.Provider   = (*Provider)(nil)
	_ providers.Configurer = (*Provider)(nil)
)
