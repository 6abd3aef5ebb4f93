package integration

// The anthropic provider end to end: the official OpenAI Go SDK as the
// client, a real Caddy with llm_router, and a fake Anthropic Messages API.

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

const anthropicKey = "sk-ant-upstream-secret"

// anthropicSDK is an OpenAI SDK client for the router, its own retries off
// so the test sees the router's behaviour.
func anthropicSDK() openai.Client {
	return openai.NewClient(
		option.WithBaseURL(base+"/v1/"),
		option.WithAPIKey("sk-client-key"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: &http.Transport{}}),
		option.WithRequestTimeout(30*time.Second),
	)
}

// anthropicConfig routes claude-* to the fake with the router's key, and
// byok-claude to the same fake with the client's key.
func anthropicConfig(up *fakeupstream.Server, extra string) string {
	return router(`
		retries 2
		retry_backoff 1ms 10ms
		target claude {
			provider anthropic
			base_url ` + up.URL + `
			api_key ` + anthropicKey + `
			models claude-*
		}
		target byok {
			provider anthropic
			base_url ` + up.URL + `
			api_version 2024-10-22
			models byok-claude
		}
		` + extra)
}

// anthropicRecord is the fake's last request, checked for the Messages
// API's path and headers.
func anthropicRecord(t *testing.T, up *fakeupstream.Server, key, version string) gjson.Result {
	t.Helper()
	req := up.Last()
	if req == nil {
		t.Fatal("the fake received no request")
	}
	if req.Method != http.MethodPost || req.Path != "/v1/messages" {
		t.Errorf("upstream %s %s", req.Method, req.Path)
	}
	if got := req.Header.Get("x-api-key"); got != key {
		t.Errorf("x-api-key %q, want %q", got, key)
	}
	if got := req.Header.Get("anthropic-version"); got != version {
		t.Errorf("anthropic-version %q, want %q", got, version)
	}
	if got := req.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization sent upstream: %q", got)
	}
	return gjson.ParseBytes(req.Body)
}

func TestAnthropicChat(t *testing.T) {
	up := fakeupstream.NewAnthropic(t, "claude")
	load(t, anthropicConfig(up, ""))
	c := anthropicSDK()
	var raw *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Be brief."),
			openai.UserMessage("Hello?"),
			openai.UserMessage("Anyone there?"),
		},
		Temperature: openai.Float(1.5),
		Seed:        openai.Int(7),
		User:        openai.String("u-1"),
		Stop:        openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END"}},
	}, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || !strings.HasPrefix(resp.Choices[0].Message.Content, "Hello from ") ||
		resp.Choices[0].FinishReason != "stop" || resp.Object != "chat.completion" || resp.Model != "claude-sonnet-4-5" {
		t.Fatalf("response %+v", resp)
	}
	if resp.Usage.PromptTokens != fakeupstream.FakePromptTokens || resp.Usage.CompletionTokens != fakeupstream.FakeCompletionTokens ||
		resp.Usage.TotalTokens != fakeupstream.FakePromptTokens+fakeupstream.FakeCompletionTokens {
		t.Errorf("usage %+v", resp.Usage)
	}
	if raw.Header.Get("X-LLM-Target") != "claude" || raw.Header.Get("X-LLM-Model") != "claude-sonnet-4-5" || raw.Header.Get("X-LLM-Attempts") != "1" {
		t.Errorf("router headers %v", raw.Header)
	}
	body := anthropicRecord(t, up, anthropicKey, "2023-06-01")
	for path, want := range map[string]string{
		"model":          `"claude-sonnet-4-5"`,
		"max_tokens":     `4096`,
		"temperature":    `1`,
		"system":         `[{"type":"text","text":"Be brief."}]`,
		"messages":       `[{"role":"user","content":[{"type":"text","text":"Hello?"},{"type":"text","text":"Anyone there?"}]}]`,
		"stop_sequences": `["END"]`,
		"metadata":       `{"user_id":"u-1"}`,
		"seed":           ``,
		"stream":         ``,
	} {
		if got := body.Get(path).Raw; got != want {
			t.Errorf("upstream %s = %s, want %s", path, got, want)
		}
	}

	// Bring your own key: a target without api_key sends the client's key
	// in x-api-key, with the target's anthropic-version.
	if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "byok-claude",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
	}); err != nil {
		t.Fatal(err)
	}
	anthropicRecord(t, up, "sk-client-key", "2024-10-22")
}

// A stream with tools: text deltas, then two parallel tool calls whose
// argument deltas arrive on their own index; the accumulated message
// round-trips as tool_use and tool_result blocks.
func TestAnthropicStreamWithTools(t *testing.T) {
	up := fakeupstream.NewAnthropic(t, "claude")
	load(t, anthropicConfig(up, ""))
	c := anthropicSDK()
	weather := openai.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer"}},
		"required":   []string{"city"},
	}
	params := openai.ChatCompletionNewParams{
		Model:    "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris, and the time?")},
		Tools: []openai.ChatCompletionToolUnionParam{
			openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_weather", Description: openai.String("Current weather"), Parameters: weather}),
			openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_time"}),
		},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	st := c.Chat.Completions.NewStreaming(context.Background(), params)
	acc := openai.ChatCompletionAccumulator{}
	var chunks []openai.ChatCompletionChunk
	for st.Next() {
		chunk := st.Current()
		chunks = append(chunks, chunk)
		acc.AddChunk(chunk)
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	body := anthropicRecord(t, up, anthropicKey, "2023-06-01")
	if body.Get("stream").Raw != "true" || body.Get("tools.0.name").Str != "get_weather" ||
		body.Get("tools.0.input_schema.properties.city.type").Str != "string" || body.Get("tools.1.input_schema.type").Str != "object" {
		t.Errorf("upstream body %s", body.Raw)
	}

	// The deltas as they came: each call opens with id and name on its own
	// index, then its arguments in pieces on the same index.
	args := map[int64]string{}
	var opened []openai.ChatCompletionChunkChoiceDeltaToolCall
	var content string
	for _, ch := range chunks {
		for _, choice := range ch.Choices {
			content += choice.Delta.Content
			for _, d := range choice.Delta.ToolCalls {
				if d.ID != "" {
					opened = append(opened, d)
				}
				args[d.Index] += d.Function.Arguments
			}
		}
	}
	wantWeather := fakeupstream.FakeToolInput(`{"properties":{"city":{"type":"string"},"days":{"type":"integer"}}}`)
	if len(opened) != 2 || opened[0].Index != 0 || opened[1].Index != 1 ||
		opened[0].ID != "toolu_fake_0" || opened[1].ID != "toolu_fake_1" ||
		opened[0].Function.Name != "get_weather" || opened[1].Function.Name != "get_time" {
		t.Fatalf("tool calls opened %+v", opened)
	}
	if args[0] != wantWeather || args[1] != "{}" {
		t.Fatalf("arguments %v, want %q and {}", args, wantWeather)
	}
	if content != "tok0 tok1 tok2 " {
		t.Errorf("content %q", content)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "tool_calls" || len(acc.Choices[0].Message.ToolCalls) != 2 ||
		acc.Choices[0].Message.ToolCalls[0].Function.Arguments != wantWeather {
		t.Fatalf("accumulated %+v", acc.ChatCompletion)
	}
	last := chunks[len(chunks)-1]
	if len(last.Choices) != 0 || last.Usage.PromptTokens != fakeupstream.FakePromptTokens || last.Usage.CompletionTokens != fakeupstream.FakeCompletionTokens {
		t.Errorf("last chunk %+v", last)
	}

	// Second turn: the calls and both results go back; the fake answers
	// with text once the conversation ends with tool results.
	calls := acc.Choices[0].Message.ToolCalls
	params.Messages = append(params.Messages,
		acc.Choices[0].Message.ToParam(),
		openai.ToolMessage(`{"temp_c": 21}`, calls[0].ID),
		openai.ToolMessage("12:00", calls[1].ID),
	)
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{}
	resp, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Choices[0].Message.Content, "Hello from") || resp.Choices[0].FinishReason != "stop" {
		t.Fatalf("second turn %+v", resp.Choices)
	}
	body = anthropicRecord(t, up, anthropicKey, "2023-06-01")
	for path, want := range map[string]string{
		"messages.#.role":                  `["user","assistant","user"]`,
		"messages.1.content.#.type":        `["text","tool_use","tool_use"]`,
		"messages.1.content.1.id":          `"toolu_fake_0"`,
		"messages.1.content.1.input":       wantWeather,
		"messages.1.content.2.name":        `"get_time"`,
		"messages.2.content.#.type":        `["tool_result","tool_result"]`,
		"messages.2.content.0.tool_use_id": `"toolu_fake_0"`,
		"messages.2.content.0.content":     `"{\"temp_c\": 21}"`,
		"messages.2.content.1.tool_use_id": `"toolu_fake_1"`,
	} {
		if got := body.Get(path).Raw; got != want {
			t.Errorf("upstream %s = %s, want %s", path, got, want)
		}
	}
}

// Text deltas are flushed one by one as the upstream sends them.
func TestAnthropicStreamFlushed(t *testing.T) {
	up := fakeupstream.NewAnthropic(t, "claude")
	load(t, anthropicConfig(up, ""))
	up.Script(fakeupstream.Step{ChunkDelay: 150 * time.Millisecond})
	resp := post(t, "/v1/chat/completions", chat("claude-haiku-4-5", `"stream":true`))
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := readSSE(t, resp)
	if len(events) < 6 || events[len(events)-1].Data != "[DONE]" {
		t.Fatalf("events %v", events)
	}
	if c := contentOf(events); c != "tok0 tok1 tok2 " {
		t.Fatalf("content %q", c)
	}
	var first, third time.Time
	for _, e := range events {
		switch gjson.Get(e.Data, "choices.0.delta.content").Str {
		case "tok0 ":
			first = e.At
		case "tok2 ":
			third = e.At
		}
		if strings.Contains(e.Data, `"usage"`) {
			t.Errorf("usage chunk the client did not ask for: %s", e.Data)
		}
	}
	if gap := third.Sub(first); gap < 250*time.Millisecond {
		t.Errorf("deltas arrived %v apart: not flushed one by one", gap)
	}
}

func TestAnthropicVision(t *testing.T) {
	up := fakeupstream.NewAnthropic(t, "claude")
	load(t, anthropicConfig(up, ""))
	const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=="
	c := anthropicSDK()
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("Compare these."),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + png, Detail: "high"}),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "https://example.com/photo.webp"}),
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	content := anthropicRecord(t, up, anthropicKey, "2023-06-01").Get("messages.0.content")
	for path, want := range map[string]string{
		"0.text":              "Compare these.",
		"1.type":              "image",
		"1.source.type":       "base64",
		"1.source.media_type": "image/png",
		"1.source.data":       png,
		"2.type":              "image",
		"2.source.type":       "url",
		"2.source.url":        "https://example.com/photo.webp",
	} {
		if got := content.Get(path).String(); got != want {
			t.Errorf("content %s = %q, want %q", path, got, want)
		}
	}
}

// Anthropic's 529 overloaded_error is retried on the same target.
func TestAnthropicOverloadedRetried(t *testing.T) {
	up := fakeupstream.NewAnthropic(t, "claude")
	load(t, anthropicConfig(up, ""))
	up.FailTimes(1, 529, "")
	r := do(t, "/v1/chat/completions", chat("claude-sonnet-4-5"))
	expectStatus(t, r, 200)
	if up.Count() != 2 || r.Header.Get("X-LLM-Attempts") != "2" || !strings.HasPrefix(r.json("choices.0.message.content").Str, "Hello from") {
		t.Fatalf("upstream requests %d, headers %v, body %s", up.Count(), r.Header, r.Body)
	}
}

// An in-stream error event after the first bytes ends the client's stream
// with an error event keeping Anthropic's type, no [DONE]; the SDK reports
// it as a stream error.
func TestAnthropicStreamErrorMidway(t *testing.T) {
	up := fakeupstream.NewAnthropic(t, "claude")
	load(t, anthropicConfig(up, ""))
	up.Script(fakeupstream.Step{ErrorAfter: 2})
	events := readSSE(t, post(t, "/v1/chat/completions", chat("claude-sonnet-4-5", `"stream":true`)))
	if len(events) == 0 {
		t.Fatal("no events")
	}
	lastEv := events[len(events)-1].Data
	if contentOf(events) != "tok0 tok1 " || gjson.Get(lastEv, "error.type").Str != "overloaded_error" ||
		gjson.Get(lastEv, "error.code").Str != "overloaded_error" || gjson.Get(lastEv, "error.message").Str != "Overloaded" {
		t.Fatalf("events %v", events)
	}
	for _, e := range events {
		if e.Data == "[DONE]" {
			t.Fatal("[DONE] after a failure")
		}
	}

	up.Script(fakeupstream.Step{ErrorAfter: 2})
	sdk := anthropicSDK()
	st := sdk.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
	})
	var content string
	for st.Next() {
		if ch := st.Current(); len(ch.Choices) > 0 {
			content += ch.Choices[0].Delta.Content
		}
	}
	if err := st.Err(); err == nil || !strings.Contains(err.Error(), "overloaded_error") || content != "tok0 tok1 " {
		t.Fatalf("stream error %v, content %q", err, content)
	}
}

// Upstream errors reach the client in the OpenAI shape with the same
// status, Anthropic's type and message kept (a 5xx after every retry as
// 502 naming the target).
func TestAnthropicErrorsMapped(t *testing.T) {
	cases := []struct {
		status     int
		wantStatus int
		typ, code  string
		attempts   int
		retryAfter string
	}{
		{400, 400, "invalid_request_error", "invalid_request_error", 1, ""},
		{401, 401, "authentication_error", "authentication_error", 1, ""},
		{404, 404, "not_found_error", "not_found_error", 1, ""},
		{429, 429, "rate_limit_error", "rate_limit_error", 1, "7"},
		{529, 502, "upstream_error", "upstream_error", 3, ""},
	}
	for _, tc := range cases {
		up := fakeupstream.NewAnthropic(t, "claude")
		load(t, anthropicConfig(up, ""))
		up.Always(fakeupstream.Step{Status: tc.status, RetryAfter: tc.retryAfter})
		r := do(t, "/v1/chat/completions", chat("claude-sonnet-4-5"))
		expectError(t, r, tc.wantStatus, tc.code)
		if got := r.json("error.type").Str; got != tc.typ {
			t.Errorf("%d: type %q, want %q", tc.status, got, tc.typ)
		}
		if msg := r.json("error.message").Str; !strings.Contains(msg, "fake failure from") {
			t.Errorf("%d: message %q lost the upstream's", tc.status, msg)
		}
		if up.Count() != tc.attempts || r.Header.Get("X-LLM-Attempts") != strconv.Itoa(tc.attempts) {
			t.Errorf("%d: %d upstream requests, X-LLM-Attempts %q, want %d", tc.status, up.Count(), r.Header.Get("X-LLM-Attempts"), tc.attempts)
		}
		if got := r.Header.Get("Retry-After"); got != tc.retryAfter {
			t.Errorf("%d: Retry-After %q, want %q", tc.status, got, tc.retryAfter)
		}
		if strings.Contains(string(r.Body), anthropicKey) {
			t.Errorf("%d: key leaked: %s", tc.status, r.Body)
		}
	}

	// The SDK sees the same status and type.
	up := fakeupstream.NewAnthropic(t, "claude")
	load(t, anthropicConfig(up, ""))
	up.Always(fakeupstream.Step{Status: 400})
	sdk := anthropicSDK()
	_, err := sdk.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type != "invalid_request_error" || apiErr.Code != "invalid_request_error" {
		t.Fatalf("SDK error %v", err)
	}
}

// What the Messages API cannot serve goes to a candidate that can, or gets
// 400 unsupported naming the target and the parameter.
func TestAnthropicUnsupported(t *testing.T) {
	up := fakeupstream.NewAnthropic(t, "claude")
	oa := fakeupstream.NewOpenAI(t, "oa")
	load(t, anthropicConfig(up, `
		target oa {
			base_url `+oa.BaseURL()+`
			models other
		}
		model both {
			strategy fallback
			to claude claude-sonnet-4-5
			to oa gpt-4o
		}`))
	for _, tc := range []struct{ path, body, param string }{
		{"/v1/embeddings", `{"model":"claude-sonnet-4-5","input":"x"}`, "/v1/embeddings"},
		{"/v1/completions", `{"model":"claude-sonnet-4-5","prompt":"x"}`, "/v1/completions"},
		{"/v1/chat/completions", chat("claude-sonnet-4-5", `"n":2`), "n"},
		{"/v1/chat/completions", chat("claude-sonnet-4-5", `"logprobs":true`), "logprobs"},
	} {
		r := do(t, tc.path, tc.body)
		expectError(t, r, 400, "unsupported")
		if msg := r.json("error.message").Str; !strings.Contains(msg, `"claude"`) || !strings.Contains(msg, tc.param) {
			t.Errorf("%s: message %q", tc.param, msg)
		}
	}
	if up.Count() != 0 {
		t.Fatalf("%d requests reached the fake", up.Count())
	}
	// Within an alias, another candidate serves what Anthropic cannot.
	r := do(t, "/v1/chat/completions", chat("both", `"n":2`))
	expectStatus(t, r, 200)
	if r.Header.Get("X-LLM-Target") != "oa" || up.Count() != 0 || oa.Count() != 1 {
		t.Fatalf("served by %q; anthropic %d, openai %d requests", r.Header.Get("X-LLM-Target"), up.Count(), oa.Count())
	}
	r = do(t, "/v1/chat/completions", chat("both"))
	if r.Header.Get("X-LLM-Target") != "claude" || up.Count() != 1 {
		t.Fatalf("plain chat served by %q", r.Header.Get("X-LLM-Target"))
	}
}

// response_format json_schema is served through a forced tool; the client
// gets the JSON as the message content.
func TestAnthropicResponseFormat(t *testing.T) {
	up := fakeupstream.NewAnthropic(t, "claude")
	load(t, anthropicConfig(up, ""))
	sdk := anthropicSDK()
	resp, err := sdk.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("A person.")},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &openai.ResponseFormatJSONSchemaParam{
			JSONSchema: openai.ResponseFormatJSONSchemaJSONSchemaParam{
				Name:   "person",
				Schema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}},
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != `{"name":"name-value"}` || resp.Choices[0].FinishReason != "stop" || len(resp.Choices[0].Message.ToolCalls) != 0 {
		t.Fatalf("choice %+v", resp.Choices[0])
	}
	body := anthropicRecord(t, up, anthropicKey, "2023-06-01")
	if body.Get("tool_choice").Raw != `{"type":"tool","name":"person"}` || body.Get("tools.0.name").Str != "person" {
		t.Errorf("upstream body %s", body.Raw)
	}
}

// A failing Anthropic target falls back to a Gemini target inside one
// model alias; streams too, before their first byte.
func TestAnthropicFallbackToGemini(t *testing.T) {
	up := fakeupstream.NewAnthropic(t, "claude")
	gem := fakeupstream.NewGemini(t, "gem")
	up.Always(fakeupstream.Step{Status: 529})
	load(t, anthropicConfig(up, `
		target gem {
			provider gemini
			base_url `+gem.URL+`
			api_key AIza-fallback-key
			models gemini-*
		}
		model smart {
			strategy fallback
			to claude claude-sonnet-4-5
			to gem gemini-2.0-flash
		}`))
	r := do(t, "/v1/chat/completions", chat("smart"))
	expectStatus(t, r, 200)
	if r.Header.Get("X-LLM-Target") != "gem" || r.Header.Get("X-LLM-Attempts") != "4" || up.Count() != 3 ||
		!strings.HasPrefix(r.json("choices.0.message.content").Str, "Hello from") {
		t.Fatalf("headers %v, anthropic requests %d, body %s", r.Header, up.Count(), r.Body)
	}
	events := readSSE(t, post(t, "/v1/chat/completions", chat("smart", `"stream":true`)))
	if len(events) == 0 || contentOf(events) != "tok0 tok1 tok2 " || events[len(events)-1].Data != "[DONE]" {
		t.Fatalf("stream %v", events)
	}
	if gem.Count() != 2 {
		t.Fatalf("gemini requests %d, want 2", gem.Count())
	}
}

// Behind `encode gzip`, translated events still reach the client as they
// are flushed: the first deltas arrive while the upstream holds the rest.
func TestAnthropicStreamThroughGzip(t *testing.T) {
	up := fakeupstream.NewAnthropic(t, "claude")
	load(t, "encode gzip\n"+anthropicConfig(up, ""))
	up.Script(fakeupstream.Step{HangAfter: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions",
		strings.NewReader(chat("claude-sonnet-4-5", `"stream":true`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	var content string
	for content != "tok0 tok1 " && sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			content += gjson.Get(data, "choices.0.delta.content").Str
		}
	}
	if content != "tok0 tok1 " {
		t.Fatalf("content %q before the upstream paused (%v)", content, sc.Err())
	}
}
