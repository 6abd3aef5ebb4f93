package gemini

import "github.com/tidwall/gjson"

// droppedSchemaKeywords are the JSON-schema keywords OpenAI clients send
// that Gemini's Schema (a subset of OpenAPI 3.0) rejects.
func droppedSchemaKeyword(k string) bool {
	switch k {
	case "additionalProperties", "$schema", "strict":
		return true
	}
	return false
}

// appendSchema appends a JSON schema for Gemini's `parameters` and
// `responseSchema`: the keywords Gemini rejects are removed at every level,
// and a `type` list of one type plus "null" becomes that type with
// `nullable: true`. Property names are never touched: a property called
// `strict` stays.
func appendSchema(b []byte, s gjson.Result) []byte {
	if !s.IsObject() {
		return appendRaw(b, s)
	}
	b = append(b, '{')
	n := 0
	hasNullable := false
	s.ForEach(func(k, v gjson.Result) bool {
		if k.Str == "nullable" {
			hasNullable = true
		}
		return true
	})
	s.ForEach(func(k, v gjson.Result) bool {
		if droppedSchemaKeyword(k.Str) {
			return true
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, k.Raw...)
		b = append(b, ':')
		switch k.Str {
		case "properties", "$defs", "definitions", "patternProperties", "dependentSchemas":
			b = appendSchemaMap(b, v)
		case "items", "additionalItems", "not", "contains", "if", "then", "else",
			"propertyNames", "unevaluatedItems", "unevaluatedProperties":
			if v.IsArray() {
				b = appendSchemaList(b, v)
			} else {
				b = appendSchema(b, v)
			}
		case "anyOf", "allOf", "oneOf", "prefixItems":
			b = appendSchemaList(b, v)
		case "type":
			b = appendType(b, v, hasNullable)
		default:
			b = appendRaw(b, v)
		}
		return true
	})
	return append(b, '}')
}

// appendSchemaMap appends an object whose values are schemas.
func appendSchemaMap(b []byte, m gjson.Result) []byte {
	if !m.IsObject() {
		return appendRaw(b, m)
	}
	b = append(b, '{')
	n := 0
	m.ForEach(func(k, v gjson.Result) bool {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, k.Raw...)
		b = append(b, ':')
		b = appendSchema(b, v)
		return true
	})
	return append(b, '}')
}

// appendSchemaList appends an array of schemas.
func appendSchemaList(b []byte, l gjson.Result) []byte {
	if !l.IsArray() {
		return appendSchema(b, l)
	}
	b = append(b, '[')
	n := 0
	l.ForEach(func(_, v gjson.Result) bool {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendSchema(b, v)
		return true
	})
	return append(b, ']')
}

// appendType turns `"type":["string","null"]` into `"type":"string",
// "nullable":true`; any other type is kept as it is.
func appendType(b []byte, t gjson.Result, hasNullable bool) []byte {
	if !t.IsArray() {
		return appendRaw(b, t)
	}
	var one gjson.Result
	types, null := 0, false
	t.ForEach(func(_, v gjson.Result) bool {
		if v.Type == gjson.String && v.Str == "null" {
			null = true
		} else {
			one = v
			types++
		}
		return true
	})
	if types != 1 || one.Type != gjson.String {
		return appendRaw(b, t)
	}
	b = appendRaw(b, one)
	if null && !hasNullable {
		b = append(b, `,"nullable":true`...)
	}
	return b
}

// isEmptyObjectSchema reports whether a function's parameters declare an
// object with no properties, which Gemini rejects ("properties: should be
// non-empty for OBJECT type"); such parameters are left out.
func isEmptyObjectSchema(s gjson.Result) bool {
	if !s.IsObject() {
		return s.Type == gjson.Null || !s.Exists()
	}
	props := s.Get("properties")
	if t := s.Get("type"); t.Exists() && t.Str != "object" {
		return false
	}
	if props.Exists() && !(props.IsObject() && isEmpty(props.Raw)) {
		return false
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf", "$ref", "enum"} {
		if s.Get(gjson.Escape(k)).Exists() {
			return false
		}
	}
	return true
}

// isEmpty reports whether a raw JSON object or array has no members.
func isEmpty(raw string) bool {
	for i := 1; i < len(raw)-1; i++ {
		switch raw[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}
