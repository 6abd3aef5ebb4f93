package gemini

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		path   string
		ok     bool
		op     llm.Op
		model  string
		stream bool
	}{
		{"/v1beta/models/gemini-2.5-flash:generateContent", true, llm.OpGenerateContent, "gemini-2.5-flash", false},
		{"/v1beta/models/gemini-2.5-flash:streamGenerateContent", true, llm.OpGenerateContent, "gemini-2.5-flash", true},
		{"/v1/models/gemini-2.5-flash:countTokens", true, llm.OpGeminiCountTokens, "gemini-2.5-flash", false},
		{"/v1beta/models/text-embedding-004:embedContent", true, llm.OpEmbedContent, "text-embedding-004", false},
		{"/v1beta/models/text-embedding-004:batchEmbedContents", true, llm.OpBatchEmbedContents, "text-embedding-004", false},
		{"/models/m:generateContent", true, llm.OpGenerateContent, "m", false},
		{"/v1beta/models/oa/gpt-4o:generateContent", true, llm.OpGenerateContent, "oa/gpt-4o", false},
		{"/v1beta/models/llama3:8b:generateContent", true, llm.OpGenerateContent, "llama3:8b", false},
		{"/v1beta/models/models/m:generateContent", true, llm.OpGenerateContent, "models/m", false},
		{"/v1beta/models/m:predict", false, 0, "", false},
		{"/v1beta/models/m", false, 0, "", false},
		{"/v1beta/models", false, 0, "", false},
		{"/v1/chat/completions", false, 0, "", false},
		{"/v1beta/tunedModels/m:generateContent", false, 0, "", false},
	}
	for _, tt := range tests {
		rt, ok := API{}.Match(tt.path)
		if ok != tt.ok || rt.Op != tt.op || rt.Model != tt.model || rt.Stream != tt.stream {
			t.Errorf("%s: got %+v %v", tt.path, rt, ok)
		}
	}
}

func TestMatchModels(t *testing.T) {
	tests := []struct {
		path, id string
		ok       bool
	}{
		{"/v1beta/models", "", true},
		{"/v1beta/models/", "", true},
		{"/v1beta/models/gemini-2.5-flash", "gemini-2.5-flash", true},
		{"/v1beta/models/models/gemini-2.5-flash", "gemini-2.5-flash", true},
		{"/v1beta/models/oa/gpt-4o", "oa/gpt-4o", true},
		{"/v1beta/models/m:generateContent", "", false},
		{"/v1beta/modelsx", "", false},
		{"/v1/models", "", false},
		{"/v1/models/m", "", false},
	}
	for _, tt := range tests {
		id, ok := API{}.MatchModels(tt.path)
		if id != tt.id || ok != tt.ok {
			t.Errorf("%s: got %q %v", tt.path, id, ok)
		}
	}
}

func TestModelList(t *testing.T) {
	b := API{}.AppendModels(nil, []apis.Model{{ID: "fast", OwnedBy: "llm_router"}, {ID: "oa/gpt-4o", OwnedBy: "oa"}})
	doc := gjson.ParseBytes(b)
	if !gjson.ValidBytes(b) || doc.Get("models.#").Int() != 2 || doc.Get("nextPageToken").Exists() {
		t.Fatalf("list %s", b)
	}
	m := doc.Get("models.1")
	if m.Get("name").Str != "models/oa/gpt-4o" || m.Get("displayName").Str != "oa/gpt-4o" ||
		m.Get("supportedGenerationMethods.0").Str != "generateContent" {
		t.Fatalf("entry %s", m.Raw)
	}
	if one := (API{}).AppendModel(nil, apis.Model{ID: "x"}); gjson.GetBytes(one, "name").Str != "models/x" {
		t.Fatalf("one %s", one)
	}
}

func parse(t *testing.T, path, body string, header ...string) (*apis.Request, *llm.Error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	rt, ok := API{}.Match(r.URL.Path)
	if !ok {
		t.Fatalf("%s not matched", path)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return API{}.Parse(r, []byte(body), rt)
}

func TestParse(t *testing.T) {
	req, e := parse(t, "/v1beta/models/models/gem-1:streamGenerateContent?alt=sse",
		`{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":77}}`, "x-goog-api-key", " AIza-client ")
	if e != nil {
		t.Fatal(e)
	}
	if req.Model != "gem-1" || !req.Stream || req.Op != llm.OpGenerateContent || req.HubOp != llm.OpChat ||
		req.MaxTokens != 77 || !req.IncludeUsage || req.ClientKey != "AIza-client" {
		t.Fatalf("got %+v", req)
	}
	req, e = parse(t, "/v1beta/models/gem-1:generateContent?key=AIza-query&alt=json",
		`{"contents":[],"generation_config":{"max_output_tokens":5}}`)
	if e != nil || req.ClientKey != "AIza-query" || req.MaxTokens != 5 || req.Stream {
		t.Fatalf("got %+v %v", req, e)
	}
	for _, tt := range []struct{ path, body string }{
		{"/v1beta/models/gem-1:countTokens", `{"generateContentRequest":{"model":"models/gem-1","contents":[]}}`},
		{"/v1beta/models/e:embedContent", `{"content":{"parts":[{"text":"x"}]}}`},
		{"/v1beta/models/e:batchEmbedContents", `{"requests":[]}`},
	} {
		if req, e := parse(t, tt.path, tt.body); e != nil || req.Stream {
			t.Errorf("%s: %v", tt.path, e)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tt := range []struct{ path, body, param string }{
		{"/v1beta/models/m:generateContent", `{}`, "contents"},
		{"/v1beta/models/m:generateContent", `{"contents":{"parts":[]}}`, "contents"},
		{"/v1beta/models/m:countTokens", `{"generateContentRequest":"x"}`, "contents"},
		{"/v1beta/models/m:embedContent", `{"content":"text"}`, "content"},
		{"/v1beta/models/m:batchEmbedContents", `{"requests":{}}`, "requests"},
		{"/v1beta/models/:generateContent", `{"contents":[]}`, "model"},
		{"/v1beta/models/" + strings.Repeat("m", 300) + ":generateContent", `{"contents":[]}`, "model"},
		{"/v1beta/models/a%01b:generateContent", `{"contents":[]}`, "model"},
	} {
		_, e := parse(t, tt.path, tt.body)
		if e == nil || e.Status != 400 || e.Param != tt.param {
			t.Errorf("%s %s: got %+v, want a 400 on %s", tt.path, tt.body, e, tt.param)
		}
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		e      llm.Error
		status string
	}{
		{llm.Error{Status: 400, Code: "invalid_request", Message: "bad"}, "INVALID_ARGUMENT"},
		{llm.Error{Status: 401, Code: "invalid_api_key"}, "UNAUTHENTICATED"},
		{llm.Error{Status: 403, Code: "model_not_allowed"}, "PERMISSION_DENIED"},
		{llm.Error{Status: 404, Code: "model_not_found", Param: "model"}, "NOT_FOUND"},
		{llm.Error{Status: 405}, "INVALID_ARGUMENT"},
		{llm.Error{Status: 408}, "DEADLINE_EXCEEDED"},
		{llm.Error{Status: 413}, "INVALID_ARGUMENT"},
		{llm.Error{Status: 429, Code: "budget_exceeded", RetryAfter: 1500 * time.Millisecond}, "RESOURCE_EXHAUSTED"},
		{llm.Error{Status: 500}, "INTERNAL"},
		{llm.Error{Status: 502, Code: "upstream_error"}, "UNAVAILABLE"},
		{llm.Error{Status: 503, Code: "store_unavailable"}, "UNAVAILABLE"},
		{llm.Error{Status: 504, Code: "upstream_timeout"}, "DEADLINE_EXCEEDED"},
		{llm.Error{Status: 529, Code: "overloaded error!"}, "INTERNAL"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Length", "3")
		API{}.WriteError(rec, &tt.e)
		b := rec.Body.Bytes()
		e := gjson.GetBytes(b, "error")
		if rec.Code != tt.e.Status || !gjson.ValidBytes(b) || e.Get("code").Int() != int64(tt.e.Status) ||
			e.Get("status").Str != tt.status || e.Get("message").Str != tt.e.Message {
			t.Errorf("%d: %d %s", tt.e.Status, rec.Code, b)
		}
		if rec.Header().Get("Content-Type") != "application/json; charset=UTF-8" || rec.Header().Get("Content-Length") != "" {
			t.Errorf("%d: headers %v", tt.e.Status, rec.Header())
		}
		reason := e.Get(`details.#(@type=="type.googleapis.com/google.rpc.ErrorInfo").reason`).Str
		if want := strings.ToUpper(tt.e.Code); !strings.Contains(tt.e.Code, " ") && reason != want {
			t.Errorf("%d: reason %q, want %q", tt.e.Status, reason, want)
		}
		if tt.e.RetryAfter > 0 {
			if rec.Header().Get("Retry-After") != "2" || e.Get(`details.#(@type=="type.googleapis.com/google.rpc.RetryInfo").retryDelay`).Str != "2s" {
				t.Errorf("retry: %v %s", rec.Header(), b)
			}
		}
	}
	// Google's own body passes unchanged; another format's does not.
	google := `{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}}`
	rec := httptest.NewRecorder()
	API{}.WriteError(rec, &llm.Error{Status: 400, Message: "x", Body: []byte(google), Format: llm.FormatGemini})
	if rec.Body.String() != google {
		t.Fatalf("gemini body changed: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	API{}.WriteError(rec, &llm.Error{Status: 400, Message: "x", Body: []byte(`{"error":{"message":"openai"}}`), Format: llm.FormatOpenAI})
	if gjson.Get(rec.Body.String(), "error.status").Str != "INVALID_ARGUMENT" {
		t.Fatalf("openai body passed: %s", rec.Body)
	}
}

func TestToHubRefuses(t *testing.T) {
	for _, tt := range []struct{ body, code, param string }{
		{`{"contents":[],"cachedContent":"cachedContents/abc"}`, "unsupported", "cachedContent"},
		{`{"contents":[],"tools":[{"googleSearch":{}}]}`, "unsupported", "tools[0].googleSearch"},
		{`{"contents":[],"tools":[{"functionDeclarations":[{"name":"f"}]},{"codeExecution":{}}]}`, "unsupported", "tools[1].codeExecution"},
		{`{"contents":[],"generationConfig":{"responseModalities":["TEXT","IMAGE"]}}`, "unsupported", "generationConfig.responseModalities"},
		{`{"contents":[],"generationConfig":{"responseLogprobs":true}}`, "unsupported", "generationConfig.responseLogprobs"},
		{`{"contents":[],"generationConfig":{"responseMimeType":"text/x.enum"}}`, "unsupported", "generationConfig.responseMimeType"},
		{`{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"audio/ogg","data":"AA=="}}]}]}`, "unsupported", "contents[0].parts[0].inlineData"},
		{`{"contents":[{"role":"user","parts":[{"fileData":{"mimeType":"application/pdf","fileUri":"gs://b/f"}}]}]}`, "unsupported", "contents[0].parts[0].fileData"},
		{`{"contents":[{"role":"model","parts":[{"executableCode":{"code":"1"}}]}]}`, "unsupported", "contents[0].parts[0]"},
		{`{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":{}}}]}]}`, "invalid_request", "contents[0].parts[0].functionResponse"},
		{`{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f"}}]},{"role":"user","parts":[{"functionResponse":{"name":"g","response":{}}}]}]}`, "invalid_request", "contents[1].parts[0].functionResponse"},
		{`{"contents":[{"role":"system","parts":[{"text":"x"}]}]}`, "invalid_request", "contents[0].role"},
		{`{"contents":[{"role":"user","parts":[{"functionCall":{"name":"f"}}]}]}`, "invalid_request", "contents[0].parts[0]"},
		{`{"contents":"x"}`, "invalid_request", "contents"},
	} {
		_, e := API{}.ToHub(chatRequest([]byte(tt.body), false))
		if e == nil || e.Status != 400 || e.Code != tt.code || e.Param != tt.param {
			t.Errorf("%s: got %+v, want %s on %s", tt.body, e, tt.code, tt.param)
		}
	}
	for _, tt := range []struct {
		op         llm.Op
		body, code string
	}{
		{llm.OpEmbedContent, `{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}}`, "unsupported"},
		{llm.OpBatchEmbedContents, `{"requests":[{"content":{"parts":[{"text":"a"}]},"outputDimensionality":8},{"content":{"parts":[{"text":"b"}]}}]}`, "unsupported"},
		{llm.OpBatchEmbedContents, `{"requests":[]}`, "invalid_request"},
		{llm.OpGeminiCountTokens, `{"contents":[]}`, "unsupported"},
	} {
		_, e := API{}.ToHub(&apis.Request{API: API{}, Op: tt.op, Body: []byte(tt.body), Model: "m"})
		if e == nil || e.Status != 400 || e.Code != tt.code {
			t.Errorf("%s: got %+v, want %s", tt.body, e, tt.code)
		}
	}
}

func TestCountTokensEstimate(t *testing.T) {
	body := `{"contents":[{"role":"user","parts":[{"text":"` + strings.Repeat("a", 40) + `"},{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]},` +
		`{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]}]}`
	// 40 bytes of text and the 39 bytes of the call part, rounded up, and
	// one image.
	want := int64((40+39+3)/4 + 258)
	req := &apis.Request{API: API{}, Op: llm.OpGeminiCountTokens, Body: []byte(body)}
	rec := httptest.NewRecorder()
	if !(API{}).Answer(rec, req) {
		t.Fatal("not answered")
	}
	if rec.Code != 200 || gjson.Get(rec.Body.String(), "totalTokens").Int() != want {
		t.Fatalf("%d %s, want %d", rec.Code, rec.Body, want)
	}
	wrapped := `{"generateContentRequest":{"model":"models/m","contents":[{"parts":[{"text":"abcd"}]}],"systemInstruction":{"parts":[{"text":"abcd"}]}}}`
	if n := estimateTokens([]byte(wrapped)); n != 2 {
		t.Fatalf("wrapped: %d", n)
	}
	if (API{}).Answer(httptest.NewRecorder(), &apis.Request{Op: llm.OpGenerateContent}) {
		t.Fatal("answered generateContent")
	}
}

// The prompt estimate limits and budgets use counts an image as an image,
// not as its base64.
func TestParseEstimatesPrompt(t *testing.T) {
	image := strings.Repeat("QUJD", 50_000)
	body := `{"systemInstruction":{"parts":[{"text":"abcd"}]},"tools":[{"functionDeclarations":[]}],` +
		`"contents":[{"parts":[{"text":"abcdabcd"},{"inlineData":{"mimeType":"image/png","data":"` + image + `"}}]}]}`
	req, e := parse(t, "/v1beta/models/m:generateContent", body)
	if e != nil {
		t.Fatal(e)
	}
	// 4 + 8 bytes of text and the 29 bytes of the tools, rounded up, and
	// one image.
	if want := int64((4+8+29+3)/4 + 258); req.EstimatedPromptTokens != want || req.PromptTokens() != want {
		t.Fatalf("estimate %d, want %d", req.EstimatedPromptTokens, want)
	}
	req, _ = parse(t, "/v1beta/models/m:batchEmbedContents", `{"requests":[{"content":{"parts":[{"text":"abcdefgh"}]}},{"content":{"parts":[{"text":"abcd"}]}}]}`)
	if req.EstimatedPromptTokens != 3 {
		t.Fatalf("batch estimate %d", req.EstimatedPromptTokens)
	}
}

// Nothing reaches the client before there is something to say: a role-only
// chunk, flushed, leaves the request retryable.
func TestEncoderCommitsLate(t *testing.T) {
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	enc := newEncoder(w, chatRequest(nil, true))
	enc.Header().Set("Content-Type", "text/event-stream")
	enc.WriteHeader(200)
	_, _ = enc.Write([]byte(`data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"))
	if err := enc.Flush(); err != nil || w.Committed() || enc.Committed() {
		t.Fatalf("committed after a role chunk: %v", err)
	}
	_, _ = enc.Write([]byte(`data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}` + "\n\n"))
	if !w.Committed() || rec.Code != 200 || !strings.Contains(rec.Body.String(), `"text":"hi"`) {
		t.Fatalf("not written: %d %q", rec.Code, rec.Body)
	}
}

// A streamed request that the provider answered with one JSON answer gets
// it as one event; a JSON answer that cannot be read fails the attempt
// before anything is committed.
func TestEncoderJSONForStream(t *testing.T) {
	body := goldenfile.Read(t, "testdata/answer/text.hub.json")
	rec, err := encode(t, chatRequest(nil, true), "application/json", body, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := rec.Body.String()
	if rec.Header().Get("Content-Type") != stream.ContentType || rec.Header().Get("Content-Length") != "" ||
		!strings.HasPrefix(out, "data: {") || !strings.HasSuffix(out, "}\r\n\r\n") || strings.Count(out, "data: ") != 1 ||
		gjson.Get(strings.TrimPrefix(out, "data: "), "candidates.0.finishReason").Str != "STOP" {
		t.Fatalf("%v %q", rec.Header(), out)
	}
	rec = httptest.NewRecorder()
	w := stream.NewWriter(rec)
	enc := newEncoder(w, chatRequest(nil, false))
	_, _ = enc.Write([]byte(`{"choices":`))
	e, ok := enc.Finish().(*llm.Error)
	if !ok || e.Kind != llm.KindInvalid || w.Committed() {
		t.Fatalf("got %v, committed %v", e, w.Committed())
	}
	if err := newEncoder(stream.NewWriter(httptest.NewRecorder()), chatRequest(nil, false)).Finish(); err == nil {
		t.Fatal("an empty answer finished")
	}
}

// Without a Content-Type the first byte tells a JSON answer from events.
func TestEncoderSniffs(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{` {"id":"a","model":"m","choices":[{"index":0,"message":{"content":"x"},"finish_reason":"stop"}]}`, `"text":"x"`},
		{"data: {\"id\":\"a\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"y\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", `"text":"y"`},
	} {
		rec := httptest.NewRecorder()
		enc := newEncoder(stream.NewWriter(rec), chatRequest(nil, true))
		_, _ = enc.Write([]byte(tt.body))
		if err := enc.Finish(); err != nil || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%q: %v %q", tt.body, err, rec.Body)
		}
	}
}

// Tool-call arguments are held until complete, within the bound of any
// answer.
func TestEncoderBoundsArguments(t *testing.T) {
	enc := newEncoder(stream.NewWriter(httptest.NewRecorder()), chatRequest(nil, true))
	enc.Header().Set("Content-Type", stream.ContentType)
	_, _ = enc.Write([]byte(`data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{"}}]}}]}` + "\n\n"))
	enc.st.argBytes = llm.DefaultMaxResponseBody
	_, err := enc.Write([]byte(`data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"a\""}}]}}]}` + "\n\n"))
	if err != llm.ErrTooLarge {
		t.Fatalf("got %v", err)
	}
}
