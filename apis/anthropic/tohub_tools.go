package anthropic

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// emptySchema is the parameters of a tool without input_schema.
const emptySchema = `{"type":"object","properties":{}}`

// toolFields are the fields of a tool definition that are translated.
type toolFields struct {
	typ, name, description, inputSchema, cacheControl, strict gjson.Result
}

func (f *toolFields) read(t gjson.Result) {
	t.ForEach(func(key, v gjson.Result) bool {
		var p *gjson.Result
		switch key.Str {
		case "type":
			p = &f.typ
		case "name":
			p = &f.name
		case "description":
			p = &f.description
		case "input_schema":
			p = &f.inputSchema
		case "cache_control":
			p = &f.cacheControl
		case "strict":
			p = &f.strict
		default:
			return true
		}
		if !p.Exists() {
			*p = v
		}
		return true
	})
}

// appendTools writes `tools` as function tools and `tool_choice`. A tool
// of a type other than "custom" is one of Anthropic's own (server tools
// such as web_search, or the schema-less bash and text_editor tools): 400
// unsupported. tool_choice is written only with tools, as OpenAI requires.
func appendTools(b []byte, tools, choice gjson.Result) ([]byte, *llm.Error) {
	if !tools.IsArray() {
		return b, nil
	}
	var e *llm.Error
	mark := len(b)
	b = append(b, `,"tools":[`...)
	n := 0
	tools.ForEach(func(_, t gjson.Result) bool {
		var f toolFields
		f.read(t)
		if typ := f.typ.Str; f.typ.Exists() && f.typ.Type != gjson.Null && typ != "custom" {
			e = unsupported("tools", "tools."+strconv.Itoa(n)+" is Anthropic's "+strconv.Quote(typ)+" tool")
			return false
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"type":"function","function":{"name":`...)
		b = appendStr(b, f.name)
		if f.description.Type == gjson.String && f.description.Str != "" {
			b = append(b, `,"description":`...)
			b = appendStr(b, f.description)
		}
		b = append(b, `,"parameters":`...)
		if f.inputSchema.IsObject() {
			b = append(b, f.inputSchema.Raw...)
		} else {
			b = append(b, emptySchema...)
		}
		if f.strict.Type == gjson.True {
			b = append(b, `,"strict":true`...)
		}
		b = append(b, '}')
		if f.cacheControl.IsObject() {
			b = append(b, `,"cache_control":`...)
			b = append(b, f.cacheControl.Raw...)
		}
		b = append(b, '}')
		return true
	})
	if e != nil {
		return b[:mark], e
	}
	if n == 0 {
		return b[:mark], nil
	}
	b = append(b, ']')
	if !choice.IsObject() {
		return b, nil
	}
	switch choice.Get("type").Str {
	case "auto":
		b = append(b, `,"tool_choice":"auto"`...)
	case "any":
		b = append(b, `,"tool_choice":"required"`...)
	case "none":
		b = append(b, `,"tool_choice":"none"`...)
	case "tool":
		b = append(b, `,"tool_choice":{"type":"function","function":{"name":`...)
		b = llm.AppendString(b, choice.Get("name").Str)
		b = append(b, "}}"...)
	}
	if choice.Get("disable_parallel_tool_use").Type == gjson.True {
		b = append(b, `,"parallel_tool_calls":false`...)
	}
	return b, nil
}
