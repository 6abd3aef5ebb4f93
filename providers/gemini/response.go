package gemini

import (
	"net/http"
	"strconv"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// writeChat translates a generateContent answer to a chat.completion. The
// body is read whole first, so a failure while reading it can be retried.
func writeChat(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	buf, err := llm.ReadAll(resp.Body, resp.ContentLength, c.MaxResponseBody)
	if err != nil {
		return llm.Usage{}, err
	}
	defer llm.PutBuffer(buf)
	out, usage, perr := translateResponse(make([]byte, 0, buf.Len()+256), buf.Bytes(), c.Model)
	if perr != nil {
		return usage, perr
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(out)
	return usage, err
}

// translateResponse appends the chat.completion for a Gemini
// GenerateContentResponse to b: candidates → choices, text parts joined,
// thought parts → reasoning_content, functionCall parts → tool_calls with
// arguments as JSON strings and made-up ids, finishReason mapped,
// usageMetadata → usage; `model` is the upstream model called.
func translateResponse(b, body []byte, model string) ([]byte, llm.Usage, *llm.Error) {
	src := llm.BytesString(body)
	if !gjson.Valid(src) {
		return nil, llm.Usage{}, unreadable("response")
	}
	doc := gjson.Parse(src)
	if !doc.IsObject() {
		return nil, llm.Usage{}, unreadable("response")
	}
	if e := doc.Get("error"); e.IsObject() {
		return nil, llm.Usage{}, streamError(e)
	}
	b = append(b, `{"id":`...)
	b = llm.AppendString(b, responseID(doc))
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, now().Unix(), 10)
	b = append(b, `,"model":`...)
	b = llm.AppendString(b, model)
	b = append(b, `,"choices":[`...)
	cands := doc.Get("candidates")
	n := 0
	cands.ForEach(func(_, cand gjson.Result) bool {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendChoice(b, cand, n)
		n++
		return true
	})
	if n == 0 && doc.Get("promptFeedback.blockReason").Exists() {
		b = append(b, `{"index":0,"message":{"role":"assistant","content":null,"refusal":null},"logprobs":null,"finish_reason":"content_filter"}`...)
	}
	b = append(b, "],"...)
	var usage llm.Usage
	b, usage = appendUsage(b, doc.Get("usageMetadata"))
	return append(b, '}'), usage, nil
}

// responseID is the chat.completion id: Gemini's responseId when it sent
// one, else made up.
func responseID(doc gjson.Result) string {
	if id := doc.Get("responseId").Str; id != "" {
		return "chatcmpl-" + id
	}
	return "chatcmpl-" + randomHex(12)
}

// candidateIndex is a candidate's index; proto3 JSON leaves out a zero.
func candidateIndex(cand gjson.Result, pos int) int64 {
	if i := cand.Get("index"); i.Type == gjson.Number {
		return i.Int()
	}
	return int64(pos)
}

func appendChoice(b []byte, cand gjson.Result, pos int) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, candidateIndex(cand, pos), 10)
	b = append(b, `,"message":{"role":"assistant","content":`...)
	var text, reasoning []byte
	hasText := false
	calls := 0
	parts := cand.Get("content.parts")
	parts.ForEach(func(_, p gjson.Result) bool {
		t := p.Get("text")
		switch {
		case t.Type == gjson.String && p.Get("thought").Type == gjson.True:
			reasoning = append(reasoning, t.Str...)
		case t.Type == gjson.String:
			text = append(text, t.Str...)
			hasText = true
		case p.Get("functionCall").IsObject():
			calls++
		}
		return true
	})
	if hasText {
		b = llm.AppendString(b, llm.BytesString(text))
	} else {
		b = append(b, "null"...)
	}
	if len(reasoning) > 0 {
		b = append(b, `,"reasoning_content":`...)
		b = llm.AppendString(b, llm.BytesString(reasoning))
	}
	if calls > 0 {
		b = append(b, `,"tool_calls":[`...)
		k := 0
		parts.ForEach(func(_, p gjson.Result) bool {
			if fc := p.Get("functionCall"); fc.IsObject() {
				if k > 0 {
					b = append(b, ',')
				}
				k++
				b = appendToolCall(b, -1, fc, p.Get("thoughtSignature").Str)
			}
			return true
		})
		b = append(b, ']')
	}
	b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":`...)
	reason := finishReason(cand.Get("finishReason").Str, calls > 0)
	if reason == "" {
		reason = "stop"
	}
	b = append(b, '"')
	b = append(b, reason...)
	return append(b, `"}`...)
}

// appendToolCall appends a functionCall as an OpenAI tool call, with the
// `index` of a streamed delta when index >= 0.
func appendToolCall(b []byte, index int, fc gjson.Result, signature string) []byte {
	b = append(b, '{')
	if index >= 0 {
		b = append(b, `"index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = llm.AppendString(b, toolCallID(signature))
	b = append(b, `,"type":"function","function":{"name":`...)
	b = llm.AppendString(b, fc.Get("name").Str)
	b = append(b, `,"arguments":`...)
	args := fc.Get("args")
	if args.IsObject() {
		var scratch [256]byte
		b = llm.AppendString(b, llm.BytesString(llm.AppendCompact(scratch[:0], args.Raw)))
	} else {
		b = append(b, `"{}"`...)
	}
	return append(b, "}}"...)
}

// finishReason maps Gemini's finishReason to OpenAI's; "" when the
// candidate has not finished.
func finishReason(reason string, toolCalls bool) string {
	switch reason {
	case "":
		return ""
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return "content_filter"
	}
	// STOP, and reasons OpenAI has no word for (OTHER, LANGUAGE,
	// MALFORMED_FUNCTION_CALL, …).
	if toolCalls {
		return "tool_calls"
	}
	return "stop"
}

// appendUsage appends `"usage":{…}` from usageMetadata: prompt tokens are
// promptTokenCount plus toolUsePromptTokenCount, completion tokens
// candidatesTokenCount plus thoughtsTokenCount; cachedContentTokenCount
// and thoughtsTokenCount are also given as cached_tokens and
// reasoning_tokens.
func appendUsage(b []byte, u gjson.Result) ([]byte, llm.Usage) {
	prompt := u.Get("promptTokenCount").Int() + u.Get("toolUsePromptTokenCount").Int()
	thoughts := u.Get("thoughtsTokenCount").Int()
	completion := u.Get("candidatesTokenCount").Int() + thoughts
	b = append(b, `"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, prompt, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, completion, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, prompt+completion, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.Get("cachedContentTokenCount").Int(), 10)
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, thoughts, 10)
	b = append(b, "}}"...)
	return b, llm.Usage{
		PromptTokens: prompt, CompletionTokens: completion,
		CacheReadTokens: u.Get("cachedContentTokenCount").Int(), ReasoningTokens: thoughts,
	}
}

// unreadable is the failure for an answer that is not Gemini's JSON.
func unreadable(what string) *llm.Error {
	return &llm.Error{
		Status: http.StatusBadGateway, Kind: llm.KindInvalid,
		Message: "gemini sent an unreadable " + what,
		Type:    "upstream_error", Code: "upstream_error",
	}
}
