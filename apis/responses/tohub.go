package responses

import (
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// request holds the top-level fields of a Responses request that are
// translated or refused.
type request struct {
	model, instructions, input, tools, toolChoice, parallel, temperature, topP,
	maxOutput, text, reasoning, user, safety, previous, conversation, prompt,
	background gjson.Result
}

func (q *request) read(body []byte) {
	gjson.Parse(llm.BytesString(body)).ForEach(func(key, v gjson.Result) bool {
		var p *gjson.Result
		switch key.Str {
		case "model":
			p = &q.model
		case "instructions":
			p = &q.instructions
		case "input":
			p = &q.input
		case "tools":
			p = &q.tools
		case "tool_choice":
			p = &q.toolChoice
		case "parallel_tool_calls":
			p = &q.parallel
		case "temperature":
			p = &q.temperature
		case "top_p":
			p = &q.topP
		case "max_output_tokens":
			p = &q.maxOutput
		case "text":
			p = &q.text
		case "reasoning":
			p = &q.reasoning
		case "user":
			p = &q.user
		case "safety_identifier":
			p = &q.safety
		case "previous_response_id":
			p = &q.previous
		case "conversation":
			p = &q.conversation
		case "prompt":
			p = &q.prompt
		case "background":
			p = &q.background
		default:
			return true
		}
		if !p.Exists() {
			*p = v
		}
		return true
	})
}

// ToHub translates a Responses request into a hub (OpenAI chat) body, for
// targets that do not speak the Responses API. It serves the stateless
// subset of the API:
//
//   - `instructions` → a system message; `input` as a string → one user
//     message; input items: messages of the roles user, assistant, system
//     and developer (content parts input_text, output_text, refusal,
//     input_image by URL or data URL, input_file by file_data),
//     `function_call` and `custom_tool_call` → assistant tool_calls (call_id
//     as the id), `function_call_output` and `custom_tool_call_output` →
//     tool messages (images in an output follow as a user message),
//     `reasoning` items with readable text (summary or reasoning_text) →
//     the next assistant message's reasoning_content. Reasoning that is only
//     encrypted (another provider's), `item_reference` and the items of
//     built-in tools (web search, file search, computer use, code
//     interpreter, image generation, shell, MCP, compaction, …) are dropped.
//   - `tools`: function tools (the flat Responses shape → the hub's nested
//     one), the function tools of a `namespace`, and custom (free-form)
//     tools as functions of one string parameter `input`; `tool_choice`
//     (an allowed_tools choice narrows the tools), `parallel_tool_calls`,
//     `temperature`, `top_p`, `max_output_tokens` → max_completion_tokens,
//     `text.format` json_schema / json_object → response_format,
//     `reasoning.effort` → reasoning_effort, `user` (else
//     `safety_identifier`) → user, `stream` with the usage chunk asked for.
//
// Stateful and hosted features are refused with 400 `unsupported` naming
// the parameter: `previous_response_id`, `conversation`, `prompt`
// templates, `background`, built-in tools and a tool_choice forcing one,
// and input parts given by file id or file URL. Whatever else is left out
// (`store`, `include`, `metadata`, `truncation`, `service_tier`,
// `max_tool_calls`, `top_logprobs`, `text.verbosity`, `reasoning.summary`)
// does not change what the model is asked.
func (API) ToHub(req *apis.Request) ([]byte, *llm.Error) {
	var q request
	q.read(req.Body)
	if e := q.refuseStateful(); e != nil {
		return nil, e
	}
	h := hub{b: make([]byte, 0, len(req.Body)+256)}
	h.b = append(h.b, `{"model":`...)
	h.b = llm.AppendString(h.b, req.Model)
	h.b = append(h.b, `,"messages":[`...)
	if e := h.messages(q.instructions, q.input); e != nil {
		return nil, e
	}
	h.b = append(h.b, ']')
	if e := h.toolsAndChoice(q.tools, q.toolChoice); e != nil {
		return nil, e
	}
	if e := h.options(&q); e != nil {
		return nil, e
	}
	if req.Stream {
		h.b = append(h.b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	h.b = append(h.b, '}')
	return h.b, nil
}

// refuseStateful refuses what needs OpenAI's stored state or hosted
// features.
func (q *request) refuseStateful() *llm.Error {
	switch {
	case q.previous.Type == gjson.String && q.previous.Str != "":
		return unsupported("previous_response_id", "previous_response_id needs the responses OpenAI stored; it is passed through to openai and azure targets only, the translation is stateless")
	case q.conversation.Exists() && q.conversation.Type != gjson.Null:
		return unsupported("conversation", "conversations are stored by OpenAI; they are passed through to openai and azure targets only")
	case q.prompt.Exists() && q.prompt.Type != gjson.Null:
		return unsupported("prompt", "prompt templates are stored by OpenAI; they are passed through to openai and azure targets only")
	case q.background.Type == gjson.True:
		return unsupported("background", "background responses are passed through to openai and azure targets only")
	}
	return nil
}

// unsupported is the 400 `unsupported` error for a Responses parameter the
// translation cannot serve.
func unsupported(param, why string) *llm.Error {
	return &llm.Error{
		Status: http.StatusBadRequest, Kind: llm.KindHTTP, Type: "invalid_request_error", Code: "unsupported",
		Param: param, Message: "the Responses API parameter '" + param + "' cannot be translated for this model's targets: " + why,
	}
}

// hub builds a hub body.
type hub struct {
	b []byte
}

// options writes the sampling, limit, format, reasoning and user fields.
func (h *hub) options(q *request) *llm.Error {
	if isSet(q.parallel) {
		h.b = append(h.b, `,"parallel_tool_calls":`...)
		h.b = append(h.b, q.parallel.Raw...)
	}
	if isSet(q.temperature) {
		h.b = append(h.b, `,"temperature":`...)
		h.b = append(h.b, q.temperature.Raw...)
	}
	if isSet(q.topP) {
		h.b = append(h.b, `,"top_p":`...)
		h.b = append(h.b, q.topP.Raw...)
	}
	if q.maxOutput.Type == gjson.Number {
		h.b = append(h.b, `,"max_completion_tokens":`...)
		h.b = append(h.b, q.maxOutput.Raw...)
	}
	if format := q.text.Get("format"); format.IsObject() {
		switch typ := format.Get("type").Str; typ {
		case "", "text":
		case "json_object":
			h.b = append(h.b, `,"response_format":{"type":"json_object"}`...)
		case "json_schema":
			h.b = append(h.b, `,"response_format":{"type":"json_schema","json_schema":{`...)
			n := 0
			for _, k := range [...]string{"name", "description", "schema", "strict"} {
				if v := format.Get(k); isSet(v) {
					if n > 0 {
						h.b = append(h.b, ',')
					}
					n++
					h.b = llm.AppendString(h.b, k)
					h.b = append(h.b, ':')
					h.b = append(h.b, v.Raw...)
				}
			}
			h.b = append(h.b, "}}"...)
		default:
			return unsupported("text.format", "format type "+quote(typ))
		}
	}
	if effort := q.reasoning.Get("effort"); effort.Type == gjson.String {
		h.b = append(h.b, `,"reasoning_effort":`...)
		h.b = append(h.b, effort.Raw...)
	}
	user := q.user
	if user.Type != gjson.String || user.Str == "" {
		user = q.safety
	}
	if user.Type == gjson.String && user.Str != "" {
		h.b = append(h.b, `,"user":`...)
		h.b = append(h.b, user.Raw...)
	}
	return nil
}

// isSet reports whether a field is present and not null.
func isSet(v gjson.Result) bool { return v.Exists() && v.Type != gjson.Null }

func quote(s string) string { return string(llm.AppendString(nil, s)) }
