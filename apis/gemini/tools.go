package gemini

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// appendTools appends `tools` for every function declaration and
// `tool_choice` for toolConfig.functionCallingConfig: AUTO and VALIDATED →
// auto, NONE → none, ANY → required, or that function when
// allowedFunctionNames names exactly one (with several, only those are
// offered). Tools other than function declarations (googleSearch,
// codeExecution, urlContext, …) run at Google and are refused.
func appendTools(b []byte, tools, toolConfig gjson.Result) ([]byte, *llm.Error) {
	cfg := field(toolConfig, "functionCallingConfig", "function_calling_config")
	mode := strings.ToUpper(cfg.Get("mode").Str)
	var allowed []gjson.Result
	if mode == "ANY" || mode == "VALIDATED" {
		allowed = field(cfg, "allowedFunctionNames", "allowed_function_names").Array()
	}
	start := len(b)
	b = append(b, `,"tools":[`...)
	n := 0
	var err *llm.Error
	ti := 0
	tools.ForEach(func(_, t gjson.Result) bool {
		t.ForEach(func(k, decls gjson.Result) bool {
			switch k.Str {
			case "functionDeclarations", "function_declarations":
				decls.ForEach(func(_, d gjson.Result) bool {
					name := d.Get("name").Str
					if len(allowed) > 0 && !contains(allowed, name) {
						return true
					}
					if n > 0 {
						b = append(b, ',')
					}
					n++
					b = appendFunction(b, d)
					return true
				})
			default:
				err = unsupported(fmt.Sprintf("tools[%d].%s", ti, k.Str), "the tool %q runs at Google and cannot be offered by another provider", k.Str)
			}
			return err == nil
		})
		ti++
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return b[:start], nil
	}
	b = append(b, ']')
	switch mode {
	case "AUTO", "VALIDATED":
		b = append(b, `,"tool_choice":"auto"`...)
	case "NONE":
		b = append(b, `,"tool_choice":"none"`...)
	case "ANY":
		if len(allowed) == 1 {
			b = append(b, `,"tool_choice":{"type":"function","function":{"name":`...)
			b = llm.AppendString(b, allowed[0].Str)
			b = append(b, "}}"...)
		} else {
			b = append(b, `,"tool_choice":"required"`...)
		}
	}
	return b, nil
}

func contains(list []gjson.Result, s string) bool {
	for _, v := range list {
		if v.Str == s {
			return true
		}
	}
	return false
}

// appendFunction appends one OpenAI function tool: parametersJsonSchema
// as it is, else parameters (a Gemini Schema) as JSON Schema, else an empty
// object schema.
func appendFunction(b []byte, d gjson.Result) []byte {
	b = append(b, `{"type":"function","function":{"name":`...)
	b = llm.AppendString(b, d.Get("name").Str)
	if desc := d.Get("description"); desc.Type == gjson.String {
		b = append(b, `,"description":`...)
		b = llm.AppendString(b, desc.Str)
	}
	b = append(b, `,"parameters":`...)
	if js := field(d, "parametersJsonSchema", "parameters_json_schema"); js.IsObject() {
		b = llm.AppendCompact(b, js.Raw)
	} else if p := d.Get("parameters"); p.IsObject() {
		b = appendSchema(b, p)
	} else {
		b = append(b, `{"type":"object","properties":{}}`...)
	}
	return append(b, "}}"...)
}
