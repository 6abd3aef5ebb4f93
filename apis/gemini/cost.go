package gemini

import (
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// CostFilter implements apis.CostSplicer: the cost goes into the
// top-level `usageMetadata` of an answer and of every stream chunk that
// has one. Gemini's figures are cumulative, so each chunk's cost is that
// of the usage it reports and the last chunk's is the request's. Token
// counting has no usage: nil.
func (API) CostFilter(req *apis.Request, _ bool, cost apis.CostFunc) *apis.CostFilter {
	if req.Op == llm.OpGeminiCountTokens {
		return nil
	}
	return apis.NewCostFilter(usageFinder{}, `"usageMetadata"`, cost)
}

// usageFinder finds Gemini's `usageMetadata` object.
type usageFinder struct{}

// FindUsage implements apis.UsageFinder.
func (usageFinder) FindUsage(doc, _ string, _ bool) (gjson.Result, llm.Usage, bool) {
	obj := gjson.Get(doc, "usageMetadata")
	if !obj.IsObject() {
		return obj, llm.Usage{}, false
	}
	return obj, usageOf(obj), true
}

// usageOf reads usageMetadata as the router counts it: prompt tokens
// include those of tool use, completion tokens the thoughts.
func usageOf(u gjson.Result) llm.Usage {
	thoughts := u.Get("thoughtsTokenCount").Int()
	return llm.Usage{
		PromptTokens:     u.Get("promptTokenCount").Int() + u.Get("toolUsePromptTokenCount").Int(),
		CompletionTokens: u.Get("candidatesTokenCount").Int() + thoughts,
		CacheReadTokens:  u.Get("cachedContentTokenCount").Int(),
		ReasoningTokens:  thoughts,
	}
}

// Interface guards
var (
	_ apis.CostSplicer = API{}
	_ apis.UsageFinder = usageFinder{}
)
