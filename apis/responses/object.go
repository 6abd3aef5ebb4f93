package responses

import (
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// now and newID are the clock and the id source, replaceable in tests.
var (
	now   = time.Now
	newID = func() string {
		var b [24]byte
		for i := 0; i < len(b); i += 8 {
			v := rand.Uint64()
			for k := 0; k < 8; k++ {
				b[i+k] = byte(v >> (8 * k))
			}
		}
		return hex.EncodeToString(b[:])
	}
)

// echo holds the parts of a `response` object that repeat the request's
// settings, as OpenAI answers them, rendered once per request: the fields
// before `output` (from `instructions` to `model`), between `output` and
// `usage`, and after `usage`.
type echo struct {
	b                   []byte
	preOutput, preUsage int // where the second and third parts start
	tools               gjson.Result
}

// newEcho renders the echoed fields of body for an answer by model.
func newEcho(body []byte, model string) *echo {
	var f [17]gjson.Result
	keys := [...]string{
		"instructions", "max_output_tokens", "max_tool_calls", "parallel_tool_calls",
		"prompt_cache_key", "reasoning", "safety_identifier", "temperature", "text",
		"tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user", "metadata",
		"service_tier",
	}
	gjson.Parse(llm.BytesString(body)).ForEach(func(key, v gjson.Result) bool {
		for i, k := range keys {
			if key.Str == k && !f[i].Exists() {
				f[i] = v
				break
			}
		}
		return true
	})
	const (
		instructions = iota
		maxOutput
		maxToolCalls
		parallel
		cacheKey
		reasoning
		safety
		temperature
		text
		toolChoice
		tools
		topLogprobs
		topP
		truncation
		user
		metadata
		serviceTier
	)
	e := &echo{b: make([]byte, 0, 512+len(f[tools].Raw)+len(f[instructions].Raw)), tools: f[tools]}
	field := func(name string, v gjson.Result, def string) {
		e.b = append(e.b, '"')
		e.b = append(e.b, name...)
		e.b = append(e.b, `":`...)
		if isSet(v) {
			e.b = append(e.b, v.Raw...)
		} else {
			e.b = append(e.b, def...)
		}
		e.b = append(e.b, ',')
	}
	field("instructions", f[instructions], "null")
	field("max_output_tokens", f[maxOutput], "null")
	field("max_tool_calls", f[maxToolCalls], "null")
	e.b = append(e.b, `"model":`...)
	e.b = llm.AppendString(e.b, model)
	e.b = append(e.b, ',')
	e.preOutput = len(e.b)
	field("parallel_tool_calls", f[parallel], "true")
	e.b = append(e.b, `"previous_response_id":null,`...)
	field("prompt_cache_key", f[cacheKey], "null")
	e.b = append(e.b, `"reasoning":{"effort":`...)
	appendOr(&e.b, f[reasoning].Get("effort"), "null")
	e.b = append(e.b, `,"summary":`...)
	appendOr(&e.b, f[reasoning].Get("summary"), "null")
	e.b = append(e.b, "},"...)
	field("safety_identifier", f[safety], "null")
	e.b = append(e.b, `"service_tier":`...)
	if f[serviceTier].Type == gjson.String && f[serviceTier].Str != "auto" {
		e.b = append(e.b, f[serviceTier].Raw...)
	} else {
		e.b = append(e.b, `"default"`...)
	}
	e.b = append(e.b, `,"store":false,`...)
	field("temperature", f[temperature], "1")
	e.b = append(e.b, `"text":{"format":`...)
	appendOr(&e.b, f[text].Get("format"), `{"type":"text"}`)
	e.b = append(e.b, `,"verbosity":`...)
	appendOr(&e.b, f[text].Get("verbosity"), `"medium"`)
	e.b = append(e.b, "},"...)
	field("tool_choice", f[toolChoice], `"auto"`)
	field("tools", f[tools], "[]")
	field("top_logprobs", f[topLogprobs], "0")
	field("top_p", f[topP], "1")
	field("truncation", f[truncation], `"disabled"`)
	e.preUsage = len(e.b)
	e.b = append(e.b, `"user":`...)
	appendOr(&e.b, f[user], "null")
	e.b = append(e.b, `,"metadata":`...)
	appendOr(&e.b, f[metadata], "{}")
	return e
}

func appendOr(b *[]byte, v gjson.Result, def string) {
	if isSet(v) {
		*b = append(*b, v.Raw...)
	} else {
		*b = append(*b, def...)
	}
}

// usage is the token usage of an answer, read from the hub.
type usage struct {
	prompt, completion, total, cached, cacheWrite, reasoning int64
	known                                                    bool
}

// read reads a hub (OpenAI chat) `usage` object.
func (u *usage) read(v gjson.Result) {
	if !v.IsObject() {
		return
	}
	u.known = true
	u.prompt = v.Get("prompt_tokens").Int()
	u.completion = v.Get("completion_tokens").Int()
	u.total = v.Get("total_tokens").Int()
	if u.total == 0 {
		u.total = u.prompt + u.completion
	}
	u.cached = v.Get("prompt_tokens_details.cached_tokens").Int()
	u.cacheWrite = v.Get("prompt_tokens_details.cache_creation_tokens").Int()
	u.reasoning = v.Get("completion_tokens_details.reasoning_tokens").Int()
}

// appendJSON appends the Responses `usage` object, or null when unknown.
func (u *usage) appendJSON(b []byte) []byte {
	if !u.known {
		return append(b, "null"...)
	}
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, u.prompt, 10)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.cached, 10)
	b = append(b, `,"cache_write_tokens":`...)
	b = strconv.AppendInt(b, u.cacheWrite, 10)
	b = append(b, `},"output_tokens":`...)
	b = strconv.AppendInt(b, u.completion, 10)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, u.reasoning, 10)
	b = append(b, `},"total_tokens":`...)
	b = strconv.AppendInt(b, u.total, 10)
	return append(b, '}')
}

// appendResponse appends the `response` object with status; with final,
// its output and usage.
func (t *translator) appendResponse(status string, final bool, failure *llm.Error) {
	b := append(t.out, `{"id":"resp_`...)
	b = append(b, t.id...)
	b = append(b, `","object":"response","created_at":`...)
	b = strconv.AppendInt(b, t.created, 10)
	b = append(b, `,"status":"`...)
	b = append(b, status...)
	b = append(b, `","background":false,"error":`...)
	if failure != nil {
		b = append(b, `{"code":`...)
		code := failure.Code
		if code == "" {
			code = "server_error"
		}
		b = llm.AppendString(b, code)
		b = append(b, `,"message":`...)
		b = llm.AppendString(b, failure.Message)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"incomplete_details":`...)
	switch {
	case status != "incomplete":
		b = append(b, "null"...)
	case t.finish == "content_filter":
		b = append(b, `{"reason":"content_filter"}`...)
	default:
		b = append(b, `{"reason":"max_output_tokens"}`...)
	}
	b = append(b, ',')
	if status == "completed" {
		b = append(b, `"completed_at":`...)
		b = strconv.AppendInt(b, now().Unix(), 10)
		b = append(b, ',')
	}
	b = append(b, t.echo.b[:t.echo.preOutput]...)
	b = append(b, `"output":[`...)
	if final {
		b = append(b, t.output...)
	}
	b = append(b, "],"...)
	b = append(b, t.echo.b[t.echo.preOutput:t.echo.preUsage]...)
	b = append(b, `"usage":`...)
	if final {
		b = t.usage.appendJSON(b)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, ',')
	b = append(b, t.echo.b[t.echo.preUsage:]...)
	t.out = append(b, '}')
}
