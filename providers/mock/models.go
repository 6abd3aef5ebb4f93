package mock

import (
	"context"
	"net/http"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// ListModels returns the configured Models, without the network.
func (p *Provider) ListModels(context.Context, *llm.Upstream, *http.Client) ([]string, error) {
	return append([]string(nil), p.Models...), nil
}

// Interface guards
var _ providers.ModelLister = (*Provider)(nil)
