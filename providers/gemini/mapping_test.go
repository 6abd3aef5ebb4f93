package gemini

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/tidwall/gjson"
)

// The golden files are snapshots; these assertions state, fixture by
// fixture, what each translated value must be, so a snapshot updated by
// mistake still fails here.
func TestRequestMappings(t *testing.T) {
	tests := []struct {
		fixture, path, want string
	}{
		{"basic", "contents.#", "3"},
		{"basic", "contents.0.role", "user"},
		{"basic", "contents.1.role", "model"},
		{"basic", "contents.2.parts.#", "2"}, // consecutive user turns merged
		{"basic", "systemInstruction.parts.0.text", "You are terse."},
		{"basic", "systemInstruction.parts.1.text", "Answer in English."},
		{"basic", "generationConfig.temperature", "0.7"},
		{"basic", "generationConfig.topP", "0.9"},
		{"basic", "generationConfig.maxOutputTokens", "256"},
		{"basic", "generationConfig.stopSequences", `["END"]`},
		{"basic", "generationConfig.candidateCount", "2"},
		{"basic", "generationConfig.seed", "42"},
		{"basic", "generationConfig.presencePenalty", "0.5"},
		{"basic", "generationConfig.frequencyPenalty", "-0.25"},
		{"basic", "user", ""},
		{"max_completion_tokens", "generationConfig.maxOutputTokens", "100"},
		{"max_completion_tokens", "generationConfig.stopSequences.1", "STOP"},
		{"max_completion_tokens", "generationConfig.candidateCount", ""},
		{"max_completion_tokens", "generationConfig.temperature", ""},
		{"tools", "tools.0.functionDeclarations.#", "3"},
		{"tools", "tools.0.functionDeclarations.0.parameters.additionalProperties", ""},
		{"tools", "tools.0.functionDeclarations.0.parameters.$schema", ""},
		{"tools", "tools.0.functionDeclarations.0.parameters.properties.options.additionalProperties", ""},
		{"tools", "tools.0.functionDeclarations.0.parameters.properties.tags.items.additionalProperties", ""},
		{"tools", "tools.0.functionDeclarations.0.parameters.properties.strict.type", "boolean"},
		{"tools", "tools.0.functionDeclarations.0.parameters.properties.unit.type", "string"},
		{"tools", "tools.0.functionDeclarations.0.parameters.properties.unit.nullable", "true"},
		{"tools", "tools.0.functionDeclarations.0.strict", ""},
		{"tools", "tools.0.functionDeclarations.1.parameters", ""}, // empty object schema left out
		{"tools", "toolConfig.functionCallingConfig.mode", "ANY"},
		{"tools", "toolConfig.functionCallingConfig.allowedFunctionNames", `["get_weather"]`},
		{"tool_choice_required", "toolConfig.functionCallingConfig.mode", "ANY"},
		{"tool_choice_none", "toolConfig.functionCallingConfig.mode", "NONE"},
		{"tool_choice_auto", "toolConfig.functionCallingConfig.mode", "AUTO"},
		{"tool_results", "contents.1.role", "model"},
		{"tool_results", "contents.1.parts.0.functionCall.args.location", "Paris"},
		{"tool_results", "contents.1.parts.0.thoughtSignature", "CiQB0e2Kb8sig+/="},
		{"tool_results", "contents.1.parts.1.thoughtSignature", ""},
		{"tool_results", "contents.1.parts.2.functionCall.args", "{}"},
		{"tool_results", "contents.1.parts.3.functionCall.args.arguments", "not json"},
		{"tool_results", "contents.2.role", "user"},
		{"tool_results", "contents.2.parts.0.functionResponse.name", "get_weather"},
		{"tool_results", "contents.2.parts.0.functionResponse.response.temp_c", "21"},
		{"tool_results", "contents.2.parts.1.functionResponse.response.content", "14 degrees and raining"},
		{"tool_results", "contents.2.parts.2.functionResponse.name", "get_time"},
		{"tool_results", "contents.2.parts.2.functionResponse.response.content", `["12:00"]`},
		{"tool_results", "contents.4.parts.0.functionResponse.name", "legacy_fn"},
		{"vision", "contents.0.parts.1.inlineData.mimeType", "image/png"},
		{"vision", "contents.0.parts.2.fileData.fileUri", "https://example.com/cat.JPG?size=large"},
		{"vision", "contents.0.parts.2.fileData.mimeType", "image/jpeg"},
		{"vision", "contents.0.parts.3.fileData.fileUri", "gs://bucket/object"},
		{"vision", "contents.0.parts.4.inlineData.data", "aGVsbG8gd29ybGQ="},
		{"vision", "contents.0.parts.5.inlineData.mimeType", "audio/mp3"},
		{"vision", "contents.0.parts.6.inlineData.mimeType", "application/pdf"},
		{"json_object", "generationConfig.responseMimeType", "application/json"},
		{"json_schema", "generationConfig.responseMimeType", "application/json"},
		{"json_schema", "generationConfig.responseSchema.properties.pets.items.anyOf.1.properties.kind.type", "string"},
		{"json_schema", "generationConfig.responseSchema.additionalProperties", ""},
		{"json_schema", "generationConfig.responseSchema.strict", ""},
		{"json_schema", "generationConfig.responseSchema.$schema", ""},
		{"thinking", "generationConfig.thinkingConfig.thinkingBudget", "1024"},
		{"thinking", "generationConfig.thinkingConfig.includeThoughts", "true"},
		{"text_response_format", "generationConfig", ""},
		{"text_response_format", "contents.0.parts.#", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.path, func(t *testing.T) {
			body := goldenfile.Read(t, filepath.Join("testdata", "request", tt.fixture+".openai.json"))
			out, err := translateChat(nil, chatCall(body, false, false))
			if err != nil {
				t.Fatal(err)
			}
			got := gjson.GetBytes(out, strings.ReplaceAll(tt.path, "$", `\$`))
			if got.String() != tt.want && got.Raw != tt.want {
				t.Fatalf("%s = %s, want %s\n%s", tt.path, got.Raw, tt.want, out)
			}
		})
	}
}

func TestResponseMappings(t *testing.T) {
	tests := []struct {
		fixture, path, want string
	}{
		{"text", "choices.0.message.content", "Blue is calm."},
		{"text", "choices.0.finish_reason", "stop"},
		{"text", "object", "chat.completion"},
		{"text", "model", "gemini-2.0-flash"},
		{"text", "usage.total_tokens", "18"},
		{"tool_calls", "choices.0.finish_reason", "tool_calls"},
		{"tool_calls", "choices.0.message.tool_calls.#", "3"},
		{"tool_calls", "choices.0.message.tool_calls.0.function.arguments", `{"location":"Paris","options":{"days":1}}`},
		{"tool_calls", "choices.0.message.tool_calls.2.function.arguments", `{}`},
		{"tool_calls", "choices.0.message.tool_calls.0.type", "function"},
		{"max_tokens", "choices.0.finish_reason", "length"},
		{"candidates", "choices.#", "7"},
		{"candidates", "choices.1.index", "1"},
		{"candidates", "choices.1.finish_reason", "content_filter"},
		{"candidates", "choices.2.finish_reason", "content_filter"},
		{"candidates", "choices.3.finish_reason", "content_filter"},
		{"candidates", "choices.4.finish_reason", "content_filter"},
		{"candidates", "choices.5.finish_reason", "content_filter"},
		{"candidates", "choices.6.finish_reason", "stop"},
		{"thinking", "choices.0.message.reasoning_content", "**Considering the question**\nThe user wants a number."},
		{"thinking", "choices.0.message.content", "42"},
		{"thinking", "usage.prompt_tokens", "15"},
		{"thinking", "usage.completion_tokens", "31"},
		{"thinking", "usage.prompt_tokens_details.cached_tokens", "8"},
		{"thinking", "usage.completion_tokens_details.reasoning_tokens", "30"},
		{"blocked_prompt", "choices.0.finish_reason", "content_filter"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.path, func(t *testing.T) {
			resetIDs()
			body := goldenfile.Read(t, filepath.Join("testdata", "response", tt.fixture+".gemini.json"))
			out, _, err := translateResponse(nil, body, "gemini-2.0-flash")
			if err != nil {
				t.Fatal(err)
			}
			if got := gjson.GetBytes(out, tt.path); got.String() != tt.want {
				t.Fatalf("%s = %s, want %s", tt.path, got.Raw, tt.want)
			}
		})
	}
	// Ids are made up per call, and a call's thought signature rides in its
	// id so that it comes back with the next request.
	body := goldenfile.Read(t, filepath.Join("testdata", "response", "tool_calls.gemini.json"))
	out, _, _ := translateResponse(nil, body, "m")
	ids := gjson.GetBytes(out, "choices.0.message.tool_calls.#.id").Array()
	if len(ids) != 3 || ids[0].Str == ids[1].Str || signatureOf(ids[0].Str) != "CiQB0e2Kb8sig+/=" || !strings.HasPrefix(ids[2].Str, "call_") {
		t.Fatalf("ids %v", ids)
	}
}

// Streams: the assertions a client relies on, over the golden fixtures.
func TestStreamMappings(t *testing.T) {
	events := func(t *testing.T, name string, includeUsage bool) ([]gjson.Result, error) {
		resetIDs()
		out, _, err := runStream(t, goldenfile.Read(t, filepath.Join("testdata", "stream", name+".gemini.sse")), includeUsage)
		var evs []gjson.Result
		for _, line := range strings.Split(string(out), "\n") {
			if data, ok := strings.CutPrefix(line, "data: "); ok && data != "[DONE]" {
				evs = append(evs, gjson.Parse(data))
			}
		}
		return evs, err
	}
	evs, err := events(t, "parallel_tools", true)
	if err != nil || len(evs) != 4 {
		t.Fatalf("%v, %d events", err, len(evs))
	}
	if evs[0].Get("choices.0.delta.role").Str != "assistant" || evs[1].Get("choices.0.delta.role").Exists() {
		t.Errorf("role must be in the first chunk only")
	}
	calls := evs[1].Get("choices.0.delta.tool_calls").Array()
	if len(calls) != 2 || calls[0].Get("index").Int() != 0 || calls[1].Get("index").Int() != 1 ||
		calls[1].Get("function.arguments").Str != `{"location":"London","unit":"celsius"}` || calls[0].Get("id").Str == calls[1].Get("id").Str {
		t.Errorf("tool calls %s", evs[1].Get("choices.0.delta.tool_calls").Raw)
	}
	if evs[2].Get("choices.0.finish_reason").Str != "tool_calls" {
		t.Errorf("finish %s", evs[2].Raw)
	}
	if evs[3].Get("choices.#").Int() != 0 || evs[3].Get("usage.completion_tokens").Int() != 20 {
		t.Errorf("usage chunk %s", evs[3].Raw)
	}
	evs, _ = events(t, "text", false)
	for _, e := range evs {
		if e.Get("usage").Exists() {
			t.Errorf("usage chunk without include_usage: %s", e.Raw)
		}
	}
	evs, _ = events(t, "tools_across_frames", true)
	if evs[1].Get("choices.0.delta.tool_calls.0.index").Int() != 1 {
		t.Errorf("second call's index: %s", evs[1].Raw)
	}
	if _, err := events(t, "error_midway", true); err == nil {
		t.Errorf("error frame not reported")
	}
	if _, err := events(t, "cut", true); err != ErrStreamCut {
		t.Errorf("cut stream: %v", err)
	}
}
