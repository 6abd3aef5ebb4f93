package gemini

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// appendGeneration appends the hub parameters for generationConfig:
// temperature, topP → top_p, topK → top_k, maxOutputTokens →
// max_completion_tokens, stopSequences → stop, candidateCount → n, seed,
// presencePenalty and frequencyPenalty; responseMimeType application/json
// → response_format (json_schema with responseJsonSchema or the converted
// responseSchema, else json_object); thinkingConfig → reasoning_effort
// (thinkingLevel as it is, a positive thinkingBudget as low up to 1024
// tokens, medium up to 8192, high above; a budget of 0 or -1, dynamic,
// sets nothing). Dropped, as they do not change what is asked:
// mediaResolution, speechConfig, imageConfig, enableEnhancedCivicAnswers
// and includeThoughts. Refused: logprobs, output modalities other than
// text, and text/x.enum answers.
func appendGeneration(b []byte, g gjson.Result) ([]byte, *llm.Error) {
	var mime, schema, jsonSchema, thinking gjson.Result
	var err *llm.Error
	number := func(name string, v gjson.Result) {
		if v.Type == gjson.Number {
			b = append(b, ',', '"')
			b = append(b, name...)
			b = append(b, `":`...)
			b = append(b, v.Raw...)
		}
	}
	g.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "temperature", "seed":
			number(k.Str, v)
		case "topP", "top_p":
			number("top_p", v)
		case "topK", "top_k":
			number("top_k", v)
		case "maxOutputTokens", "max_output_tokens":
			number("max_completion_tokens", v)
		case "candidateCount", "candidate_count":
			number("n", v)
		case "presencePenalty", "presence_penalty":
			number("presence_penalty", v)
		case "frequencyPenalty", "frequency_penalty":
			number("frequency_penalty", v)
		case "stopSequences", "stop_sequences":
			if v.IsArray() {
				b = append(b, `,"stop":`...)
				b = llm.AppendCompact(b, v.Raw)
			}
		case "responseMimeType", "response_mime_type":
			mime = v
		case "responseSchema", "response_schema":
			schema = v
		case "responseJsonSchema", "response_json_schema":
			jsonSchema = v
		case "thinkingConfig", "thinking_config":
			thinking = v
		case "responseLogprobs", "response_logprobs":
			if v.Type == gjson.True {
				err = unsupported("generationConfig.responseLogprobs", "log probabilities are not translated")
			}
		case "logprobs":
			if v.Type == gjson.Number {
				err = unsupported("generationConfig.logprobs", "log probabilities are not translated")
			}
		case "responseModalities", "response_modalities":
			v.ForEach(func(_, m gjson.Result) bool {
				if !strings.EqualFold(m.Str, "TEXT") {
					err = unsupported("generationConfig.responseModalities", "only text output is translated, not %q", m.Str)
				}
				return err == nil
			})
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	switch m := strings.ToLower(mime.Str); {
	case m == "application/json":
		switch {
		case jsonSchema.IsObject():
			b = append(b, `,"response_format":{"type":"json_schema","json_schema":{"name":"response","schema":`...)
			b = llm.AppendCompact(b, jsonSchema.Raw)
			b = append(b, "}}"...)
		case schema.IsObject():
			b = append(b, `,"response_format":{"type":"json_schema","json_schema":{"name":"response","schema":`...)
			b = appendSchema(b, schema)
			b = append(b, "}}"...)
		default:
			b = append(b, `,"response_format":{"type":"json_object"}`...)
		}
	case m == "text/x.enum":
		return nil, unsupported("generationConfig.responseMimeType", "enum answers (text/x.enum) are not translated")
	}
	if effort := reasoningEffort(thinking); effort != "" {
		b = append(b, `,"reasoning_effort":"`...)
		b = append(b, effort...)
		b = append(b, '"')
	}
	return b, nil
}

// reasoningEffort maps a thinkingConfig to OpenAI's reasoning_effort.
func reasoningEffort(tc gjson.Result) string {
	if !tc.IsObject() {
		return ""
	}
	switch l := strings.ToLower(field(tc, "thinkingLevel", "thinking_level").Str); l {
	case "minimal", "low", "medium", "high":
		return l
	}
	budget := field(tc, "thinkingBudget", "thinking_budget")
	if budget.Type != gjson.Number {
		return ""
	}
	switch n := budget.Int(); {
	case n <= 0:
		return "" // 0 turns thinking off, -1 lets the model decide
	case n <= 1024:
		return "low"
	case n <= 8192:
		return "medium"
	}
	return "high"
}
