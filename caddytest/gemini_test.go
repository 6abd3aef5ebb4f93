package integration

// The `gemini` provider end to end: a real Caddy, the official OpenAI Go
// SDK as the client, and a fake Gemini API that checks what it receives the
// way Google's does (key header, unknown fields, schema keywords, thought
// signatures).

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

const geminiKey = "AIza-gemini-upstream-secret"

// geminiSDK is an OpenAI SDK client for the router, its own retries off.
func geminiSDK(opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(base + "/v1/"),
		option.WithAPIKey("sk-client-key"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{}),
		option.WithRequestTimeout(30 * time.Second),
	}, opts...)...)
}

// geminiConfig routes gemini-* to the fake with the router's key, and
// byok/<model> to the same fake with the client's key (and path version
// v1).
func geminiConfig(up *fakeupstream.Server, extra string) string {
	return router(`
		retries 0
		target gem {
			provider gemini
			base_url ` + up.URL + `
			api_key ` + geminiKey + `
			models gemini-* text-embedding-*
		}
		target byok {
			provider gemini
			base_url ` + up.URL + `
			api_version v1
			models byok-only
		}
		` + extra)
}

// geminiRecord is the last request the fake received, with its checks.
func geminiRecord(t *testing.T, up *fakeupstream.Server, path, key string) *fakeupstream.Request {
	t.Helper()
	req := up.Last()
	if req == nil {
		t.Fatal("the fake received nothing")
	}
	if req.Path != path {
		t.Errorf("upstream path %q, want %q", req.Path, path)
	}
	if got := req.Header.Get("X-Goog-Api-Key"); got != key {
		t.Errorf("x-goog-api-key %q, want %q", got, key)
	}
	if strings.Contains(req.Query, "key") || req.Header.Get("Authorization") != "" {
		t.Errorf("key sent elsewhere: query %q, Authorization %q", req.Query, req.Header.Get("Authorization"))
	}
	return req
}

func TestGeminiChat(t *testing.T) {
	up := fakeupstream.NewGemini(t, "gem")
	load(t, geminiConfig(up, ""))
	c := geminiSDK()
	var raw *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.0-flash",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("be brief"),
			openai.UserMessage("Hello?"),
			openai.AssistantMessage("Hi."),
			openai.UserMessage("Again?"),
		},
		Temperature:         openai.Float(0.5),
		MaxCompletionTokens: openai.Int(64),
		Stop:                openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END"}},
		Seed:                openai.Int(7),
		User:                openai.String("end-user-1"),
	}, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != "Hello from fake "+strings.TrimPrefix(up.URL, "http://") ||
		resp.Choices[0].FinishReason != "stop" || resp.Model != "gemini-2.0-flash" || resp.Object != "chat.completion" {
		t.Fatalf("response %+v", resp)
	}
	if resp.Usage.PromptTokens != fakeupstream.FakePromptTokens || resp.Usage.CompletionTokens != fakeupstream.FakeCompletionTokens ||
		resp.Usage.TotalTokens != fakeupstream.FakePromptTokens+fakeupstream.FakeCompletionTokens {
		t.Errorf("usage %+v", resp.Usage)
	}
	if raw.Header.Get("X-LLM-Target") != "gem" || raw.Header.Get("X-LLM-Model") != "gemini-2.0-flash" {
		t.Errorf("router headers %v", raw.Header)
	}
	req := geminiRecord(t, up, "/v1beta/models/gemini-2.0-flash:generateContent", geminiKey)
	body := gjson.ParseBytes(req.Body)
	for path, want := range map[string]string{
		"systemInstruction.parts.0.text":   "be brief",
		"contents.#":                       "3",
		"contents.1.role":                  "model",
		"contents.2.parts.0.text":          "Again?",
		"generationConfig.temperature":     "0.5",
		"generationConfig.maxOutputTokens": "64",
		"generationConfig.stopSequences.0": "END",
		"generationConfig.seed":            "7",
	} {
		if got := body.Get(path).String(); got != want {
			t.Errorf("upstream %s = %q, want %q", path, got, want)
		}
	}

	// Bring your own key: a target without api_key gets the client's key in
	// x-goog-api-key, and its api_version in the path.
	if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "byok/gemini-1.5-pro",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	geminiRecord(t, up, "/v1/models/gemini-1.5-pro:generateContent", "sk-client-key")
}

// A stream with tools: the fake answers with two parallel functionCall
// parts; the client sees tool-call deltas with their indexes and whole
// arguments, finish_reason tool_calls, the usage chunk and [DONE]. The
// second turn sends the calls (with their thought signature, which the
// fake insists on) and the results back.
func TestGeminiStreamWithTools(t *testing.T) {
	up := fakeupstream.NewGemini(t, "gem")
	load(t, geminiConfig(up, ""))
	c := geminiSDK()
	params := openai.ChatCompletionNewParams{
		Model:    "gemini-2.5-flash",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris, and the time?")},
		Tools: []openai.ChatCompletionToolUnionParam{
			openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
				Name:        "get_weather",
				Description: openai.String("Current weather"),
				Strict:      openai.Bool(true),
				Parameters: openai.FunctionParameters{
					"type": "object",
					"properties": map[string]any{
						"location": map[string]any{"type": "string"},
						"days":     map[string]any{"type": "integer"},
					},
					"required":             []string{"location", "days"},
					"additionalProperties": false,
				},
			}),
			openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
				Name:       "get_time",
				Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{}},
			}),
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
	req := geminiRecord(t, up, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", geminiKey)
	if req.Query != "alt=sse" {
		t.Errorf("query %q, want alt=sse", req.Query)
	}
	var deltas []openai.ChatCompletionChunkChoiceDeltaToolCall
	for _, ch := range chunks {
		for _, choice := range ch.Choices {
			deltas = append(deltas, choice.Delta.ToolCalls...)
		}
	}
	if len(deltas) != 2 || deltas[0].Index != 0 || deltas[1].Index != 1 ||
		deltas[0].Function.Name != "get_weather" || deltas[1].Function.Name != "get_time" ||
		deltas[0].Function.Arguments != `{"days":1,"location":"fake"}` || deltas[1].Function.Arguments != `{}` ||
		!strings.HasPrefix(deltas[0].ID, "call_") || deltas[0].ID == deltas[1].ID {
		t.Fatalf("tool call deltas %+v", deltas)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "tool_calls" || len(acc.Choices[0].Message.ToolCalls) != 2 {
		t.Fatalf("accumulated %+v", acc.ChatCompletion)
	}
	last := chunks[len(chunks)-1]
	if len(last.Choices) != 0 || last.Usage.PromptTokens != fakeupstream.FakePromptTokens || last.Usage.CompletionTokens != fakeupstream.FakeCompletionTokens {
		t.Errorf("last chunk %+v", last)
	}

	// Second turn: the assistant's calls and the two results go back.
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
	body := gjson.ParseBytes(up.Last().Body)
	for path, want := range map[string]string{
		"contents.1.role":                                "model",
		"contents.1.parts.0.functionCall.name":           "get_weather",
		"contents.1.parts.0.functionCall.args.location":  "fake",
		"contents.1.parts.0.thoughtSignature":            fakeupstream.GeminiSignature,
		"contents.1.parts.1.functionCall.name":           "get_time",
		"contents.2.role":                                "user",
		"contents.2.parts.0.functionResponse.name":       "get_weather",
		"contents.2.parts.0.functionResponse.response":   `{"temp_c":21}`,
		"contents.2.parts.1.functionResponse.name":       "get_time",
		"contents.2.parts.1.functionResponse.response":   `{"content":"12:00"}`,
		"tools.0.functionDeclarations.0.parameters.type": "object",
	} {
		if got := body.Get(path); got.String() != want && got.Raw != want {
			t.Errorf("upstream %s = %s, want %s", path, got.Raw, want)
		}
	}
}

// A text stream is translated chunk by chunk, each flushed as it arrives,
// and ends with [DONE] although Gemini sends none.
func TestGeminiStreamText(t *testing.T) {
	up := fakeupstream.NewGemini(t, "gem")
	load(t, geminiConfig(up, ""))
	up.Script(fakeupstream.Step{ChunkDelay: 150 * time.Millisecond})
	resp := post(t, "/v1/chat/completions", chat("gemini-2.0-flash", `"stream":true`))
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := readSSE(t, resp)
	if len(events) < 5 || events[len(events)-1].Data != "[DONE]" {
		t.Fatalf("events %v", events)
	}
	if c := contentOf(events); c != "tok0 tok1 tok2 " {
		t.Fatalf("content %q", c)
	}
	if gjson.Get(events[0].Data, "choices.0.delta.role").Str != "assistant" ||
		gjson.Get(events[len(events)-2].Data, "choices.0.finish_reason").Str != "stop" {
		t.Errorf("first %s, last %s", events[0].Data, events[len(events)-2].Data)
	}
	for _, e := range events {
		if strings.Contains(e.Data, `"usage"`) {
			t.Errorf("usage chunk the client did not ask for: %s", e.Data)
		}
	}
	// Flushed as they came: the first and the third piece arrived apart.
	if gap := events[2].At.Sub(events[0].At); gap < 200*time.Millisecond {
		t.Errorf("events arrived together (%v apart): not flushed one by one", gap)
	}
}

// Gemini's in-stream error frame after the first bytes ends the client's
// stream with an error event keeping Gemini's status as type and code, and
// no [DONE].
func TestGeminiStreamErrorMidway(t *testing.T) {
	up := fakeupstream.NewGemini(t, "gem")
	load(t, geminiConfig(up, ""))
	up.Script(fakeupstream.Step{ErrorAfter: 2})
	events := readSSE(t, post(t, "/v1/chat/completions", chat("gemini-2.0-flash", `"stream":true`)))
	if len(events) == 0 {
		t.Fatal("no events")
	}
	lastEv := events[len(events)-1].Data
	if contentOf(events) != "tok0 tok1 " || gjson.Get(lastEv, "error.code").Str != "INTERNAL" ||
		gjson.Get(lastEv, "error.type").Str != "INTERNAL" || gjson.Get(lastEv, "error.message").Str != "fake in-stream failure" {
		t.Fatalf("events %v", events)
	}
	for _, e := range events {
		if e.Data == "[DONE]" {
			t.Fatal("[DONE] after a failure")
		}
	}

	// A connection Gemini drops midway ends the same way, as upstream_error.
	up.Script(fakeupstream.Step{DropAfter: 1})
	events = readSSE(t, post(t, "/v1/chat/completions", chat("gemini-2.0-flash", `"stream":true`)))
	lastEv = events[len(events)-1].Data
	if contentOf(events) != "tok0 " || gjson.Get(lastEv, "error.code").Str != "upstream_error" {
		t.Fatalf("events %v", events)
	}
}

func TestGeminiVision(t *testing.T) {
	up := fakeupstream.NewGemini(t, "gem")
	load(t, geminiConfig(up, ""))
	const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=="
	c := geminiSDK()
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.0-flash",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("Compare these."),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + png, Detail: "high"}),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "https://example.com/photo.webp"}),
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	parts := gjson.GetBytes(up.Last().Body, "contents.0.parts")
	for path, want := range map[string]string{
		"0.text":                "Compare these.",
		"1.inlineData.mimeType": "image/png",
		"1.inlineData.data":     png,
		"2.fileData.fileUri":    "https://example.com/photo.webp",
		"2.fileData.mimeType":   "image/webp",
	} {
		if got := parts.Get(path).String(); got != want {
			t.Errorf("part %s = %q, want %q", path, got, want)
		}
	}
}

func TestGeminiEmbeddings(t *testing.T) {
	up := fakeupstream.NewGemini(t, "gem")
	load(t, geminiConfig(up, ""))
	c := geminiSDK()
	resp, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model:      "text-embedding-004",
		Input:      openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha", "beta gamma"}},
		Dimensions: openai.Int(5),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 2 || len(resp.Data[0].Embedding) != 5 || resp.Data[1].Index != 1 ||
		resp.Data[1].Embedding[2] != 1.5 || resp.Model != "text-embedding-004" || resp.Usage.PromptTokens <= 0 {
		t.Fatalf("embeddings %+v", resp)
	}
	req := geminiRecord(t, up, "/v1beta/models/text-embedding-004:batchEmbedContents", geminiKey)
	body := gjson.ParseBytes(req.Body)
	if body.Get("requests.#").Int() != 2 || body.Get("requests.1.content.parts.0.text").Str != "beta gamma" ||
		body.Get("requests.0.outputDimensionality").Int() != 5 || body.Get("requests.0.model").Str != "models/text-embedding-004" {
		t.Errorf("upstream body %s", req.Body)
	}

	// base64, as the Python SDK asks by default.
	resp, err = c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model:          "text-embedding-004",
		Input:          openai.EmbeddingNewParamsInputUnion{OfString: openai.String("alpha")},
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatBase64,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 1 || len(resp.Data[0].Embedding) != 3 || float32(resp.Data[0].Embedding[1]) != float32(-0.009327292) {
		t.Fatalf("base64 embeddings %+v", resp.Data)
	}
}

// Gemini's 429 RESOURCE_EXHAUSTED reaches the client with the same status,
// its message, Gemini's status as type and code, and Retry-After from the
// RetryInfo detail.
func TestGeminiRateLimited(t *testing.T) {
	up := fakeupstream.NewGemini(t, "gem")
	load(t, geminiConfig(up, ""))
	up.Script(fakeupstream.Step{Status: 429, Body: `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}`})
	c := geminiSDK()
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gemini-2.0-flash",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v", err)
	}
	if apiErr.StatusCode != 429 || apiErr.Code != "RESOURCE_EXHAUSTED" || apiErr.Type != "RESOURCE_EXHAUSTED" ||
		apiErr.Message != "You exceeded your current quota, please check your plan and billing details." {
		t.Fatalf("error %d %q %q %q", apiErr.StatusCode, apiErr.Code, apiErr.Type, apiErr.Message)
	}
	if got := apiErr.Response.Header.Get("Retry-After"); got != "7" {
		t.Errorf("Retry-After %q", got)
	}
	if up.Count() != 1 {
		t.Errorf("%d upstream requests", up.Count())
	}

	// Without a key anywhere Gemini refuses the caller; the 403 comes back.
	r := do(t, "/v1/chat/completions", chat("byok/gemini-2.0-flash"))
	expectStatus(t, r, 403)
	if r.json("error.code").Str != "PERMISSION_DENIED" || strings.Contains(string(r.Body), geminiKey) {
		t.Fatalf("body %s", r.Body)
	}
}

// What Gemini cannot serve is refused naming the target and the parameter,
// or served by another candidate that can.
func TestGeminiUnsupported(t *testing.T) {
	up := fakeupstream.NewGemini(t, "gem")
	oa := fakeupstream.NewOpenAI(t, "oa")
	load(t, geminiConfig(up, `
		target oa {
			base_url `+oa.BaseURL()+`
			models other
		}
		model mixed {
			strategy fallback
			to gem gemini-2.0-flash
			to oa gpt-4o
		}`))
	r := do(t, "/v1/completions", `{"model":"gemini-2.0-flash","prompt":"x"}`)
	expectError(t, r, 400, "unsupported")
	if !strings.Contains(r.json("error.message").Str, `"gem"`) || up.Count() != 0 {
		t.Fatalf("body %s, %d upstream requests", r.Body, up.Count())
	}
	r = do(t, "/v1/chat/completions", chat("mixed", `"logprobs":true`))
	expectStatus(t, r, 200)
	if r.Header.Get("X-LLM-Target") != "oa" || up.Count() != 0 {
		t.Fatalf("served by %q, gemini requests %d", r.Header.Get("X-LLM-Target"), up.Count())
	}
}

// A failing candidate falls back to the Gemini member of the alias.
func TestGeminiFallback(t *testing.T) {
	up := fakeupstream.NewGemini(t, "gem")
	oa := fakeupstream.NewOpenAI(t, "oa")
	oa.Always(fakeupstream.Step{Status: 503})
	load(t, geminiConfig(up, `
		target oa {
			base_url `+oa.BaseURL()+`
			models other
		}
		model smart {
			strategy fallback
			to oa gpt-4o
			to gem gemini-2.0-flash
		}`))
	r := do(t, "/v1/chat/completions", chat("smart"))
	expectStatus(t, r, 200)
	if r.Header.Get("X-LLM-Target") != "gem" || r.Header.Get("X-LLM-Attempts") != "2" ||
		!strings.HasPrefix(r.json("choices.0.message.content").Str, "Hello from") {
		t.Fatalf("headers %v body %s", r.Header, r.Body)
	}
}
