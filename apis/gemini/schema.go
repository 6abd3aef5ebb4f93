package gemini

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// schemaNames maps the snake_case spellings of Gemini Schema fields to
// their JSON Schema names.
var schemaNames = map[string]string{
	"any_of": "anyOf", "min_items": "minItems", "max_items": "maxItems",
	"min_length": "minLength", "max_length": "maxLength",
	"min_properties": "minProperties", "max_properties": "maxProperties",
}

// appendSchema converts a Gemini Schema (an OpenAPI 3.0 subset) to JSON
// Schema: type names lowercased (`OBJECT` → `object`), `nullable: true`
// folded into the type (`["string","null"]`), `example` → `examples`,
// Gemini's own propertyOrdering dropped, snake_case names spelled as JSON
// Schema does; properties, items and anyOf converted in turn. Nesting is
// bounded by the router's JSON depth limit.
func appendSchema(b []byte, s gjson.Result) []byte {
	if !s.IsObject() {
		return llm.AppendCompact(b, s.Raw)
	}
	nullable := s.Get("nullable").Type == gjson.True
	b = append(b, '{')
	n := 0
	key := func(name string) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = llm.AppendString(b, name)
		b = append(b, ':')
	}
	s.ForEach(func(k, v gjson.Result) bool {
		name := k.Str
		if camel, ok := schemaNames[name]; ok {
			name = camel
		}
		switch name {
		case "nullable", "propertyOrdering", "property_ordering":
		case "type":
			if v.Type != gjson.String {
				key("type")
				b = llm.AppendCompact(b, v.Raw)
				break
			}
			t := strings.ToLower(v.Str)
			if t == "" || t == "type_unspecified" {
				break
			}
			key("type")
			if nullable && t != "null" {
				b = append(b, `["`...)
				b = append(b, t...)
				b = append(b, `","null"]`...)
			} else {
				b = append(b, '"')
				b = append(b, t...)
				b = append(b, '"')
			}
		case "example":
			key("examples")
			b = append(b, '[')
			b = llm.AppendCompact(b, v.Raw)
			b = append(b, ']')
		case "properties":
			key("properties")
			if !v.IsObject() {
				b = llm.AppendCompact(b, v.Raw)
				break
			}
			b = append(b, '{')
			i := 0
			v.ForEach(func(pk, pv gjson.Result) bool {
				if i > 0 {
					b = append(b, ',')
				}
				i++
				b = llm.AppendCompact(b, pk.Raw)
				b = append(b, ':')
				b = appendSchema(b, pv)
				return true
			})
			b = append(b, '}')
		case "items":
			key("items")
			b = appendSchema(b, v)
		case "anyOf":
			key("anyOf")
			if !v.IsArray() {
				b = llm.AppendCompact(b, v.Raw)
				break
			}
			b = append(b, '[')
			i := 0
			v.ForEach(func(_, sub gjson.Result) bool {
				if i > 0 {
					b = append(b, ',')
				}
				i++
				b = appendSchema(b, sub)
				return true
			})
			b = append(b, ']')
		default:
			key(name)
			b = llm.AppendCompact(b, v.Raw)
		}
		return true
	})
	return append(b, '}')
}
