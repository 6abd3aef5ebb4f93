package gemini

import (
	"strings"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// appendFunctionCalls appends an assistant's tool_calls as functionCall
// parts, with the thought signature carried in the id (see toolCallID).
func (cv *converter) appendFunctionCalls(b []byte, calls gjson.Result) []byte {
	calls.ForEach(func(_, tc gjson.Result) bool {
		fn := tc.Get("function")
		name, id := fn.Get("name").Str, tc.Get("id").Str
		cv.calls = append(cv.calls, toolCall{id: id, name: name})
		b = appendFunctionCall(b, name, fn.Get("arguments").Str, signatureOf(id))
		return true
	})
	return b
}

func appendFunctionCall(b []byte, name, args, signature string) []byte {
	if len(b) > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"functionCall":{"name":`...)
	b = llm.AppendString(b, name)
	b = append(b, `,"args":`...)
	b = appendArgs(b, args)
	b = append(b, '}')
	if signature != "" {
		b = append(b, `,"thoughtSignature":`...)
		b = llm.AppendString(b, signature)
	}
	return append(b, '}')
}

// appendArgs appends OpenAI's arguments string as the object Gemini wants:
// a JSON object as it is, nothing as {}, anything else (not an object, or
// not JSON at all) kept as the string in {"arguments": …}.
func appendArgs(b []byte, args string) []byte {
	trimmed := strings.TrimSpace(args)
	switch {
	case trimmed == "":
		return append(b, "{}"...)
	case trimmed[0] == '{' && gjson.Valid(trimmed):
		return llm.AppendCompact(b, trimmed)
	}
	b = append(b, `{"arguments":`...)
	b = llm.AppendString(b, args)
	return append(b, '}')
}

// appendFunctionResponse appends a tool result: content that is a JSON
// object is sent as that object, anything else as {"content": "<text>"}.
func appendFunctionResponse(b []byte, name string, content gjson.Result) []byte {
	if len(b) > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"functionResponse":{"name":`...)
	b = llm.AppendString(b, name)
	b = append(b, `,"response":`...)
	text := contentText(content)
	if trimmed := strings.TrimSpace(text); len(trimmed) > 0 && trimmed[0] == '{' && gjson.Valid(trimmed) {
		b = llm.AppendCompact(b, trimmed)
	} else {
		b = append(b, `{"content":`...)
		b = llm.AppendString(b, text)
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

// appendTools appends functionDeclarations and toolConfig.
func appendTools(b []byte, tools, choice gjson.Result) []byte {
	n := 0
	tools.ForEach(func(_, t gjson.Result) bool {
		fn := t.Get("function")
		if !fn.IsObject() {
			return true
		}
		if n == 0 {
			b = append(b, `,"tools":[{"functionDeclarations":[`...)
		} else {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"name":`...)
		b = llm.AppendString(b, fn.Get("name").Str)
		if d := fn.Get("description"); d.Type == gjson.String && d.Str != "" {
			b = append(b, `,"description":`...)
			b = llm.AppendString(b, d.Str)
		}
		if p := fn.Get("parameters"); !isEmptyObjectSchema(p) {
			b = append(b, `,"parameters":`...)
			b = appendSchema(b, p)
		}
		b = append(b, '}')
		return true
	})
	if n == 0 {
		return b
	}
	b = append(b, "]}]"...)
	mode, name := "", ""
	switch {
	case choice.Type == gjson.String:
		switch choice.Str {
		case "auto":
			mode = "AUTO"
		case "none":
			mode = "NONE"
		case "required":
			mode = "ANY"
		}
	case choice.IsObject():
		if name = choice.Get("function.name").Str; name != "" {
			mode = "ANY"
		}
	}
	if mode == "" {
		return b
	}
	b = append(b, `,"toolConfig":{"functionCallingConfig":{"mode":"`...)
	b = append(b, mode...)
	b = append(b, '"')
	if name != "" {
		b = append(b, `,"allowedFunctionNames":[`...)
		b = llm.AppendString(b, name)
		b = append(b, ']')
	}
	return append(b, "}}"...)
}
