package responses

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// customParameters is the schema of the function a custom (free-form) tool
// is declared as: its whole input in one string.
const customParameters = `{"type":"object","properties":{"input":{"type":"string","description":"The tool's input, free-form text as described."}},"required":["input"],"additionalProperties":false}`

// toolsAndChoice writes `tools` and `tool_choice`. Function tools (also
// inside a namespace) and custom tools are declared as hub functions.
// Built-in tools (web search, file search, code interpreter, …) are run by
// OpenAI itself: a translated target cannot offer them, so they are left
// out — the model answers without them, as clients that send them by
// default (Codex's web search) expect — while a tool_choice forcing one is
// refused.
func (h *hub) toolsAndChoice(tools, choice gjson.Result) *llm.Error {
	allowed, e := h.choice(choice)
	if e != nil {
		return e
	}
	if !tools.IsArray() {
		return nil
	}
	start := len(h.b)
	h.b = append(h.b, `,"tools":[`...)
	n := 0
	i := 0
	tools.ForEach(func(_, t gjson.Result) bool {
		param := "tools[" + strconv.Itoa(i) + "]"
		i++
		switch typ := t.Get("type").Str; typ {
		case "function", "custom":
			if h.tool(t, typ == "custom", allowed, &n) {
				return true
			}
			e = apis.Invalid(param+".name", "a %s tool needs a name", typ)
		case "namespace":
			j := 0
			t.Get("tools").ForEach(func(_, inner gjson.Result) bool {
				p := param + ".tools[" + strconv.Itoa(j) + "]"
				j++
				switch typ := inner.Get("type").Str; typ {
				case "function", "custom":
					if !h.tool(inner, typ == "custom", allowed, &n) {
						e = apis.Invalid(p+".name", "a %s tool needs a name", typ)
					}
				}
				return e == nil
			})
		}
		return e == nil
	})
	if e != nil {
		return e
	}
	if n == 0 {
		h.b = h.b[:start] // no function left to declare
		return nil
	}
	h.b = append(h.b, ']')
	return nil
}

// tool writes one function or custom tool unless allowed (when not nil)
// leaves it out; it reports false for a tool without a name.
func (h *hub) tool(t gjson.Result, custom bool, allowed map[string]bool, n *int) bool {
	name := t.Get("name")
	if name.Type != gjson.String || name.Str == "" {
		return false
	}
	if allowed != nil && !allowed[name.Str] {
		return true
	}
	if *n > 0 {
		h.b = append(h.b, ',')
	}
	*n++
	h.b = append(h.b, `{"type":"function","function":{"name":`...)
	h.b = append(h.b, name.Raw...)
	desc := t.Get("description")
	if custom {
		text := desc.Str
		if f := t.Get("format"); f.Get("type").Str == "grammar" {
			if text != "" {
				text += "\n\n"
			}
			text += "The input must follow this " + f.Get("syntax").Str + " grammar:\n" + f.Get("definition").Str
		}
		if text != "" {
			h.b = append(h.b, `,"description":`...)
			h.b = llm.AppendString(h.b, text)
		}
		h.b = append(h.b, `,"parameters":`...)
		h.b = append(h.b, customParameters...)
		h.b = append(h.b, "}}"...)
		return true
	}
	if desc.Type == gjson.String {
		h.b = append(h.b, `,"description":`...)
		h.b = append(h.b, desc.Raw...)
	}
	if p := t.Get("parameters"); p.IsObject() {
		h.b = append(h.b, `,"parameters":`...)
		h.b = append(h.b, p.Raw...)
	}
	if s := t.Get("strict"); s.Type == gjson.True || s.Type == gjson.False {
		h.b = append(h.b, `,"strict":`...)
		h.b = append(h.b, s.Raw...)
	}
	h.b = append(h.b, "}}"...)
	return true
}

// choice writes `tool_choice`. An allowed_tools choice becomes its mode,
// and the names it allows are returned to narrow the tools.
func (h *hub) choice(choice gjson.Result) (map[string]bool, *llm.Error) {
	switch {
	case !isSet(choice):
		return nil, nil
	case choice.Type == gjson.String:
		switch choice.Str {
		case "none", "auto", "required":
			h.b = append(h.b, `,"tool_choice":`...)
			h.b = append(h.b, choice.Raw...)
			return nil, nil
		}
		return nil, apis.Invalid("tool_choice", "tool_choice must be none, auto, required or an object, not %s", quote(choice.Str))
	case !choice.IsObject():
		return nil, apis.Invalid("tool_choice", "tool_choice must be a string or an object")
	}
	switch typ := choice.Get("type").Str; typ {
	case "function", "custom":
		name := choice.Get("name")
		if name.Type != gjson.String || name.Str == "" {
			return nil, apis.Invalid("tool_choice.name", "a %s tool_choice needs a name", typ)
		}
		h.b = append(h.b, `,"tool_choice":{"type":"function","function":{"name":`...)
		h.b = append(h.b, name.Raw...)
		h.b = append(h.b, "}}"...)
		return nil, nil
	case "allowed_tools":
		mode := choice.Get("mode").Str
		if mode != "auto" && mode != "required" {
			return nil, apis.Invalid("tool_choice.mode", "an allowed_tools tool_choice has mode auto or required")
		}
		allowed := make(map[string]bool)
		var e *llm.Error
		choice.Get("tools").ForEach(func(_, t gjson.Result) bool {
			switch typ := t.Get("type").Str; typ {
			case "function", "custom":
				allowed[t.Get("name").Str] = true
			default:
				e = unsupported("tool_choice.tools", "a choice of the built-in tool "+quote(typ))
			}
			return e == nil
		})
		if e != nil {
			return nil, e
		}
		h.b = append(h.b, `,"tool_choice":"`...)
		h.b = append(h.b, mode...)
		h.b = append(h.b, '"')
		return allowed, nil
	default:
		return nil, unsupported("tool_choice", "a choice of the built-in tool "+quote(typ))
	}
}
