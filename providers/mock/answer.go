package mock

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// answer is what the mock says to one call.
type answer struct {
	chat    bool   // chat.completion, else text_completion
	id      string // response id
	model   string
	created int64
	text    string
	prompt  int64 // prompt words
	calls   []ToolCall
}

var ids atomic.Uint64

func (p *Provider) answer(c *llm.Call) *answer {
	src := llm.BytesString(c.Body)
	a := &answer{
		chat:    c.Op == llm.OpChat,
		model:   c.Model,
		created: time.Now().Unix(),
	}
	n := strconv.FormatUint(ids.Add(1), 10)
	if a.chat {
		a.id = "chatcmpl-mock-" + n
		messages := gjson.Get(src, "messages")
		var results []string // the tool results at the end of the conversation
		for _, m := range messages.Array() {
			text := contentText(m.Get("content"))
			a.prompt += countWords(text)
			switch m.Get("role").Str {
			case "user":
				a.text = text
				results = results[:0]
			case "tool":
				results = append(results, text)
			default:
				results = results[:0]
			}
		}
		if len(results) > 0 {
			// After a tool result the answer is that result.
			a.text = strings.Join(results, "\n")
			return a
		}
		a.calls = p.offered(gjson.Get(src, "tools"))
		if len(a.calls) > 0 {
			return a
		}
	} else {
		a.id = "cmpl-mock-" + n
		prompt := gjson.Get(src, "prompt")
		if prompt.IsArray() {
			prompt = prompt.Get("0")
		}
		a.text = prompt.String()
		a.prompt = countWords(a.text)
	}
	if p.Response != "" {
		a.text = p.Response
	}
	return a
}

// offered returns the configured tool calls whose tools the request offers.
func (p *Provider) offered(tools gjson.Result) []ToolCall {
	if len(p.ToolCalls) == 0 || !tools.IsArray() {
		return nil
	}
	var out []ToolCall
	for _, tc := range p.ToolCalls {
		tools.ForEach(func(_, t gjson.Result) bool {
			if t.Get("function.name").Str == tc.Tool {
				out = append(out, tc)
				return false
			}
			return true
		})
	}
	return out
}

// contentText is the text of a message's content: a string, or the text
// parts of an array of parts.
func contentText(content gjson.Result) string {
	if !content.IsArray() {
		return content.String()
	}
	var b strings.Builder
	for _, part := range content.Array() {
		if part.Get("type").Str == "text" {
			b.WriteString(part.Get("text").Str)
		}
	}
	return b.String()
}

func countWords(s string) int64 { return int64(len(strings.Fields(s))) }

// completion counts the answer's words, or those of its tool calls'
// arguments.
func (a *answer) completion() int64 {
	if len(a.calls) > 0 {
		var n int64
		for _, tc := range a.calls {
			n += 1 + countWords(tc.args())
		}
		return n
	}
	return countWords(a.text)
}

// args is the call's arguments, `{}` when none were configured.
func (tc ToolCall) args() string {
	if tc.Arguments == "" {
		return "{}"
	}
	return tc.Arguments
}

// callID is the id of the answer's i-th tool call.
func (a *answer) callID(i int) string {
	return "call_" + strings.TrimPrefix(a.id, "chatcmpl-") + "_" + strconv.Itoa(i)
}

// appendCall writes tool call i of the answer: whole, or (stream) its
// opening delta with empty arguments.
func (a *answer) appendCall(b []byte, i int, stream bool) []byte {
	tc := a.calls[i]
	b = append(b, '{')
	if stream {
		b = append(b, `"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = llm.AppendString(b, a.callID(i))
	b = append(b, `,"type":"function","function":{"name":`...)
	b = llm.AppendString(b, tc.Tool)
	b = append(b, `,"arguments":`...)
	if stream {
		b = append(b, `""`...)
	} else {
		b = llm.AppendString(b, tc.args())
	}
	return append(b, "}}"...)
}

// argsChunk is a stream chunk with a piece of tool call i's arguments.
func (a *answer) argsChunk(b []byte, i int, piece string) []byte {
	b = a.head(b, "chat.completion.chunk")
	b = append(b, `,"choices":[{"index":0,"delta":{"tool_calls":[{"index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"function":{"arguments":`...)
	b = llm.AppendString(b, piece)
	return append(b, `}}]},"logprobs":null,"finish_reason":null}]}`...)
}

// callChunk is the stream chunk that opens tool call i.
func (a *answer) callChunk(b []byte, i int) []byte {
	b = a.head(b, "chat.completion.chunk")
	b = append(b, `,"choices":[{"index":0,"delta":{"tool_calls":[`...)
	b = a.appendCall(b, i, true)
	return append(b, `]},"logprobs":null,"finish_reason":null}]}`...)
}

// finishReason is the answer's finish_reason.
func (a *answer) finishReason() string {
	if len(a.calls) > 0 {
		return "tool_calls"
	}
	return "stop"
}

// pieces splits the text into words, each with the whitespace before it, so
// the streamed pieces add up to exactly the text.
func (a *answer) pieces() []string {
	var out []string
	s := a.text
	start := 0
	for i := 1; i < len(s); i++ {
		if !isSpace(s[i]) && isSpace(s[i-1]) {
			// A new word begins at i; cut before the whitespace ahead of it.
			j := i
			for j > start && isSpace(s[j-1]) {
				j--
			}
			if j > start {
				out = append(out, s[start:j])
				start = j
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func isSpace(c byte) bool { return c < 0x80 && unicode.IsSpace(rune(c)) }

// head writes the fields every object and chunk begins with.
func (a *answer) head(b []byte, object string) []byte {
	b = append(b, `{"id":`...)
	b = llm.AppendString(b, a.id)
	b = append(b, `,"object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, a.created, 10)
	b = append(b, `,"model":`...)
	return llm.AppendString(b, a.model)
}

func (a *answer) usage(b []byte) []byte {
	c := a.completion()
	b = append(b, `"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, a.prompt, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, c, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, a.prompt+c, 10)
	return append(b, '}')
}

// json is the whole non-streamed response.
func (a *answer) json() []byte {
	var b []byte
	if a.chat && len(a.calls) > 0 {
		b = a.head(b, "chat.completion")
		b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[`...)
		for i := range a.calls {
			if i > 0 {
				b = append(b, ',')
			}
			b = a.appendCall(b, i, false)
		}
		b = append(b, `],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],`...)
	} else if a.chat {
		b = a.head(b, "chat.completion")
		b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
		b = llm.AppendString(b, a.text)
		b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":"stop"}],`...)
	} else {
		b = a.head(b, "text_completion")
		b = append(b, `,"choices":[{"text":`...)
		b = llm.AppendString(b, a.text)
		b = append(b, `,"index":0,"logprobs":null,"finish_reason":"stop"}],`...)
	}
	b = a.usage(b)
	return append(b, '}')
}

// chunk is one streamed event's JSON: a piece of text, the opening role
// chunk (role set), or the closing chunk (finish set).
func (a *answer) chunk(b []byte, piece string, role, finish bool) []byte {
	if a.chat {
		b = a.head(b, "chat.completion.chunk")
		b = append(b, `,"choices":[{"index":0,"delta":{`...)
		switch {
		case role:
			b = append(b, `"role":"assistant","content":""`...)
		case !finish:
			b = append(b, `"content":`...)
			b = llm.AppendString(b, piece)
		}
		b = append(b, `},"logprobs":null,"finish_reason":`...)
	} else {
		b = a.head(b, "text_completion")
		b = append(b, `,"choices":[{"text":`...)
		b = llm.AppendString(b, piece)
		b = append(b, `,"index":0,"logprobs":null,"finish_reason":`...)
	}
	if finish {
		b = append(b, '"')
		b = append(b, a.finishReason()...)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	return append(b, "}]}"...)
}

// usageChunk is the chunk carrying usage, sent as OpenAI sends it when asked
// with stream_options.include_usage.
func (a *answer) usageChunk(b []byte) []byte {
	if a.chat {
		b = a.head(b, "chat.completion.chunk")
	} else {
		b = a.head(b, "text_completion")
	}
	b = append(b, `,"choices":[],`...)
	b = a.usage(b)
	return append(b, '}')
}

func setJSON(resp *http.Response, body []byte) {
	resp.Header["Content-Type"] = []string{"application/json"}
	resp.ContentLength = int64(len(body))
	resp.Body = io.NopCloser(bytes.NewReader(body))
}

// errorResponse is the mock's answer to a request it cannot read.
func errorResponse(e *llm.Error) *http.Response {
	resp := &http.Response{StatusCode: e.Status, Header: make(http.Header, 1)}
	setJSON(resp, e.AppendJSON(nil))
	return resp
}
