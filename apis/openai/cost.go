package openai

import (
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	openaiprovider "github.com/llmrouter/caddy-llm-router/providers/openai"
)

// CostFilter implements apis.CostSplicer: the cost goes into the top-level
// `usage` of a chat completion, completion or embeddings answer, and of
// every stream chunk that has one (the final usage chunk, when the client
// asked for it with stream_options.include_usage).
func (API) CostFilter(_ *apis.Request, _ bool, cost apis.CostFunc) *apis.CostFilter {
	return apis.NewCostFilter(usageFinder{}, `"usage"`, cost)
}

// usageFinder finds OpenAI's `usage` object and reads it as the OpenAI
// relay does, so the cost is the one the router counts.
type usageFinder struct{}

// FindUsage implements apis.UsageFinder.
func (usageFinder) FindUsage(doc, _ string, _ bool) (gjson.Result, llm.Usage, bool) {
	obj := gjson.Get(doc, "usage")
	if !obj.IsObject() {
		return obj, llm.Usage{}, false
	}
	return obj, openaiprovider.UsageOf(obj), true
}

// Interface guards
var _ apis.CostSplicer = API{}
