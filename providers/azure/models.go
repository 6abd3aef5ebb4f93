package azure

import (
	"context"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/providers/openai"
)

// DeploymentsAPIVersion is the api-version of the deployments list. Azure
// OpenAI's data plane lists a resource's deployments only up to this
// version (`GET /openai/deployments`, removed from 2023-05-15 on in favour
// of the management plane, which needs an Azure AD token rather than the
// resource key); the route is still answered with it, so discovery asks
// with it whatever the target's api_version.
const DeploymentsAPIVersion = "2023-03-15-preview"

// ListModels fetches `GET {base_url}/openai/deployments?api-version=
// 2023-03-15-preview` with `api-key` and returns the names (`data[].id`) of
// the deployments whose `status` is `succeeded` (or that carry none): the
// names requests are routed by. A resource that no longer answers that
// route fails the fetch with its 404, so the target lists nothing
// discovered and serves what its `models` and `model_map` say.
func (Provider) ListModels(ctx context.Context, u *llm.Upstream, client *http.Client) ([]string, error) {
	h := make(http.Header, 1+len(u.Header))
	if u.APIKey != "" {
		h["Api-Key"] = []string{u.APIKey}
	}
	for k, v := range u.Header {
		h[k] = v
	}
	body, err := providers.GetList(ctx, client, u.BaseURL+"/openai/deployments?api-version="+DeploymentsAPIVersion, h)
	if err != nil {
		return nil, err
	}
	return openai.ListIDs(body, "/openai/deployments", func(d gjson.Result) bool {
		s := d.Get("status")
		return !s.Exists() || s.Str == "succeeded"
	})
}

// Interface guards
var _ providers.ModelLister = Provider{}
