package anthropic

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// Estimate parameters (see EstimateTokens).
const (
	bytesPerToken  = 4
	imageTokens    = 1600
	messageTokens  = 4
	documentTokens = 1500 // per 100 KiB of a base64 PDF, about a page or two
)

// Answer answers count_tokens itself when no candidate speaks the Messages
// API natively: `{"input_tokens":n}` with n from EstimateTokens. It
// answers nothing else.
func (API) Answer(w http.ResponseWriter, req *apis.Request) bool {
	if req.Op != llm.OpCountTokens {
		return false
	}
	b := make([]byte, 0, 32)
	b = append(b, `{"input_tokens":`...)
	b = llm.AppendInt(b, EstimateTokens(req.Body))
	b = append(b, '}')
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return true
}

// EstimateTokens estimates the input tokens of a Messages (or count_tokens)
// body without a tokenizer: one token per four bytes of text as written in
// the JSON (an escape such as \n counts as written; a content block counts
// its JSON less the block's own syntax) — the system prompt, text,
// thinking, tool inputs and results, tool names, descriptions and schemas
// — rounded up, plus 4 per message, 1,600 per image (Anthropic's
// figure for an image of about 1.15 megapixels, the largest sent unscaled)
// and 1,500 per 100 KiB of base64 PDF. It is meant for budgets and context
// gauges, not billing: real counts differ by model and language.
func EstimateTokens(body []byte) int64 {
	var e estimate
	gjson.Parse(llm.BytesString(body)).ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "system":
			e.content(v)
		case "messages":
			v.ForEach(func(_, m gjson.Result) bool {
				e.tokens += messageTokens
				e.content(m.Get("content"))
				return true
			})
		case "tools":
			v.ForEach(func(_, t gjson.Result) bool {
				e.text += strLen(t.Get("name")) + strLen(t.Get("description")) + len(t.Get("input_schema").Raw)
				return true
			})
		}
		return true
	})
	return e.tokens + int64(e.text+bytesPerToken-1)/bytesPerToken
}

// estimate accumulates EstimateTokens' figures.
type estimate struct {
	text   int   // bytes of text
	tokens int64 // tokens counted otherwise
}

// content counts a content value: a string, or an array of blocks. Text,
// thinking, tool_use and tool_result blocks count their JSON as written
// less the block's own syntax, so that no string is unescaped.
func (e *estimate) content(v gjson.Result) {
	if v.Type == gjson.String {
		e.text += strLen(v)
		return
	}
	v.ForEach(func(_, bl gjson.Result) bool {
		switch bl.Get("type").Str {
		case "text", "thinking":
			e.text += max(len(bl.Raw)-len(`{"type":"text","text":""}`), 0)
		case "tool_use":
			e.text += max(len(bl.Raw)-len(`{"type":"tool_use","id":"toolu_01ABCDEFGHIJKLMNOPQRSTUVWX","name":"","input":}`), 0)
		case "tool_result":
			if strings.Contains(bl.Raw, `"image"`) || strings.Contains(bl.Raw, `"document"`) {
				e.content(bl.Get("content"))
			} else {
				e.text += max(len(bl.Raw)-len(`{"type":"tool_result","tool_use_id":"toolu_01ABCDEFGHIJKLMNOPQRSTUVWX","content":""}`), 0)
			}
		case "image":
			e.tokens += imageTokens
		case "document":
			src := bl.Get("source")
			if src.Get("type").Str == "text" {
				e.text += strLen(src.Get("data"))
			} else {
				e.tokens += documentTokens * int64(strLen(src.Get("data"))/(100<<10)+1)
			}
		}
		return true
	})
}

// strLen is the length of a JSON string as written (escapes count as
// written), without unescaping it.
func strLen(v gjson.Result) int {
	if v.Type != gjson.String || len(v.Raw) < 2 {
		return 0
	}
	return len(v.Raw) - 2
}
