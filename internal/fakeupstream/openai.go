package fakeupstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// NewOpenAI starts a fake OpenAI-compatible API. Its base URL (for a
// target's base_url) is URL()+"/v1"; it serves /v1/chat/completions,
// /v1/completions and /v1/embeddings in the shapes of OpenAI's API
// reference, streams with `data: [DONE]`, and sends the usage chunk
// (`choices: []`) only when `stream_options.include_usage` is true. It
// also serves the Responses API, /v1/responses (see serveResponses), and
// the media endpoints: images, audio, moderations (see serveMedia).
func NewOpenAI(tb testing.TB, name string) *Server {
	return start(tb, name, serveOpenAI)
}

// BaseURL is the server's OpenAI base URL (with /v1).
func (s *Server) BaseURL() string { return s.URL + "/v1" }

func serveOpenAI(w http.ResponseWriter, r *http.Request, req *Request, step Step) {
	serveOpenAIAs(w, r, req, step, false)
}

// serveOpenAIAs serves the OpenAI API, or with azure set the same as an
// Azure OpenAI deployment does (see serveMedia).
func serveOpenAIAs(w http.ResponseWriter, r *http.Request, req *Request, step Step, azure bool) {
	if step.Status != 0 {
		body := step.Body
		if body == "" {
			body = OpenAIError(step.Status, "fake failure from "+nameOf(r))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(step.Status)
		_, _ = w.Write([]byte(body))
		return
	}
	if step.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(step.Body))
		return
	}
	model := gjson.GetBytes(req.Body, "model").String()
	text := step.Text
	if text == "" {
		text = "Hello from " + nameOf(r)
	}
	switch strings.TrimPrefix(r.URL.Path, "/v1") {
	case "/chat/completions", "/completions":
		chat := strings.HasSuffix(r.URL.Path, "/chat/completions")
		if gjson.GetBytes(req.Body, "stream").Bool() {
			streamOpenAI(w, r, req, step, chat, model, text)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAICompletion(chat, model, text))
	case "/embeddings":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAIEmbeddings(req.Body, model))
	case "/responses":
		serveResponses(w, r, req, step, text)
	default:
		if serveMedia(w, r, req, step, strings.TrimPrefix(r.URL.Path, "/v1"), azure) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(OpenAIError(http.StatusNotFound, "unknown path "+r.URL.Path)))
	}
}

// nameOf is the fake's name, taken from the request's Host so that error
// messages show which fake answered.
func nameOf(r *http.Request) string { return "fake " + r.Host }

// OpenAIError is an OpenAI error body.
func OpenAIError(status int, msg string) string {
	typ, code := "server_error", "internal_error"
	switch {
	case status == 429:
		typ, code = "requests", "rate_limit_exceeded"
	case status == 401:
		typ, code = "invalid_request_error", "invalid_api_key"
	case status == 404:
		typ, code = "invalid_request_error", "model_not_found"
	case status < 500:
		typ, code = "invalid_request_error", "invalid_value"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
	return string(b)
}

// Fake usage: fixed figures, so tests can check them.
const (
	FakePromptTokens     = 9
	FakeCompletionTokens = 12
)

func usageJSON() string {
	return fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`,
		FakePromptTokens, FakeCompletionTokens, FakePromptTokens+FakeCompletionTokens)
}

func openAICompletion(chat bool, model, text string) []byte {
	created := time.Now().Unix()
	q, _ := json.Marshal(text)
	if chat {
		return []byte(fmt.Sprintf(`{"id":"chatcmpl-fake","object":"chat.completion","created":%d,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":%s,"service_tier":"default","system_fingerprint":"fp_fake"}`,
			created, model, q, usageJSON()))
	}
	return []byte(fmt.Sprintf(`{"id":"cmpl-fake","object":"text_completion","created":%d,"model":%q,"choices":[{"text":%s,"index":0,"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`,
		created, model, q, FakePromptTokens, FakeCompletionTokens, FakePromptTokens+FakeCompletionTokens))
}

// StreamPiece is the text of content event i of a fake stream.
func StreamPiece(i int) string { return fmt.Sprintf("tok%d ", i) }

func streamOpenAI(w http.ResponseWriter, r *http.Request, req *Request, step Step, chat bool, model, text string) {
	includeUsage := gjson.GetBytes(req.Body, "stream_options.include_usage").Bool()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush(w)
	switch {
	case step.DropAtStart:
		drop(w)
		return
	case step.HangAtStart:
		<-r.Context().Done()
		return
	}
	created := time.Now().Unix()
	usageField := ""
	if includeUsage {
		usageField = `,"usage":null`
	}
	chunk := func(delta string, finish string) []byte {
		fr := "null"
		if finish != "" {
			fr = `"` + finish + `"`
		}
		if chat {
			return []byte(fmt.Sprintf(`{"id":"chatcmpl-fake","object":"chat.completion.chunk","created":%d,"model":%q,"system_fingerprint":"fp_fake","choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]%s}`,
				created, model, delta, fr, usageField))
		}
		return []byte(fmt.Sprintf(`{"id":"cmpl-fake","object":"text_completion","created":%d,"model":%q,"choices":[{"text":%s,"index":0,"logprobs":null,"finish_reason":%s}]%s}`,
			created, model, delta, fr, usageField))
	}
	n := step.Chunks
	if n == 0 {
		n = 3
	}
	if chat {
		writeSSE(w, "", chunk(`{"role":"assistant","content":"","refusal":null}`, ""))
	}
	if !step.contentEvents(w, r, n, func(i int) {
		piece, _ := json.Marshal(StreamPiece(i))
		if chat {
			writeSSE(w, "", chunk(`{"content":`+string(piece)+`}`, ""))
		} else {
			writeSSE(w, "", chunk(string(piece), ""))
		}
	}, func() {
		writeSSE(w, "", []byte(`{"error":{"message":"fake in-stream failure","type":"server_error","param":null,"code":"internal_error"}}`))
	}) {
		return
	}
	if chat {
		writeSSE(w, "", chunk(`{}`, "stop"))
	} else {
		writeSSE(w, "", chunk(`""`, "stop"))
	}
	if includeUsage {
		obj := "chat.completion.chunk"
		if !chat {
			obj = "text_completion"
		}
		writeSSE(w, "", []byte(fmt.Sprintf(`{"id":"chatcmpl-fake","object":%q,"created":%d,"model":%q,"system_fingerprint":"fp_fake","choices":[],"usage":%s}`,
			obj, created, model, usageJSON())))
	}
	_, _ = w.Write([]byte("data: [DONE]\n\n"))
	flush(w)
}

func openAIEmbeddings(body []byte, model string) []byte {
	input := gjson.GetBytes(body, "input")
	n := 1
	if input.IsArray() && len(input.Array()) > 0 && input.Array()[0].Type == gjson.String {
		n = len(input.Array())
	}
	var b strings.Builder
	b.WriteString(`{"object":"list","data":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"object":"embedding","index":%d,"embedding":[0.0023064255,-0.009327292,%d.5]}`, i, i)
	}
	fmt.Fprintf(&b, `],"model":%q,"usage":{"prompt_tokens":%d,"total_tokens":%d}}`, model, FakePromptTokens, FakePromptTokens)
	return []byte(b.String())
}
