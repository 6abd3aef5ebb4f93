package gemini

import (
	"fmt"
	"net/http"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// chatFields are the parts of an OpenAI chat request that are translated.
type chatFields struct {
	messages, tools, toolChoice, responseFormat, stop          gjson.Result
	temperature, topP, maxTokens, maxCompletionTokens, n, seed gjson.Result
	presencePenalty, frequencyPenalty, google, extraBody       gjson.Result
}

// translateChat appends the Gemini GenerateContentRequest for an OpenAI chat
// request to b:
//
//   - system and developer messages → systemInstruction; user → user,
//     assistant → model, tool results → functionResponse parts in a user
//     turn; consecutive turns of one role merged;
//   - text, image_url (data: URLs → inlineData, http(s)/gs URLs → fileData),
//     input_audio and inline file parts;
//   - assistant tool_calls → functionCall parts, arguments as objects;
//   - tools → functionDeclarations, tool_choice → toolConfig;
//   - temperature, top_p, max_(completion_)tokens, stop, n, seed,
//     presence/frequency_penalty and response_format → generationConfig;
//   - Google's own OpenAI-compatibility extension
//     `google.thinking_config` (also under `extra_body`) → thinkingConfig.
//
// Parameters with no Gemini equivalent that do not change the answer's
// meaning (user, logit_bias, parallel_tool_calls, store, metadata, …) are
// dropped; those that would are refused by Check.
func translateChat(b []byte, c *llm.Call) ([]byte, *llm.Error) {
	var f chatFields
	gjson.Parse(llm.BytesString(c.Body)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "messages":
			f.messages = v
		case "tools":
			f.tools = v
		case "tool_choice":
			f.toolChoice = v
		case "response_format":
			f.responseFormat = v
		case "stop":
			f.stop = v
		case "temperature":
			f.temperature = v
		case "top_p":
			f.topP = v
		case "max_tokens":
			f.maxTokens = v
		case "max_completion_tokens":
			f.maxCompletionTokens = v
		case "n":
			f.n = v
		case "seed":
			f.seed = v
		case "presence_penalty":
			f.presencePenalty = v
		case "frequency_penalty":
			f.frequencyPenalty = v
		case "google":
			f.google = v
		case "extra_body":
			f.extraBody = v
		}
		return true
	})
	if !f.messages.IsArray() {
		return nil, invalid("messages", "'messages' must be an array")
	}
	if b == nil {
		b = make([]byte, 0, len(c.Body)+256)
	}
	cv := converter{b: append(b, `{"contents":[`...)}
	if err := cv.messages(f.messages); err != nil {
		return nil, err
	}
	b = cv.finish()
	b = append(b, ']')
	if len(cv.sys) > 0 {
		b = append(b, `,"systemInstruction":{"parts":[`...)
		b = append(b, cv.sys...)
		b = append(b, "]}"...)
	}
	b = appendTools(b, f.tools, f.toolChoice)
	b = appendGenerationConfig(b, &f)
	return append(b, '}'), nil
}

// invalid is a 400 for a request the router cannot translate.
func invalid(param, format string, args ...any) *llm.Error {
	return &llm.Error{
		Status: http.StatusBadRequest, Kind: llm.KindHTTP,
		Message: fmt.Sprintf(format, args...),
		Type:    "invalid_request_error", Code: "invalid_request", Param: param,
	}
}

// converter turns OpenAI messages into Gemini contents.
type converter struct {
	b     []byte     // the request being written
	sys   []byte     // parts of systemInstruction
	parts []byte     // parts of the current message
	role  string     // role of the open content, "" when none is open
	calls []toolCall // tool calls seen so far, to name tool results
}

type toolCall struct{ id, name string }

func (cv *converter) messages(msgs gjson.Result) *llm.Error {
	var err *llm.Error
	i := 0
	msgs.ForEach(func(_, m gjson.Result) bool {
		err = cv.message(i, m)
		i++
		return err == nil
	})
	return err
}

func (cv *converter) message(i int, m gjson.Result) *llm.Error {
	if !m.IsObject() {
		return invalid(fmt.Sprintf("messages[%d]", i), "messages[%d] must be an object", i)
	}
	content := m.Get("content")
	cv.parts = cv.parts[:0]
	var err *llm.Error
	switch role := m.Get("role").Str; role {
	case "system", "developer":
		cv.sys = appendTextParts(cv.sys, content)
		return nil
	case "user":
		if cv.parts, err = appendUserParts(cv.parts, content, i); err != nil {
			return err
		}
		cv.emit("user")
	case "assistant":
		cv.parts = appendTextParts(cv.parts, content)
		cv.parts = cv.appendFunctionCalls(cv.parts, m.Get("tool_calls"))
		if fc := m.Get("function_call"); fc.IsObject() {
			cv.parts = appendFunctionCall(cv.parts, fc.Get("name").Str, fc.Get("arguments").Str, "")
		}
		cv.emit("model")
	case "tool", "function":
		name := m.Get("name").Str
		if id := m.Get("tool_call_id").Str; id != "" {
			if n := cv.nameOf(id); n != "" {
				name = n
			} else if name == "" {
				name = id
			}
		}
		if name == "" {
			return invalid(fmt.Sprintf("messages[%d].tool_call_id", i), "messages[%d]: the tool result matches no earlier tool call", i)
		}
		cv.parts = appendFunctionResponse(cv.parts, name, content)
		cv.emit("user")
	default:
		return invalid(fmt.Sprintf("messages[%d].role", i), "messages[%d]: unknown role %q", i, role)
	}
	return nil
}

// emit adds the current message's parts to a content of role, merging with
// the previous content when it has the same role.
func (cv *converter) emit(role string) {
	if len(cv.parts) == 0 {
		return
	}
	switch {
	case cv.role == role:
		cv.b = append(cv.b, ',')
	default:
		if cv.role != "" {
			cv.b = append(cv.b, "]},"...)
		}
		cv.b = append(cv.b, `{"role":"`...)
		cv.b = append(cv.b, role...)
		cv.b = append(cv.b, `","parts":[`...)
		cv.role = role
	}
	cv.b = append(cv.b, cv.parts...)
}

func (cv *converter) finish() []byte {
	if cv.role != "" {
		cv.b = append(cv.b, "]}"...)
	}
	return cv.b
}

func (cv *converter) nameOf(id string) string {
	for i := len(cv.calls) - 1; i >= 0; i-- {
		if cv.calls[i].id == id {
			return cv.calls[i].name
		}
	}
	return ""
}
