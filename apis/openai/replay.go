package openai

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/openaiwire"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// The response cache's conversions (apis.Replayer). They run on cache hits
// whose stored form is not the one asked for, so they favour clarity over
// speed.

var errNotAnswer = errors.New("openai: the stored answer has no choices")

// AnswerToEvents renders a chat completion (or a legacy text_completion)
// as its chunks, as the openai provider does for a server that ignored
// `stream` (openaiwire.AppendChunks), with the usage chunk when req asks
// for it.
func (API) AnswerToEvents(req *apis.Request, answer []byte) ([]byte, error) {
	// An event is one line: the answer as compact JSON (OpenAI indents
	// its answers).
	doc := gjson.Get(llm.BytesString(answer), "@ugly")
	if !doc.Get("choices").IsArray() {
		return nil, errNotAnswer
	}
	return openaiwire.AppendChunks(make([]byte, 0, len(doc.Raw)*2+256), doc, req.IncludeUsage), nil
}

// chunkHead is `{"id":…,"object":…,"created":…,"model":…` (and the
// system_fingerprint and service_tier when the answer has them), the start
// of every chunk made from doc.
func chunkHead(doc gjson.Result, object string) []byte {
	b := append([]byte(nil), `{"id":`...)
	b = appendRaw(b, doc.Get("id"))
	b = append(b, `,"object":`...)
	b = llm.AppendString(b, object)
	b = append(b, `,"created":`...)
	b = appendRaw(b, doc.Get("created"))
	b = append(b, `,"model":`...)
	b = appendRaw(b, doc.Get("model"))
	for _, f := range [...]string{"system_fingerprint", "service_tier"} {
		if v := doc.Get(f); v.Exists() {
			b = append(b, ',')
			b = llm.AppendString(b, f)
			b = append(b, ':')
			b = append(b, v.Raw...)
		}
	}
	return b
}

// appendRaw writes v as it is, null when it is missing.
func appendRaw(b []byte, v gjson.Result) []byte {
	if !v.Exists() {
		return append(b, "null"...)
	}
	return append(b, v.Raw...)
}

// choice is one choice assembled from chunks.
type choice struct {
	index                       int64
	content, reasoning, refusal strings.Builder
	hasContent, hasRefusal      bool
	text                        strings.Builder // text_completion
	thinking                    [][]byte        // thinking_blocks, completed
	tools                       []*toolCall
	finish, logprobs            string
}

type toolCall struct {
	index          int64
	id, typ, name  string
	args           strings.Builder
	hasID, hasName bool
}

// EventsToAnswer assembles chat.completion.chunk events into the chat
// completion they stream (text_completion chunks into a text_completion):
// the text, reasoning, refusal and tool-call pieces of each choice joined,
// the signatures of thinking blocks put with their text, the last
// finish_reason, the usage chunk's usage (else u).
func (API) EventsToAnswer(_ *apis.Request, events []byte, u llm.Usage) ([]byte, error) {
	var (
		first   gjson.Result
		usage   string
		object  string
		choices []*choice
	)
	get := func(i int64) *choice {
		for _, c := range choices {
			if c.index == i {
				return c
			}
		}
		c := &choice{index: i}
		choices = append(choices, c)
		return c
	}
	err := apis.EachEvent(events, func(_, data []byte) bool {
		if llm.IsDone(data) {
			return false
		}
		doc := gjson.ParseBytes(data)
		if !first.Exists() {
			first = doc
			object = doc.Get("object").Str
		}
		if v := doc.Get("usage"); v.IsObject() {
			usage = v.Raw
		}
		doc.Get("choices").ForEach(func(_, cv gjson.Result) bool {
			c := get(cv.Get("index").Int())
			if fr := cv.Get("finish_reason"); fr.Type == gjson.String {
				c.finish = fr.Raw
			}
			if lp := cv.Get("logprobs"); lp.IsObject() && c.logprobs == "" {
				c.logprobs = lp.Raw
			}
			c.text.WriteString(cv.Get("text").Str)
			c.add(cv.Get("delta"))
			return true
		})
		return true
	})
	if err != nil {
		return nil, err
	}
	if !first.Exists() {
		return nil, errNotAnswer
	}
	slices.SortFunc(choices, func(a, b *choice) int { return int(a.index - b.index) })
	text := object == "text_completion"
	if text {
		object = "text_completion"
	} else {
		object = "chat.completion"
	}
	b := chunkHead(first, object)
	b = append(b, `,"choices":[`...)
	for i, c := range choices {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, c.index, 10)
		if text {
			b = append(b, `,"text":`...)
			b = llm.AppendString(b, c.text.String())
		} else {
			b = append(b, `,"message":`...)
			b = c.appendMessage(b)
		}
		b = append(b, `,"logprobs":`...)
		b = append(b, cmpOr(c.logprobs, "null")...)
		b = append(b, `,"finish_reason":`...)
		b = append(b, cmpOr(c.finish, "null")...)
		b = append(b, '}')
	}
	b = append(b, `],"usage":`...)
	if usage != "" {
		b = append(b, usage...)
	} else {
		b = AppendUsage(b, u)
	}
	return append(b, '}'), nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// add takes one delta.
func (c *choice) add(d gjson.Result) {
	d.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "content":
			if v.Type == gjson.String {
				c.content.WriteString(v.Str)
				c.hasContent = true
			}
		case "reasoning_content":
			c.reasoning.WriteString(v.Str)
		case "refusal":
			if v.Type == gjson.String {
				c.refusal.WriteString(v.Str)
				c.hasRefusal = true
			}
		case "thinking_blocks":
			v.ForEach(func(_, tb gjson.Result) bool {
				c.thinking = append(c.thinking, c.thinkingBlock(tb))
				return true
			})
		case "tool_calls":
			v.ForEach(func(_, tv gjson.Result) bool {
				c.tool(tv)
				return true
			})
		}
		return true
	})
}

// thinkingBlock completes a streamed thinking block: one that carries only
// the signature gets the reasoning text streamed since the previous block.
func (c *choice) thinkingBlock(tb gjson.Result) []byte {
	if tb.Get("type").Str != "thinking" || tb.Get("thinking").Str != "" {
		return []byte(tb.Raw)
	}
	text := c.reasoning.String()
	for _, prev := range c.thinking {
		text = strings.TrimPrefix(text, gjson.GetBytes(prev, "thinking").Str)
	}
	b := []byte(`{"type":"thinking","thinking":`)
	b = llm.AppendString(b, text)
	b = append(b, `,"signature":`...)
	b = appendRaw(b, tb.Get("signature"))
	return append(b, '}')
}

// tool takes one tool-call delta: the first of an index opens the call,
// the others add to its arguments.
func (c *choice) tool(tv gjson.Result) {
	i := int64(len(c.tools))
	if iv := tv.Get("index"); iv.Type == gjson.Number {
		i = iv.Int()
	}
	var t *toolCall
	for _, x := range c.tools {
		if x.index == i {
			t = x
		}
	}
	if t == nil {
		t = &toolCall{index: i, typ: "function"}
		c.tools = append(c.tools, t)
	}
	if id := tv.Get("id"); id.Type == gjson.String && !t.hasID {
		t.id, t.hasID = id.Str, true
	}
	if typ := tv.Get("type"); typ.Type == gjson.String {
		t.typ = typ.Str
	}
	fn := tv.Get("function")
	if n := fn.Get("name"); n.Type == gjson.String && !t.hasName {
		t.name, t.hasName = n.Str, true
	}
	t.args.WriteString(fn.Get("arguments").Str)
}

// appendMessage writes the assembled assistant message.
func (c *choice) appendMessage(b []byte) []byte {
	b = append(b, `{"role":"assistant","content":`...)
	if c.hasContent {
		b = llm.AppendString(b, c.content.String())
	} else {
		b = append(b, "null"...)
	}
	if c.reasoning.Len() > 0 {
		b = append(b, `,"reasoning_content":`...)
		b = llm.AppendString(b, c.reasoning.String())
	}
	if len(c.thinking) > 0 {
		b = append(b, `,"thinking_blocks":[`...)
		b = append(b, bytes.Join(c.thinking, []byte{','})...)
		b = append(b, ']')
	}
	if c.hasRefusal {
		b = append(b, `,"refusal":`...)
		b = llm.AppendString(b, c.refusal.String())
	}
	if len(c.tools) > 0 {
		slices.SortFunc(c.tools, func(x, y *toolCall) int { return int(x.index - y.index) })
		b = append(b, `,"tool_calls":[`...)
		for i, t := range c.tools {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = llm.AppendString(b, t.id)
			b = append(b, `,"type":`...)
			b = llm.AppendString(b, t.typ)
			b = append(b, `,"function":{"name":`...)
			b = llm.AppendString(b, t.name)
			b = append(b, `,"arguments":`...)
			b = llm.AppendString(b, t.args.String())
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// AppendUsage writes u as an OpenAI usage object, with the details of
// cached, cache-written and reasoning tokens when there are any.
func AppendUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = llm.AppendInt(b, u.PromptTokens)
	b = append(b, `,"completion_tokens":`...)
	b = llm.AppendInt(b, u.CompletionTokens)
	b = append(b, `,"total_tokens":`...)
	b = llm.AppendInt(b, u.Total())
	if u.CacheReadTokens > 0 || u.CacheWriteTokens > 0 {
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = llm.AppendInt(b, u.CacheReadTokens)
		if u.CacheWriteTokens > 0 {
			b = append(b, `,"cache_creation_tokens":`...)
			b = llm.AppendInt(b, u.CacheWriteTokens)
		}
		b = append(b, '}')
	}
	if u.ReasoningTokens > 0 {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = llm.AppendInt(b, u.ReasoningTokens)
		b = append(b, '}')
	}
	return append(b, '}')
}

// ReplayEvents sends the usage chunk exactly when req asks for it
// (stream_options.include_usage is not part of the cache key): a stored
// one is left out, a missing one is made from u.
func (API) ReplayEvents(req *apis.Request, events []byte, u llm.Usage) []byte {
	// The common cases, without reading the events: a stream with a usage
	// object for a client that asks for it, one without (`"usage":null`
	// at most) for one that does not.
	if req.IncludeUsage == hasUsageObject(events) {
		return events
	}
	var (
		out      []byte
		head     []byte
		hadUsage bool
	)
	r := stream.NewReader(bytes.NewReader(events), 0)
	defer r.Release()
	for {
		ev, err := r.Next()
		if err != nil {
			return events // a stored stream always reads; keep it as it is
		}
		if ev.HasData && llm.IsDone(ev.Data) {
			if req.IncludeUsage && !hadUsage && head != nil {
				b := append(head, `,"choices":[],"usage":`...)
				b = AppendUsage(b, u)
				out = stream.AppendEvent(out, "", append(b, '}'))
			}
			out = append(out, ev.Raw...)
			return out
		}
		if ev.HasData {
			doc := gjson.ParseBytes(ev.Data)
			if head == nil {
				object := doc.Get("object").Str
				head = chunkHead(doc, cmpOr(object, "chat.completion.chunk"))
			}
			if doc.Get("usage").IsObject() && isEmptyChoices(doc.Get("choices")) {
				hadUsage = true
				if !req.IncludeUsage {
					continue
				}
			}
		}
		out = append(out, ev.Raw...)
	}
}

var usageKey = []byte(`"usage"`)

// hasUsageObject reports whether events hold a `"usage"` member whose
// value is an object, with one scan.
func hasUsageObject(events []byte) bool {
	for {
		i := bytes.Index(events, usageKey)
		if i < 0 {
			return false
		}
		rest := bytes.TrimLeft(events[i+len(usageKey):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			if rest = bytes.TrimLeft(rest[1:], " \t\r\n"); len(rest) > 0 && rest[0] == '{' {
				return true
			}
		}
		events = events[i+len(usageKey):]
	}
}

func isEmptyChoices(r gjson.Result) bool {
	return !r.Exists() || r.Type == gjson.Null || r.IsArray() && len(r.Array()) == 0
}

// Interface guards
var _ apis.Replayer = API{}
