package anthropic

import (
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
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
	native                                         bool
	input, cacheRead, cacheWrite, output, thinking int64
}

// FindUsage implements apis.UsageFinder.
func (f *usageFinder) FindUsage(doc, name string, event bool) (gjson.Result, llm.Usage, bool) {
	if !event {
		obj := gjson.Get(doc, "usage")
		if !obj.IsObject() {
			return obj, llm.Usage{}, false
		}
		f.read(obj)
		return obj, f.usage(), true
	}
	if name == "" {
		name = gjson.Get(doc, "type").Str
	}
	switch name {
	case "message_start":
		if f.native {
			f.read(gjson.Get(doc, "message.usage"))
		}
	case "message_delta":
		obj := gjson.Get(doc, "usage")
		if obj.IsObject() {
			f.read(obj)
			return obj, f.usage(), true
		}
	}
	return gjson.Result{}, llm.Usage{}, false
}

// read takes the figures present in a usage object.
func (f *usageFinder) read(r gjson.Result) {
	r.ForEach(func(key, v gjson.Result) bool {
		if key.Str == "output_tokens_details" {
			if t := v.Get("thinking_tokens"); t.Type == gjson.Number {
				f.thinking = t.Int()
			}
			return true
		}
		if v.Type != gjson.Number {
			return true
		}
		switch key.Str {
		case "input_tokens":
			f.input = v.Int()
		case "cache_read_input_tokens":
			f.cacheRead = v.Int()
		case "cache_creation_input_tokens":
			f.cacheWrite = v.Int()
		case "output_tokens":
			f.output = v.Int()
		}
		return true
	})
}

// usage is the usage in the router's terms: every input token is a prompt
// token, those read from or written to the cache included.
func (f *usageFinder) usage() llm.Usage {
	return llm.Usage{
		PromptTokens: f.input + f.cacheRead + f.cacheWrite, CompletionTokens: f.output,
		CacheReadTokens: f.cacheRead, CacheWriteTokens: f.cacheWrite, ReasoningTokens: f.thinking,
	}
}

// Interface guards
var (
	_ apis.CostSplicer = API{}
	_ apis.UsageFinder = (*usageFinder)(nil)
)
