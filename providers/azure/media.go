package azure

import (
	"context"
	"net/http"
	"net/url"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/providers/openai"
)

// newMediaRequest builds a media request on the deployment, as the Azure
// OpenAI data-plane reference (and the official SDKs' Azure routing) has
// them: `{base_url}/openai/deployments/{deployment}/{images/generations,
// images/edits, audio/speech, audio/transcriptions,
// audio/translations}?api-version=…`, the key in `api-key`. A JSON body is
// the client's with `model` set to the deployment; an upload
// (multipart/form-data) goes byte for byte, its `model` field as the client
// wrote it, since the deployment in the path decides. Image edits and the
// newer audio models need a preview api-version (2025-04-01-preview or
// later) on the target.
func newMediaRequest(ctx context.Context, c *llm.Call) (*http.Request, error) {
	target := c.Upstream.BaseURL + "/openai/deployments/" + url.PathEscape(c.Model) +
		c.Op.String() + "?api-version=" + url.QueryEscape(c.Upstream.APIVersion)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return nil, err
	}
	if err := openai.AttachMediaBody(req, c, false); err != nil {
		return nil, err
	}
	if key := c.Key(); key != "" {
		req.Header["Api-Key"] = []string{key}
	}
	providers.SetExtraHeaders(req, c.Upstream.Header)
	return req, nil
}
