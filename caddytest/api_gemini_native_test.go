package integration

// The Gemini inbound API through a `gemini` target: requests and answers
// pass byte for byte (SPEC 10, same wire format), the model in the path,
// the key in x-goog-api-key.

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

const gapiKey = "AIza-router-upstream-secret"

// gapiConfig has a gemini target (with the router's key), a bring-your-own-
// key gemini target, an openai and an anthropic target, and aliases.
func gapiConfig(gem, oa, ant *fakeupstream.Server, extra string) string {
	cfg := `
		retries 0
		target gem {
			provider gemini
			base_url ` + gem.URL + `
			api_key ` + gapiKey + `
			models gemini-* text-embedding-004
		}
		target byok {
			provider gemini
			base_url ` + gem.URL + `
			models byok-*
		}
		model fast {
			to gem gemini-2.5-flash
		}
		model embed {
			to gem text-embedding-004
		}
`
	if oa != nil {
		cfg += `
		target oa {
			base_url ` + oa.BaseURL() + `
			api_key sk-oa-secret
			models gpt-* text-embedding-3-small
		}
`
	}
	if ant != nil {
		cfg += `
		target ant {
			provider anthropic
			base_url ` + ant.URL + `
			api_key sk-ant-secret
			models claude-*
		}
`
	}
	return router(cfg + extra)
}

// geminiPost posts a Gemini request with the client's key header.
func geminiPost(t *testing.T, path, body string, headers ...string) result {
	t.Helper()
	return send(t, context.Background(), http.MethodPost, path, body, append([]string{"x-goog-api-key", "AIza-client-key"}, headers...)...)
}

// expectGeminiError checks Google's error shape and its status name.
func expectGeminiError(t *testing.T, r result, status int, name string) gjson.Result {
	t.Helper()
	expectStatus(t, r, status)
	e := r.json("error")
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || e.Get("code").Int() != int64(status) ||
		e.Get("status").Str != name || e.Get("message").Str == "" {
		t.Fatalf("not Google's error shape with %d %s: %s", status, name, r.Body)
	}
	return e
}

// An odd but valid request — spacing, escapes, number formats, fields the
// router does not know, thought signatures — reaches Gemini byte for byte
// with the upstream model in the path and the router's key; Gemini's
// answer comes back byte for byte.
func TestGeminiAPINativeBodyFidelity(t *testing.T) {
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, gapiConfig(gem, nil, nil, ""))
	body := "{ \"contents\" :[{\"role\":\"user\",\"parts\":[{\"text\":\"h\\u00e9 \\\"there\\\"\"},{\"videoMetadata\":{\"fps\":1}}]},\n" +
		" {\"role\":\"model\",\"parts\":[{\"text\":\"x\",\"thoughtSignature\":\"c2lnbmF0dXJl\"}]},{\"role\":\"user\",\"parts\":[{\"text\":\"more\"}]}],\n" +
		"\t\"safetySettings\":[{\"category\":\"HARM_CATEGORY_HATE_SPEECH\",\"threshold\":\"BLOCK_NONE\"}], \"cachedContent\": \"cachedContents/abc\",\n" +
		" \"generationConfig\":{\"mediaResolution\":\"MEDIA_RESOLUTION_LOW\",\"maxOutputTokens\":1e2,\"temperature\":0.50} }"
	answer := "{\n  \"candidates\": [\n    {\n      \"content\": {\"parts\": [{\"text\": \"Bonjour\", \"thoughtSignature\": \"b3V0\"}], \"role\": \"model\"},\n" +
		"      \"finishReason\": \"STOP\", \"avgLogprobs\": -0.25, \"futureField\": {\"a\": [1, 2]}\n    }\n  ],\n" +
		"  \"usageMetadata\": {\"promptTokenCount\": 11, \"candidatesTokenCount\": 3, \"totalTokenCount\": 14, \"cachedContentTokenCount\": 8},\n" +
		"  \"modelVersion\": \"gemini-2.5-flash\",\n  \"responseId\": \"abc\"\n}\n"
	gem.Script(fakeupstream.Step{Body: answer})
	r := geminiPost(t, "/v1beta/models/fast:generateContent", body)
	expectStatus(t, r, 200)
	if string(r.Body) != answer {
		t.Fatalf("answer changed:\n%s", r.Body)
	}
	if r.Header.Get("X-Llm-Target") != "gem" || r.Header.Get("X-Llm-Model") != "gemini-2.5-flash" || r.Header.Get("X-Llm-Attempts") != "1" {
		t.Fatalf("route headers %v", r.Header)
	}
	req := geminiUpstream(t, gem, "/v1beta/models/gemini-2.5-flash:generateContent", gapiKey)
	if string(req.Body) != body {
		t.Fatalf("body changed:\n%s", req.Body)
	}
}

// geminiUpstream is the fake's last request, checked for its path and key
// (in the header, never in the URL).
func geminiUpstream(t *testing.T, up *fakeupstream.Server, path, key string) *fakeupstream.Request {
	t.Helper()
	req := up.Last()
	if req == nil {
		t.Fatal("the fake received nothing")
	}
	if req.Path != path || req.Header.Get("X-Goog-Api-Key") != key || strings.Contains(req.Query, "key=") ||
		req.Header.Get("Authorization") != "" {
		t.Fatalf("upstream %s?%s key %q", req.Path, req.Query, req.Header.Get("X-Goog-Api-Key"))
	}
	return req
}

// A stream passes through byte for byte, flushed event by event: the
// client holds the first event while the upstream waits to send the next.
func TestGeminiAPINativeStream(t *testing.T) {
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, gapiConfig(gem, nil, nil, ""))
	gate := make(chan struct{})
	pieces := []string{
		": keep-alive\r\n\r\n" + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Thinking\", \"thought\": true}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 7,\"totalTokenCount\": 7},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n",
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel",
		"lo\", \"thoughtSignature\": \"c2ln\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 7,\"candidatesTokenCount\": 2,\"totalTokenCount\": 13, \"thoughtsTokenCount\": 4},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n",
	}
	gem.Script(fakeupstream.Step{SSE: pieces, Gate: gate})
	resp := open(t, context.Background(), http.MethodPost, "/v1beta/models/fast:streamGenerateContent?alt=sse",
		`{"contents":[{"parts":[{"text":"hi"}]}]}`, "x-goog-api-key", "AIza-client-key")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	rd := bufio.NewReader(resp.Body)
	var got strings.Builder
	// The first event arrives before the gate lets the upstream send more.
	for !strings.Contains(got.String(), `"Thinking"`) || !strings.HasSuffix(got.String(), "\r\n\r\n") {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", got.String(), err)
		}
		got.WriteString(line)
	}
	close(gate)
	rest, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	if all := got.String() + string(rest); all != strings.Join(pieces, "") {
		t.Fatalf("stream changed:\n%q", all)
	}
	req := geminiUpstream(t, gem, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", gapiKey)
	if req.Query != "alt=sse" {
		t.Fatalf("query %q", req.Query)
	}
}

// A failure inside the stream reaches the client as Gemini sent it, once,
// and ends the stream.
func TestGeminiAPINativeStreamErrorMidway(t *testing.T) {
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, gapiConfig(gem, nil, nil, ""))
	gem.Script(fakeupstream.Step{ErrorAfter: 2})
	r := geminiPost(t, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	expectStatus(t, r, 200)
	events := strings.Split(strings.TrimSuffix(string(r.Body), "\r\n\r\n"), "\r\n\r\n")
	if len(events) != 3 || !strings.Contains(events[0], fakeupstream.StreamPiece(0)) ||
		events[2] != "data: "+fakeupstream.GeminiError(500, "fake in-stream failure") {
		t.Fatalf("events %q", events)
	}
}

// countTokens, embedContent and batchEmbedContents pass through; an
// embedding request naming the alias in its body is sent with the upstream
// model Gemini requires there.
func TestGeminiAPINativeCountAndEmbed(t *testing.T) {
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, gapiConfig(gem, nil, nil, ""))
	r := geminiPost(t, "/v1beta/models/fast:countTokens", `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	expectStatus(t, r, 200)
	if r.json("totalTokens").Int() != fakeupstream.GeminiCountTokens {
		t.Fatalf("count %s", r.Body)
	}
	geminiUpstream(t, gem, "/v1beta/models/gemini-2.5-flash:countTokens", gapiKey)

	r = geminiPost(t, "/v1beta/models/embed:embedContent", `{"model": "models/embed", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 4}`)
	expectStatus(t, r, 200)
	if r.json("embedding.values.#").Int() != 4 {
		t.Fatalf("embedding %s", r.Body)
	}
	req := geminiUpstream(t, gem, "/v1beta/models/text-embedding-004:embedContent", gapiKey)
	if string(req.Body) != `{"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 4}` {
		t.Fatalf("body %s", req.Body)
	}

	batch := `{"requests": [{"model": "models/embed", "content": {"parts": [{"text": "a"}]}}, {"model": "models/embed", "content": {"parts": [{"text": "b"}]}, "taskType": "RETRIEVAL_QUERY"}]}`
	r = geminiPost(t, "/v1/models/embed:batchEmbedContents", batch)
	expectStatus(t, r, 200)
	if r.json("embeddings.#").Int() != 2 || r.json("embeddings.1.values.2").Float() != 1.5 {
		t.Fatalf("embeddings %s", r.Body)
	}
	req = geminiUpstream(t, gem, "/v1beta/models/text-embedding-004:batchEmbedContents", gapiKey)
	if string(req.Body) != strings.ReplaceAll(batch, "models/embed", "models/text-embedding-004") {
		t.Fatalf("body %s", req.Body)
	}
}

// Bring your own key: the client's key (here from ?key=) goes upstream in
// x-goog-api-key, never in the URL.
func TestGeminiAPINativeClientKey(t *testing.T) {
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, gapiConfig(gem, nil, nil, ""))
	r := send(t, context.Background(), http.MethodPost, "/v1beta/models/byok-1:generateContent?key=AIza-from-query",
		`{"contents":[{"parts":[{"text":"hi"}]}]}`)
	expectStatus(t, r, 200)
	geminiUpstream(t, gem, "/v1beta/models/byok-1:generateContent", "AIza-from-query")
	r = geminiPost(t, "/v1beta/models/byok-1:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	expectStatus(t, r, 200)
	geminiUpstream(t, gem, "/v1beta/models/byok-1:generateContent", "AIza-client-key")
}

// Gemini's own errors reach Gemini clients unchanged (a 4xx with its
// Retry-After); the router's own answers are in Google's shape.
func TestGeminiAPINativeErrors(t *testing.T) {
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, gapiConfig(gem, nil, nil, ""))

	// Unknown fields reach Gemini, which refuses them in its words.
	r := geminiPost(t, "/v1beta/models/fast:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}],"notAField":1}`)
	e := expectGeminiError(t, r, 400, "INVALID_ARGUMENT")
	if !strings.Contains(e.Get("message").Str, `Unknown name "notAField"`) || !strings.Contains(string(gem.Last().Body), `"notAField":1`) {
		t.Fatalf("%s", r.Body)
	}

	gem.Script(fakeupstream.Step{Status: 429, RetryAfter: "2"})
	r = geminiPost(t, "/v1beta/models/fast:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	e = expectGeminiError(t, r, 429, "RESOURCE_EXHAUSTED")
	if r.Header.Get("Retry-After") != "2" || e.Get("details.0.retryDelay").Str != "2s" || !strings.Contains(e.Get("message").Str, "fake failure") {
		t.Fatalf("429: %v %s", r.Header, r.Body)
	}

	gem.Script(fakeupstream.Step{Status: 500})
	r = geminiPost(t, "/v1beta/models/fast:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	e = expectGeminiError(t, r, 502, "UNAVAILABLE")
	if !strings.Contains(e.Get("message").Str, `target "gem"`) || strings.Contains(string(r.Body), gapiKey) {
		t.Fatalf("502: %s", r.Body)
	}

	r = geminiPost(t, "/v1beta/models/nothing-serves-this:generateContent", `{"contents":[]}`)
	expectGeminiError(t, r, 404, "NOT_FOUND")
	r = geminiPost(t, "/v1beta/models/fast:generateContent", `{"contents":[`)
	expectGeminiError(t, r, 400, "INVALID_ARGUMENT")
	r = geminiPost(t, "/v1beta/models/fast:generateContent", `{"generationConfig":{}}`)
	if e := expectGeminiError(t, r, 400, "INVALID_ARGUMENT"); !strings.Contains(e.Get("message").Str, "contents") {
		t.Fatalf("%s", r.Body)
	}
	r = send(t, context.Background(), http.MethodGet, "/v1beta/models/fast:generateContent", "")
	expectGeminiError(t, r, 405, "INVALID_ARGUMENT")
}

// A gemini target that fails is replaced by an OpenAI one: the same Gemini
// request, now translated, and Gemini's answer shape.
func TestGeminiAPIFallbackToTranslation(t *testing.T) {
	gem := fakeupstream.NewGemini(t, "gem")
	oa := fakeupstream.NewOpenAI(t, "oa")
	load(t, gapiConfig(gem, oa, nil, `
		model both {
			strategy fallback
			to gem gemini-2.5-flash
			to oa gpt-4o-mini
		}`))
	gem.Script(fakeupstream.Step{Status: 503})
	r := geminiPost(t, "/v1beta/models/both:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	expectStatus(t, r, 200)
	if r.json("candidates.0.content.parts.0.text").Str == "" || r.json("modelVersion").Str != "gpt-4o-mini" ||
		r.Header.Get("X-Llm-Target") != "oa" || r.Header.Get("X-Llm-Attempts") != "2" {
		t.Fatalf("%v %s", r.Header, r.Body)
	}
	if gem.Count() != 1 || oa.Count() != 1 {
		t.Fatalf("attempts: gem %d oa %d", gem.Count(), oa.Count())
	}
}

// A client that goes away cancels its upstream stream at once.
func TestGeminiAPINativeClientCancel(t *testing.T) {
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, gapiConfig(gem, nil, nil, ""))
	gem.Script(fakeupstream.Step{HangAfter: 1})
	ctx, cancel := context.WithCancel(context.Background())
	resp := open(t, ctx, http.MethodPost, "/v1beta/models/fast:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"hi"}]}]}`,
		"x-goog-api-key", "k")
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("%q %v", line, err)
	}
	cancel()
	select {
	case <-gem.Last().Gone:
	case <-time.After(within):
		t.Fatal("the upstream request was not cancelled")
	}
}
