package anthropic

import (
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/anthropicwire"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// CostFilter implements apis.CostSplicer: the cost goes into the `usage`
// of a message and, in a stream, of message_delta, priced with the input
// figures of message_start that message_delta does not repeat (for a
// native stream: a translated one's message_start holds the router's
// estimate, and its message_delta every figure the upstream reported).
// Token counting has no usage: nil.
func (API) CostFilter(req *apis.Request, native bool, cost apis.CostFunc) *apis.CostFilter {
	if req.Op != llm.OpMessages {
		return nil
	}
	return apis.NewCostFilter(&usageFinder{native: native}, `"usage"`, cost)
}

// usageFinder finds a Messages API `usage` object. In a stream it keeps the
// figures seen so far, as the router's relay counts them: message_start's
// (native streams only), then those message_delta gives (cumulative; an
// absent or null figure keeps its value).
type usageFinder struct {
	native bool
	seen   anthropicwire.Usage
}

// FindUsage implements apis.UsageFinder.
func (f *usageFinder) FindUsage(doc, name string, event bool) (gjson.Result, llm.Usage, bool) {
	if !event {
		obj := gjson.Get(doc, "usage")
		if !obj.IsObject() {
			return obj, llm.Usage{}, false
		}
		f.seen.Read(obj)
		return obj, f.seen.Counted(), true
	}
	if name == "" {
		name = gjson.Get(doc, "type").Str
	}
	switch name {
	case "message_start":
		if f.native {
			f.seen.Read(gjson.Get(doc, "message.usage"))
		}
	case "message_delta":
		obj := gjson.Get(doc, "usage")
		if obj.IsObject() {
			f.seen.Read(obj)
			return obj, f.seen.Counted(), true
		}
	}
	return gjson.Result{}, llm.Usage{}, false
}

// Interface guards
var (
	_ apis.CostSplicer = API{}
	_ apis.UsageFinder = (*usageFinder)(nil)
)
