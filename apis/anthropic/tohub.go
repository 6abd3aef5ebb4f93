package anthropic

import (
	"fmt"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// messagesRequest holds the top-level fields of a Messages request that the
// translation reads, found in one pass over the body. A key given twice
// counts once, the first time, as gjson.Get reads it.
type messagesRequest struct {
	messages, system, maxTokens, stopSequences, temperature, topP, topK gjson.Result
	tools, toolChoice, thinking, metadata, outputConfig, outputFormat   gjson.Result
	mcpServers, container                                               gjson.Result
}

func (r *messagesRequest) read(src string) {
	gjson.Parse(src).ForEach(func(key, v gjson.Result) bool {
		var f *gjson.Result
		switch key.Str {
		case "messages":
			f = &r.messages
		case "system":
			f = &r.system
		case "max_tokens":
			f = &r.maxTokens
		case "stop_sequences":
			f = &r.stopSequences
		case "temperature":
			f = &r.temperature
		case "top_p":
			f = &r.topP
		case "top_k":
			f = &r.topK
		case "tools":
			f = &r.tools
		case "tool_choice":
			f = &r.toolChoice
		case "thinking":
			f = &r.thinking
		case "metadata":
			f = &r.metadata
		case "output_config":
			f = &r.outputConfig
		case "output_format":
			f = &r.outputFormat
		case "mcp_servers":
			f = &r.mcpServers
		case "container":
			f = &r.container
		default:
			return true
		}
		if !f.Exists() {
			*f = v
		}
		return true
	})
}

// ToHub translates a Messages request into an OpenAI chat body (the hub
// format) for targets that do not speak the Messages API:
//
//   - `system` (a string or text blocks) becomes the first, system message;
//   - each message becomes one hub message, except that a user turn with
//     tool_result blocks becomes one `tool` message per result first, then
//     a user message with the rest of the turn (see turn);
//   - `max_tokens` → `max_completion_tokens`, `stop_sequences` → `stop`,
//     `temperature`, `top_p`, `top_k` kept, `metadata.user_id` → `user`;
//   - `tools` → function tools (input_schema → parameters), `tool_choice`
//     auto / any / tool / none → "auto" / "required" / a named function /
//     "none", `disable_parallel_tool_use` → `parallel_tool_calls: false`;
//   - `thinking` with an explicit budget (type "enabled") passes as the
//     hub's `thinking` extension; "adaptive" and "disabled" (Claude Code
//     sends adaptive by default) and `output_config.effort` are left out:
//     they mean nothing to other models, and OpenAI refuses
//     `reasoning_effort` for models that do not reason;
//   - a JSON-schema output format (`output_config.format`, or the older
//     `output_format`) → `response_format` json_schema;
//   - a message of role "system" (Claude Code sends them with a beta)
//     becomes a system message in its place;
//   - `stream` → `stream` with `stream_options.include_usage`, so the hub
//     stream ends with its usage.
//
// What the hub cannot express gets 400 `unsupported` naming the parameter:
// Anthropic's server tools (web_search, code_execution, bash, text_editor,
// …), MCP servers, containers, and content blocks other than text, image,
// document (PDF, text), tool_use, tool_result, thinking and
// redacted_thinking. Every other field (citations, cache_control on
// tool_use blocks, service_tier, context_management, …) is dropped.
func (API) ToHub(req *apis.Request) ([]byte, *llm.Error) {
	var r messagesRequest
	r.read(llm.BytesString(req.Body))
	switch {
	case r.mcpServers.Exists() && r.mcpServers.Type != gjson.Null && r.mcpServers.Raw != "[]":
		return nil, unsupported("mcp_servers", "MCP servers are run by the Messages API itself")
	case r.container.Exists() && r.container.Type != gjson.Null:
		return nil, unsupported("container", "containers belong to Anthropic's code execution tool")
	}
	b := make([]byte, 0, len(req.Body)+len(req.Body)/8+256)
	b = append(b, `{"model":`...)
	b = llm.AppendString(b, req.Model)
	b = append(b, `,"messages":[`...)
	c := converter{b: b}
	c.system(r.system)
	if e := c.messages(r.messages); e != nil {
		return nil, e
	}
	b = append(c.b, ']')
	if r.maxTokens.Type == gjson.Number {
		b = append(b, `,"max_completion_tokens":`...)
		b = llm.AppendInt(b, r.maxTokens.Int())
	}
	b = appendStop(b, r.stopSequences)
	for _, f := range [...]struct {
		name string
		v    gjson.Result
	}{{"temperature", r.temperature}, {"top_p", r.topP}, {"top_k", r.topK}} {
		if f.v.Type == gjson.Number {
			b = append(b, `,"`...)
			b = append(b, f.name...)
			b = append(b, `":`...)
			b = append(b, f.v.Raw...)
		}
	}
	if u := r.metadata.Get("user_id"); u.Type == gjson.String && u.Str != "" {
		b = append(b, `,"user":`...)
		b = llm.AppendString(b, u.Str)
	}
	var e *llm.Error
	if b, e = appendTools(b, r.tools, r.toolChoice); e != nil {
		return nil, e
	}
	if r.thinking.IsObject() && r.thinking.Get("type").Str == "enabled" {
		b = append(b, `,"thinking":`...)
		b = append(b, r.thinking.Raw...)
	}
	b = appendOutputConfig(b, r.outputConfig, r.outputFormat)
	if req.Stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(b, '}'), nil
}

// unsupported is the 400 `unsupported` error for a parameter the hub (and
// so every target that does not speak the Messages API) cannot express.
func unsupported(param, why string) *llm.Error {
	return &llm.Error{
		Status: http.StatusBadRequest, Kind: llm.KindHTTP, Type: "invalid_request_error", Code: "unsupported",
		Param:   param,
		Message: fmt.Sprintf("%s cannot be translated for a target that does not speak the Anthropic Messages API: %s", param, why),
	}
}

// appendStop writes stop_sequences as `stop`.
func appendStop(b []byte, stops gjson.Result) []byte {
	if !stops.IsArray() {
		return b
	}
	mark := len(b)
	b = append(b, `,"stop":[`...)
	n := 0
	stops.ForEach(func(_, s gjson.Result) bool {
		if s.Type == gjson.String && s.Str != "" {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = appendStr(b, s)
		}
		return true
	})
	if n == 0 {
		return b[:mark]
	}
	return append(b, ']')
}

// appendOutputConfig writes a json_schema output format as
// `response_format`.
func appendOutputConfig(b []byte, cfg, legacyFormat gjson.Result) []byte {
	format := cfg.Get("format")
	if !format.IsObject() {
		format = legacyFormat
	}
	if format.IsObject() && format.Get("type").Str == "json_schema" {
		if s := format.Get("schema"); s.IsObject() {
			b = append(b, `,"response_format":{"type":"json_schema","json_schema":{"name":"output","schema":`...)
			b = append(b, s.Raw...)
			b = append(b, "}}"...)
		}
	}
	return b
}
