package integration

// The Gemini inbound API through targets of other wire formats: requests
// translated to the hub, answers and streams back to Gemini's shapes
// (SPEC 10, different wire format), countTokens estimated, the models
// list in Gemini's shape.

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// geminiEvents splits a Gemini event stream into its data payloads,
// failing on any other framing.
func geminiEvents(t *testing.T, body []byte) []gjson.Result {
	t.Helper()
	s := string(body)
	if !strings.HasSuffix(s, "\r\n\r\n") {
		t.Fatalf("stream does not end with CRLF CRLF: %q", s)
	}
	var out []gjson.Result
	for _, ev := range strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n\r\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || !gjson.Valid(data) || strings.Contains(data, "[DONE]") {
			t.Fatalf("not a Gemini event: %q", ev)
		}
		out = append(out, gjson.Parse(data))
	}
	return out
}

// textOf joins the non-thought text parts of Gemini events.
func textOf(events []gjson.Result) string {
	var b strings.Builder
	for _, e := range events {
		e.Get("candidates.0.content.parts").ForEach(func(_, p gjson.Result) bool {
			if !p.Get("thought").Bool() {
				b.WriteString(p.Get("text").Str)
			}
			return true
		})
	}
	return b.String()
}

const gapiChat = `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Why is the sky blue?"}]}],` +
	`"generationConfig":{"maxOutputTokens":64,"temperature":0.3,"stopSequences":["END"]},"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}]}`

// Through an OpenAI target: the hub body reaches it, and the answer comes
// back as a GenerateContentResponse with usageMetadata.
func TestGeminiAPITranslateOpenAI(t *testing.T) {
	gem, oa := fakeupstream.NewGemini(t, "gem"), fakeupstream.NewOpenAI(t, "oa")
	load(t, gapiConfig(gem, oa, nil, ""))
	r := geminiPost(t, "/v1beta/models/gpt-4o-mini:generateContent", gapiChat)
	expectStatus(t, r, 200)
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	want := `{"candidates":[{"content":{"parts":[{"text":"Hello from fake ` + strings.TrimPrefix(oa.URL, "http://") +
		`"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":12,"totalTokenCount":21},"modelVersion":"gpt-4o-mini","responseId":"chatcmpl-fake"}`
	if string(r.Body) != want {
		t.Fatalf("answer\n got %s\nwant %s", r.Body, want)
	}
	hub := gjson.ParseBytes(oa.Last().Body)
	if oa.Last().Path != "/v1/chat/completions" || hub.Get("model").Str != "gpt-4o-mini" ||
		hub.Get("messages.0.role").Str != "system" || hub.Get("messages.1.content").Str != "Why is the sky blue?" ||
		hub.Get("max_completion_tokens").Int() != 64 || hub.Get("stop.0").Str != "END" || hub.Get("safetySettings").Exists() ||
		oa.Last().Header.Get("Authorization") != "Bearer sk-oa-secret" {
		t.Fatalf("hub request %s %s", oa.Last().Path, oa.Last().Body)
	}
	if gem.Count() != 0 {
		t.Fatal("the gemini target was asked")
	}
}

// A translated stream: Gemini's events, flushed as the hub's come (the
// first text event reaches the client while the upstream waits), the last
// with finishReason and usageMetadata, no [DONE].
func TestGeminiAPITranslateStream(t *testing.T) {
	oa := fakeupstream.NewOpenAI(t, "oa")
	load(t, gapiConfig(fakeupstream.NewGemini(t, "gem"), oa, nil, ""))
	gate := make(chan struct{})
	oa.Script(fakeupstream.Step{Gate: gate})
	resp := open(t, context.Background(), http.MethodPost, "/v1beta/models/gpt-4o-mini:streamGenerateContent?alt=sse", gapiChat,
		"x-goog-api-key", "AIza-client-key")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	rd := bufio.NewReader(resp.Body)
	first, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(first, fakeupstream.StreamPiece(0)) {
		t.Fatalf("first event %q %v", first, err)
	}
	close(gate)
	var rest strings.Builder
	rest.WriteString(first)
	for {
		line, err := rd.ReadString('\n')
		rest.WriteString(line)
		if err != nil {
			break
		}
	}
	events := geminiEvents(t, []byte(rest.String()))
	last := events[len(events)-1]
	if textOf(events) != fakeupstream.StreamPiece(0)+fakeupstream.StreamPiece(1)+fakeupstream.StreamPiece(2) ||
		last.Get("candidates.0.finishReason").Str != "STOP" || last.Get("usageMetadata.totalTokenCount").Int() != 21 {
		t.Fatalf("events %s", rest.String())
	}
	for _, e := range events[:len(events)-1] {
		if e.Get("candidates.0.finishReason").Exists() || e.Get("usageMetadata").Exists() {
			t.Fatalf("finish or usage before the end: %s", e.Raw)
		}
	}
	if hub := gjson.ParseBytes(oa.Last().Body); !hub.Get("stream").Bool() || !hub.Get("stream_options.include_usage").Bool() {
		t.Fatalf("hub request %s", oa.Last().Body)
	}
}

// A translated stream that fails midway ends with Google's error object.
func TestGeminiAPITranslateStreamErrorMidway(t *testing.T) {
	oa := fakeupstream.NewOpenAI(t, "oa")
	load(t, gapiConfig(fakeupstream.NewGemini(t, "gem"), oa, nil, ""))
	oa.Script(fakeupstream.Step{ErrorAfter: 2})
	r := geminiPost(t, "/v1beta/models/gpt-4o-mini:streamGenerateContent?alt=sse", gapiChat)
	expectStatus(t, r, 200)
	events := geminiEvents(t, r.Body)
	last := events[len(events)-1]
	if textOf(events) != fakeupstream.StreamPiece(0)+fakeupstream.StreamPiece(1) || last.Get("error.code").Int() < 500 ||
		last.Get("error.message").Str != "fake in-stream failure" || last.Get("error.status").Str == "" {
		t.Fatalf("events %s", r.Body)
	}
	if strings.Count(string(r.Body), `"error"`) != 1 {
		t.Fatalf("more than one error event: %s", r.Body)
	}
}

// Through an Anthropic target, streamed and not, with tools: calls come
// back as functionCall parts with their ids and object arguments.
func TestGeminiAPITranslateAnthropic(t *testing.T) {
	ant := fakeupstream.NewAnthropic(t, "ant")
	load(t, gapiConfig(fakeupstream.NewGemini(t, "gem"), nil, ant, ""))
	body := `{"contents":[{"role":"user","parts":[{"text":"Weather in Paris?"}]}],"tools":[{"functionDeclarations":[{"name":"get_weather",` +
		`"parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}},"required":["city"]}}]}],"generationConfig":{"maxOutputTokens":100}}`
	r := geminiPost(t, "/v1beta/models/claude-sonnet-4-5:generateContent", body)
	expectStatus(t, r, 200)
	fc := r.json("candidates.0.content.parts.#(functionCall).functionCall")
	if fc.Get("name").Str != "get_weather" || !fc.Get("args").IsObject() || fc.Get("id").Str == "" ||
		r.json("candidates.0.finishReason").Str != "STOP" || !r.json("usageMetadata.promptTokenCount").Exists() {
		t.Fatalf("answer %s", r.Body)
	}
	sent := gjson.ParseBytes(ant.Last().Body)
	if sent.Get("max_tokens").Int() != 100 || sent.Get("tools.0.input_schema.properties.city.type").Str != "string" {
		t.Fatalf("anthropic request %s", ant.Last().Body)
	}

	r = geminiPost(t, "/v1beta/models/claude-sonnet-4-5:streamGenerateContent?alt=sse", body)
	expectStatus(t, r, 200)
	events := geminiEvents(t, r.Body)
	var calls []gjson.Result
	for _, e := range events {
		e.Get("candidates.0.content.parts").ForEach(func(_, p gjson.Result) bool {
			if p.Get("functionCall").Exists() {
				calls = append(calls, p.Get("functionCall"))
			}
			return true
		})
	}
	last := events[len(events)-1]
	if len(calls) != 1 || calls[0].Get("name").Str != "get_weather" || !calls[0].Get("args").IsObject() ||
		last.Get("candidates.0.finishReason").Str != "STOP" || !last.Get("usageMetadata.candidatesTokenCount").Exists() {
		t.Fatalf("stream %s", r.Body)
	}
}

// Embeddings through an OpenAI target, both methods.
func TestGeminiAPITranslateEmbeddings(t *testing.T) {
	oa := fakeupstream.NewOpenAI(t, "oa")
	load(t, gapiConfig(fakeupstream.NewGemini(t, "gem"), oa, nil, ""))
	r := geminiPost(t, "/v1beta/models/text-embedding-3-small:embedContent", `{"content":{"parts":[{"text":"hello"}]},"outputDimensionality":3}`)
	expectStatus(t, r, 200)
	if string(r.Body) != `{"embedding":{"values":[0.0023064255,-0.009327292,0.5]}}` {
		t.Fatalf("%s", r.Body)
	}
	if hub := gjson.ParseBytes(oa.Last().Body); oa.Last().Path != "/v1/embeddings" || hub.Get("input").Str != "hello" || hub.Get("dimensions").Int() != 3 {
		t.Fatalf("hub %s", oa.Last().Body)
	}
	r = geminiPost(t, "/v1beta/models/text-embedding-3-small:batchEmbedContents",
		`{"requests":[{"model":"models/text-embedding-3-small","content":{"parts":[{"text":"a"}]}},{"model":"models/text-embedding-3-small","content":{"parts":[{"text":"b"}]}}]}`)
	expectStatus(t, r, 200)
	if r.json("embeddings.#").Int() != 2 || r.json("embeddings.1.values.2").Float() != 1.5 {
		t.Fatalf("%s", r.Body)
	}
}

// countTokens with no gemini target is estimated by the router, in
// Gemini's shape; nothing goes upstream.
func TestGeminiAPICountTokensEstimate(t *testing.T) {
	oa := fakeupstream.NewOpenAI(t, "oa")
	load(t, gapiConfig(fakeupstream.NewGemini(t, "gem"), oa, nil, ""))
	r := geminiPost(t, "/v1beta/models/gpt-4o-mini:countTokens", `{"contents":[{"role":"user","parts":[{"text":"`+strings.Repeat("word ", 20)+`"}]}]}`)
	expectStatus(t, r, 200)
	if r.json("totalTokens").Int() != 25 || oa.Count() != 0 {
		t.Fatalf("%s, %d upstream requests", r.Body, oa.Count())
	}
}

// What only Gemini can do is refused, in Google's shape, when no gemini
// target serves the model.
func TestGeminiAPIUnsupported(t *testing.T) {
	oa := fakeupstream.NewOpenAI(t, "oa")
	load(t, gapiConfig(fakeupstream.NewGemini(t, "gem"), oa, nil, ""))
	r := geminiPost(t, "/v1beta/models/gpt-4o-mini:generateContent", `{"contents":[{"parts":[{"text":"news?"}]}],"tools":[{"googleSearch":{}}]}`)
	e := expectGeminiError(t, r, 400, "INVALID_ARGUMENT")
	if e.Get("details.0.reason").Str != "UNSUPPORTED" || !strings.Contains(e.Get("message").Str, "googleSearch") || oa.Count() != 0 {
		t.Fatalf("%s", r.Body)
	}
}

// GET /v1beta/models lists what the router serves in Gemini's shape;
// /v1/models keeps the union shape.
func TestGeminiAPIModels(t *testing.T) {
	load(t, gapiConfig(fakeupstream.NewGemini(t, "gem"), fakeupstream.NewOpenAI(t, "oa"), nil, ""))
	r := get(t, "/v1beta/models")
	expectStatus(t, r, 200)
	names := r.json("models.#.name").Array()
	if len(names) < 3 || names[0].Str != "models/fast" || names[1].Str != "models/embed" ||
		r.json("models.0.supportedGenerationMethods").String() == "" || r.json("nextPageToken").Exists() {
		t.Fatalf("%s", r.Body)
	}
	r = get(t, "/v1beta/models/gpt-4o-mini")
	expectStatus(t, r, 200)
	if r.json("name").Str != "models/gpt-4o-mini" || !strings.Contains(r.json("description").Str, "oa") {
		t.Fatalf("%s", r.Body)
	}
	expectGeminiError(t, get(t, "/v1beta/models/unknown-model"), 404, "NOT_FOUND")
	r = get(t, "/v1/models")
	expectStatus(t, r, 200)
	if r.json("object").Str != "list" || r.json("data.0.id").Str != "fast" {
		t.Fatalf("%s", r.Body)
	}
}

// An attempt that failed before anything reached the client leaves no
// trace in the next one: here the first target's stream ends after its
// role chunk, and the second answers a whole JSON answer.
func TestGeminiAPITranslateRetryStartsClean(t *testing.T) {
	oa1, oa2 := fakeupstream.NewOpenAI(t, "oa1"), fakeupstream.NewOpenAI(t, "oa2")
	load(t, router(`
		retries 0
		target oa1 {
			base_url `+oa1.BaseURL()+`
		}
		target oa2 {
			base_url `+oa2.BaseURL()+`
		}
		model both {
			strategy fallback
			to oa1 gpt-a
			to oa2 gpt-b
		}`))
	oa1.Script(fakeupstream.Step{SSE: []string{
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-a","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n",
	}})
	oa2.Script(fakeupstream.Step{Body: `{"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"gpt-b","choices":[{"index":0,"message":{"role":"assistant","content":"second"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`})
	r := geminiPost(t, "/v1beta/models/both:streamGenerateContent?alt=sse", gapiChat)
	expectStatus(t, r, 200)
	events := geminiEvents(t, r.Body)
	if len(events) == 0 || textOf(events) != "second" || events[0].Get("modelVersion").Str != "gpt-b" ||
		events[len(events)-1].Get("candidates.0.finishReason").Str != "STOP" ||
		r.Header.Get("X-Llm-Attempts") != "2" {
		t.Fatalf("%v %s", r.Header, r.Body)
	}
}
