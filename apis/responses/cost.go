package responses

import (
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// CostFilter implements apis.CostSplicer: the cost goes into the `usage`
// of a response object, answered whole or in a stream's terminal event
// (response.completed, response.incomplete, response.failed; the events
// before them have no usage, or repeat the final one when a relay makes
// the stream of a whole answer).
func (API) CostFilter(_ *apis.Request, _ bool, cost apis.CostFunc) *apis.CostFilter {
	return apis.NewCostFilter(usageFinder{}, `"usage"`, cost)
}

// usageFinder finds a Responses API `usage` object.
type usageFinder struct{}

// FindUsage implements apis.UsageFinder.
func (usageFinder) FindUsage(doc, name string, event bool) (gjson.Result, llm.Usage, bool) {
	path := "usage"
	if event {
		if name == "" {
			name = gjson.Get(doc, "type").Str
		}
		if !terminal(name) {
			return gjson.Result{}, llm.Usage{}, false
		}
		path = "response.usage"
	}
	obj := gjson.Get(doc, path)
	if !obj.IsObject() {
		return obj, llm.Usage{}, false
	}
	return obj, usageOf(obj), true
}

// terminal reports whether a stream event ends the response.
func terminal(typ string) bool {
	return typ == "response.completed" || typ == "response.incomplete" || typ == "response.failed"
}

// usageOf reads a Responses `usage` object as the router counts it:
// input_tokens (cached ones included), output_tokens (reasoning included),
// input_tokens_details.cached_tokens, and the cache_write_tokens the
// router's own translation adds there (prompt tokens an upstream wrote to
// its cache).
func usageOf(u gjson.Result) llm.Usage {
	return llm.Usage{
		PromptTokens:     u.Get("input_tokens").Int(),
		CompletionTokens: u.Get("output_tokens").Int(),
		CacheReadTokens:  u.Get("input_tokens_details.cached_tokens").Int(),
		CacheWriteTokens: u.Get("input_tokens_details.cache_write_tokens").Int(),
		ReasoningTokens:  u.Get("output_tokens_details.reasoning_tokens").Int(),
	}
}

// Interface guards
var (
	_ apis.CostSplicer = API{}
	_ apis.UsageFinder = usageFinder{}
)
