package gemini

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// appendAnswer appends the GenerateContentResponse for a hub
// chat.completion: one candidate per choice, its content's parts (the
// reasoning as a thought part, the text, each tool call as a functionCall
// part with its arguments as an object and the hub's call id), the finish
// reason, usageMetadata, and `modelVersion` / `responseId` from the hub's
// model and id.
func appendAnswer(b, hub []byte) ([]byte, *llm.Error) {
	src := llm.BytesString(hub)
	if !gjson.Valid(src) {
		return nil, badAnswer("chat")
	}
	doc := gjson.Parse(src)
	choices := doc.Get("choices")
	if !doc.IsObject() || !choices.IsArray() {
		return nil, badAnswer("chat")
	}
	b = append(b, `{"candidates":[`...)
	i := 0
	choices.ForEach(func(_, c gjson.Result) bool {
		if i > 0 {
			b = append(b, ',')
		}
		i++
		var mark int
		b, mark = openCandidate(b)
		b = appendMessageParts(b, c.Get("message"))
		b = closeCandidate(b, mark, finishReason(c.Get("finish_reason").Str), c.Get("index").Int())
		return true
	})
	b = append(b, ']')
	b = appendTail(b, doc.Get("usage"), doc.Get("model").Str, doc.Get("id").Str)
	return append(b, '}'), nil
}

// appendMessageParts appends the parts of an assistant message, comma
// separated: reasoning (reasoning_content, else the text of
// thinking_blocks), text (or a refusal), tool calls.
func appendMessageParts(b []byte, m gjson.Result) []byte {
	start := len(b)
	sep := func() {
		if len(b) > start {
			b = append(b, ',')
		}
	}
	if r := m.Get("reasoning_content"); r.Type == gjson.String && r.Str != "" {
		b = appendTextPart(b, r, true)
	} else {
		m.Get("thinking_blocks").ForEach(func(_, tb gjson.Result) bool {
			if t := tb.Get("thinking"); t.Type == gjson.String && t.Str != "" {
				sep()
				b = appendTextPart(b, t, true)
			}
			return true
		})
	}
	switch content := m.Get("content"); {
	case content.Type == gjson.String && content.Str != "":
		sep()
		b = appendTextPart(b, content, false)
	case content.IsArray():
		content.ForEach(func(_, p gjson.Result) bool {
			if t := p.Get("text"); t.Type == gjson.String && t.Str != "" {
				sep()
				b = appendTextPart(b, t, false)
			}
			return true
		})
	default:
		if r := m.Get("refusal"); r.Type == gjson.String && r.Str != "" {
			sep()
			b = appendTextPart(b, r, false)
		}
	}
	m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		sep()
		b = appendCallPart(b, tc.Get("id").Str, tc.Get("function.name").Str, tc.Get("function.arguments").Str)
		return true
	})
	return b
}

// appendTextPart appends `{"text":…}`, with `"thought":true` for
// reasoning.
func appendTextPart(b []byte, t gjson.Result, thought bool) []byte {
	b = append(b, `{"text":"`...)
	b = appendInner(b, t)
	if thought {
		return append(b, `","thought":true}`...)
	}
	return append(b, `"}`...)
}

// appendCallPart appends a functionCall part. Gemini's arguments are an
// object: the hub's argument text when it is one, else {} (Gemini cannot
// carry text that is not an object).
func appendCallPart(b []byte, id, name, args string) []byte {
	b = append(b, `{"functionCall":{`...)
	if id != "" {
		b = append(b, `"id":`...)
		b = llm.AppendString(b, id)
		b = append(b, ',')
	}
	b = append(b, `"name":`...)
	b = llm.AppendString(b, name)
	b = append(b, `,"args":`...)
	if gjson.Valid(args) && gjson.Parse(args).IsObject() {
		b = llm.AppendCompact(b, args)
	} else {
		b = append(b, "{}"...)
	}
	return append(b, "}}"...)
}

const candidateHead = `{"content":{"parts":[`

// openCandidate starts a candidate; its parts (comma-separated JSON
// objects) follow, then closeCandidate with the mark.
func openCandidate(b []byte) ([]byte, int) {
	b = append(b, candidateHead...)
	return b, len(b)
}

// closeCandidate ends the candidate opened at mark. A candidate with no
// part gets an empty text part, as Gemini sends it, unless it was blocked.
func closeCandidate(b []byte, mark int, finish string, index int64) []byte {
	if len(b) == mark {
		b = b[:mark-len(candidateHead)+1]
		if finish != "SAFETY" {
			b = append(b, `"content":{"parts":[{"text":""}],"role":"model"},`...)
		}
	} else {
		b = append(b, `],"role":"model"},`...)
	}
	if finish != "" {
		b = append(b, `"finishReason":"`...)
		b = append(b, finish...)
		b = append(b, `",`...)
	}
	b = append(b, `"index":`...)
	b = strconv.AppendInt(b, index, 10)
	return append(b, '}')
}

// finishReason maps the hub's finish_reason to Gemini's: tool calls end a
// turn with STOP, as Gemini reports them.
func finishReason(r string) string {
	switch r {
	case "":
		return ""
	case "length":
		return "MAX_TOKENS"
	case "content_filter":
		return "SAFETY"
	}
	return "STOP"
}

// appendTail appends usageMetadata (when the hub gave usage), modelVersion
// and responseId, each after a comma.
func appendTail(b []byte, usage gjson.Result, model, id string) []byte {
	if usage.IsObject() {
		b = appendUsageMetadata(b, usage)
	}
	b = append(b, `,"modelVersion":`...)
	b = llm.AppendString(b, model)
	b = append(b, `,"responseId":`...)
	return llm.AppendString(b, id)
}

// appendUsageMetadata appends `,"usageMetadata":{…}` for hub usage: the
// hub's completion tokens include reasoning, Gemini's candidatesTokenCount
// does not (thoughtsTokenCount has them); zero counts are left out, as
// Google's JSON does.
func appendUsageMetadata(b []byte, u gjson.Result) []byte {
	prompt := u.Get("prompt_tokens").Int()
	completion := u.Get("completion_tokens").Int()
	cached := u.Get("prompt_tokens_details.cached_tokens").Int()
	thoughts := u.Get("completion_tokens_details.reasoning_tokens").Int()
	total := u.Get("total_tokens").Int()
	if total == 0 {
		total = prompt + completion
	}
	b = append(b, `,"usageMetadata":{"promptTokenCount":`...)
	b = strconv.AppendInt(b, prompt, 10)
	b = append(b, `,"candidatesTokenCount":`...)
	b = strconv.AppendInt(b, max(completion-thoughts, 0), 10)
	b = append(b, `,"totalTokenCount":`...)
	b = strconv.AppendInt(b, total, 10)
	if cached > 0 {
		b = append(b, `,"cachedContentTokenCount":`...)
		b = strconv.AppendInt(b, cached, 10)
	}
	if thoughts > 0 {
		b = append(b, `,"thoughtsTokenCount":`...)
		b = strconv.AppendInt(b, thoughts, 10)
	}
	return append(b, '}')
}
