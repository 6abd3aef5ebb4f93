package gemini

import (
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// appendGenerationConfig appends generationConfig when any of its fields is
// set.
func appendGenerationConfig(b []byte, f *chatFields) []byte {
	start := len(b)
	b = append(b, `,"generationConfig":{`...)
	open := len(b)
	field := func(name string) {
		if len(b) > open {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	number := func(name string, v gjson.Result) {
		if v.Type == gjson.Number {
			field(name)
			b = append(b, v.Raw...)
		}
	}
	switch {
	case f.stop.Type == gjson.String && f.stop.Str != "":
		field("stopSequences")
		b = append(b, '[')
		b = llm.AppendString(b, f.stop.Str)
		b = append(b, ']')
	case f.stop.IsArray() && !isEmpty(f.stop.Raw):
		field("stopSequences")
		b = append(b, '[')
		k := 0
		f.stop.ForEach(func(_, s gjson.Result) bool {
			if s.Type == gjson.String {
				if k > 0 {
					b = append(b, ',')
				}
				k++
				b = llm.AppendString(b, s.Str)
			}
			return true
		})
		b = append(b, ']')
	}
	number("temperature", f.temperature)
	number("topP", f.topP)
	if f.n.Type == gjson.Number && f.n.Raw != "1" {
		number("candidateCount", f.n)
	}
	if f.maxCompletionTokens.Type == gjson.Number {
		number("maxOutputTokens", f.maxCompletionTokens)
	} else {
		number("maxOutputTokens", f.maxTokens)
	}
	number("seed", f.seed)
	number("presencePenalty", f.presencePenalty)
	number("frequencyPenalty", f.frequencyPenalty)
	switch f.responseFormat.Get("type").Str {
	case "json_object":
		field("responseMimeType")
		b = append(b, `"application/json"`...)
	case "json_schema":
		field("responseMimeType")
		b = append(b, `"application/json"`...)
		if s := f.responseFormat.Get("json_schema.schema"); s.IsObject() {
			field("responseSchema")
			b = appendSchema(b, s)
		}
	}
	tc := f.google.Get("thinking_config")
	if !tc.Exists() {
		tc = f.extraBody.Get("google.thinking_config")
	}
	if tc.IsObject() {
		field("thinkingConfig")
		b = appendThinkingConfig(b, tc)
	}
	if len(b) == open {
		return b[:start]
	}
	return append(b, '}')
}

// appendThinkingConfig converts Google's OpenAI-compatibility
// `thinking_config` (snake_case) to the native thinkingConfig.
func appendThinkingConfig(b []byte, tc gjson.Result) []byte {
	b = append(b, '{')
	n := 0
	tc.ForEach(func(k, v gjson.Result) bool {
		var name string
		switch k.Str {
		case "thinking_budget", "thinkingBudget":
			name = "thinkingBudget"
		case "include_thoughts", "includeThoughts":
			name = "includeThoughts"
		case "thinking_level", "thinkingLevel":
			name = "thinkingLevel"
		default:
			return true
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
		b = appendRaw(b, v)
		return true
	})
	return append(b, '}')
}

// appendRaw appends a value's JSON without insignificant whitespace
// ("null" for a missing one).
func appendRaw(b []byte, v gjson.Result) []byte {
	if v.Raw == "" {
		return append(b, "null"...)
	}
	return llm.AppendCompact(b, v.Raw)
}
