package anthropic

import (
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// emptySchema is the input_schema of a function without parameters.
const emptySchema = `{"type":"object","properties":{}}`

var (
	toolKeys     = []string{"function", "cache_control"}
	functionKeys = []string{"name", "description", "parameters", "cache_control"}
)

// hasFunctionTools reports whether tools holds at least one function.
func hasFunctionTools(tools gjson.Result) bool {
	found := false
	tools.ForEach(func(_, t gjson.Result) bool {
		found = t.Get("function").IsObject()
		return !found
	})
	return found
}

// appendTools writes `tools` and `tool_choice`. Each function becomes
// {name, description, input_schema: parameters} (`strict` is dropped; a
// cache_control marker on the tool is kept). tool_choice "auto", "none"
// and "required" become {"type":"auto"}, {"type":"none"} and
// {"type":"any"}; a named function {"type":"tool","name":…}. With
// `parallel_tool_calls: false`, `disable_parallel_tool_use` is set.
func appendTools(b []byte, tools, choice, parallel gjson.Result) []byte {
	b = append(b, `,"tools":[`...)
	n := 0
	tools.ForEach(func(_, t gjson.Result) bool {
		var tf, ff [4]gjson.Result
		pick(t, toolKeys, tf[:2])
		fn := tf[0]
		if !fn.IsObject() {
			return true
		}
		pick(fn, functionKeys, ff[:])
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"name":`...)
		b = llm.AppendString(b, ff[0].Str)
		if d := ff[1]; d.Type == gjson.String && d.Str != "" {
			b = append(b, `,"description":`...)
			b = llm.AppendString(b, d.Str)
		}
		b = append(b, `,"input_schema":`...)
		if p := ff[2]; p.IsObject() {
			b = append(b, p.Raw...)
		} else {
			b = append(b, emptySchema...)
		}
		cc := tf[1]
		if !cc.Exists() {
			cc = ff[3]
		}
		b = appendCacheControl(b, cc)
		b = append(b, '}')
		return true
	})
	b = append(b, ']')

	noParallel := parallel.Type == gjson.False
	typ, name := "", ""
	switch {
	case choice.Type == gjson.String:
		switch choice.Str {
		case "none":
			typ = "none"
		case "required":
			typ = "any"
		default:
			typ = "auto"
		}
	case choice.IsObject():
		if fn := choice.Get("function.name"); fn.Type == gjson.String {
			typ, name = "tool", fn.Str
		} else {
			typ = "auto"
		}
	case noParallel:
		typ = "auto"
	default:
		return b
	}
	b = append(b, `,"tool_choice":{"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if name != "" {
		b = append(b, `,"name":`...)
		b = llm.AppendString(b, name)
	}
	if noParallel && typ != "none" {
		b = append(b, `,"disable_parallel_tool_use":true`...)
	}
	return append(b, '}')
}

// formatTool is the tool through which a JSON response_format is served.
type formatTool struct {
	name        string
	description string
	schema      string // raw JSON object
}

// defaultFormatTool names the tool when the schema has no usable name.
const defaultFormatTool = "json_response"

// formatToolOf returns the tool serving response_format, if it asks for
// JSON: json_schema's schema (and name, when it is a valid tool name), or
// any object for json_object.
func formatToolOf(rf gjson.Result) (formatTool, bool) {
	if !rf.IsObject() {
		return formatTool{}, false
	}
	switch rf.Get("type").Str {
	case "json_object":
		return formatTool{
			name:        defaultFormatTool,
			description: "Respond with a JSON object.",
			schema:      `{"type":"object"}`,
		}, true
	case "json_schema":
		js := rf.Get("json_schema")
		f := formatTool{name: defaultFormatTool, description: "Respond with a JSON object that matches the schema.", schema: `{"type":"object"}`}
		if n := js.Get("name").Str; validToolName(n) {
			f.name = n
		}
		if d := js.Get("description"); d.Type == gjson.String && d.Str != "" {
			f.description = d.Str
		}
		if s := js.Get("schema"); s.IsObject() {
			f.schema = s.Raw
		}
		return f, true
	}
	return formatTool{}, false
}

// responseFormatTool returns the name of the forced tool serving a JSON
// response_format in this request, or "" when there is none.
func responseFormatTool(body []byte) string {
	src := llm.BytesString(body)
	if hasFunctionTools(gjson.Get(src, "tools")) {
		return ""
	}
	f, ok := formatToolOf(gjson.Get(src, "response_format"))
	if !ok {
		return ""
	}
	return f.name
}

// appendResponseFormat serves a JSON response_format through a forced
// tool: the schema becomes the tool's input_schema, tool_choice names the
// tool, and the tool's input comes back as the message content (see
// writeMessage and the stream translation), with finish_reason "stop".
func appendResponseFormat(b []byte, f formatTool) []byte {
	b = append(b, `,"tools":[{"name":`...)
	b = llm.AppendString(b, f.name)
	b = append(b, `,"description":`...)
	b = llm.AppendString(b, f.description)
	b = append(b, `,"input_schema":`...)
	b = append(b, f.schema...)
	b = append(b, `}],"tool_choice":{"type":"tool","name":`...)
	b = llm.AppendString(b, f.name)
	return append(b, '}')
}

// validToolName reports whether s matches ^[a-zA-Z0-9_-]{1,64}$.
func validToolName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
