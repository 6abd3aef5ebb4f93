package fakeupstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// NewGemini starts a fake Gemini API (generativelanguage.googleapis.com).
// Its base URL (for a target's base_url) is URL. It serves
// POST /{version}/models/{model}:generateContent,
// :streamGenerateContent (SSE frames with alt=sse, no [DONE]; a JSON array
// without), :countTokens (always GeminiCountTokens), :embedContent and
// :batchEmbedContents in the shapes of Google's API reference,
// with errors in Google's shape. Like the real API it rejects a request
// without an `x-goog-api-key` header (403 PERMISSION_DENIED), unknown
// fields in the request (400 INVALID_ARGUMENT), JSON-schema keywords
// Gemini does not accept in function parameters, and a functionCall of an
// earlier model turn without its thoughtSignature (as Gemini 3 does); it
// also refuses a key in the URL. When the request declares tools and its
// last turn is not a function response, it answers with a functionCall part
// per declared function (at most two, in order). With
// generationConfig.thinkingConfig.includeThoughts the final answer starts
// with a thought part (GeminiThought).
func NewGemini(tb testing.TB, name string) *Server {
	return start(tb, name, serveGemini)
}

// GeminiSignature is the thoughtSignature the fake puts on the first
// functionCall of an answer and expects back.
const GeminiSignature = "ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ=="

// GeminiError is a Google API error body.
func GeminiError(status int, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": status, "message": msg, "status": googleStatus(status),
	}})
	return string(b)
}

// googleStatus is the google.rpc.Code name Google answers a status with.
func googleStatus(status int) string {
	switch status {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ABORTED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case 501:
		return "UNIMPLEMENTED"
	case 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	return "INTERNAL"
}

func geminiFail(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func serveGemini(w http.ResponseWriter, r *http.Request, req *Request, step Step) {
	if r.URL.Query().Has("key") {
		geminiFail(w, 400, GeminiError(400, "fake gemini: the API key must be sent in x-goog-api-key, not in the URL"))
		return
	}
	if r.Header.Get("X-Goog-Api-Key") == "" {
		geminiFail(w, 403, GeminiError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."))
		return
	}
	if step.Status != 0 {
		body := step.Body
		if body == "" {
			body = geminiStepError(step, "fake failure from "+nameOf(r))
		}
		geminiFail(w, step.Status, body)
		return
	}
	if step.Body != "" {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = w.Write([]byte(step.Body))
		return
	}
	// /{version}/models/{model}:{method}
	path := strings.TrimPrefix(r.URL.Path, "/")
	version, rest, _ := strings.Cut(path, "/")
	rest, ok := strings.CutPrefix(rest, "models/")
	model, method, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || version == "" || model == "" || r.Method != http.MethodPost {
		geminiFail(w, 404, GeminiError(404, "fake gemini: unknown path "+r.URL.Path))
		return
	}
	if !gjson.ValidBytes(req.Body) || !gjson.ParseBytes(req.Body).IsObject() {
		geminiFail(w, 400, GeminiError(400, "Invalid JSON payload received."))
		return
	}
	switch method {
	case "generateContent", "streamGenerateContent":
		if msg := checkGenerateContent(req.Body); msg != "" {
			geminiFail(w, 400, GeminiError(400, msg))
			return
		}
		text := step.Text
		if text == "" {
			text = "Hello from " + nameOf(r)
		}
		ans := geminiAnswer{model: model, text: text, calls: functionCalls(req.Body),
			thoughts: gjson.GetBytes(req.Body, "generationConfig.thinkingConfig.includeThoughts").Bool()}
		if method == "generateContent" {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			_, _ = w.Write(ans.response(ans.finalCandidate(text), true))
			return
		}
		streamGemini(w, r, step, &ans, r.URL.Query().Get("alt") == "sse")
	case "countTokens":
		body, msg := geminiCountTokens(req.Body)
		if msg != "" {
			geminiFail(w, 400, GeminiError(400, msg))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = w.Write(body)
	case "embedContent":
		body, msg := geminiEmbedContent(req.Body, model)
		if msg != "" {
			geminiFail(w, 400, GeminiError(400, msg))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = w.Write(body)
	case "batchEmbedContents":
		body, msg := geminiEmbeddings(req.Body, model)
		if msg != "" {
			geminiFail(w, 400, GeminiError(400, msg))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = w.Write(body)
	default:
		geminiFail(w, 404, GeminiError(404, "fake gemini: unknown method "+method))
	}
}

// geminiStepError is the error body of a scripted failure: a 429 carries a
// google.rpc.RetryInfo with the step's RetryAfter, as Gemini sends it.
func geminiStepError(step Step, msg string) string {
	e := map[string]any{"code": step.Status, "message": msg, "status": googleStatus(step.Status)}
	if secs, err := strconv.Atoi(step.RetryAfter); err == nil {
		e["details"] = []any{map[string]any{
			"@type":      "type.googleapis.com/google.rpc.RetryInfo",
			"retryDelay": strconv.Itoa(secs) + "s",
		}}
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}

var (
	geminiRequestFields = set("contents", "systemInstruction", "tools", "toolConfig", "generationConfig",
		"safetySettings", "cachedContent")
	geminiConfigFields = set("stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema",
		"responseModalities", "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed",
		"presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs", "thinkingConfig", "speechConfig",
		"mediaResolution", "enableEnhancedCivicAnswers")
	geminiPartFields = set("text", "inlineData", "fileData", "functionCall", "functionResponse", "thought",
		"thoughtSignature", "executableCode", "codeExecutionResult", "videoMetadata")
	geminiRejectedSchema = []string{`"additionalProperties"`, `"$schema"`, `"strict"`}
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// checkGenerateContent returns the message of Google's 400 for a request
// the real API would refuse, or "".
func checkGenerateContent(body []byte) string {
	doc := gjson.ParseBytes(body)
	msg := ""
	doc.ForEach(func(k, _ gjson.Result) bool {
		if !geminiRequestFields[k.Str] {
			msg = fmt.Sprintf("Invalid JSON payload received. Unknown name %q: Cannot find field.", k.Str)
		}
		return msg == ""
	})
	if msg != "" {
		return msg
	}
	doc.Get("generationConfig").ForEach(func(k, _ gjson.Result) bool {
		if !geminiConfigFields[k.Str] {
			msg = fmt.Sprintf("Invalid JSON payload received. Unknown name %q at 'generation_config': Cannot find field.", k.Str)
		}
		return msg == ""
	})
	if msg != "" {
		return msg
	}
	contents := doc.Get("contents")
	if !contents.IsArray() || len(contents.Array()) == 0 {
		return "* GenerateContentRequest.contents: contents is not specified\n"
	}
	for i, c := range contents.Array() {
		role := c.Get("role").Str
		if role != "" && role != "user" && role != "model" {
			return fmt.Sprintf("Please use a valid role: user, model. (contents[%d].role %q)", i, role)
		}
		parts := c.Get("parts").Array()
		if len(parts) == 0 {
			return fmt.Sprintf("* GenerateContentRequest.contents[%d].parts: contents.parts must not be empty.\n", i)
		}
		firstCall := true
		for j, p := range parts {
			bad := ""
			p.ForEach(func(k, _ gjson.Result) bool {
				if !geminiPartFields[k.Str] {
					bad = k.Str
				}
				return bad == ""
			})
			if bad != "" {
				return fmt.Sprintf("Invalid JSON payload received. Unknown name %q at 'contents[%d].parts[%d]': Cannot find field.", bad, i, j)
			}
			if fc := p.Get("functionCall"); fc.Exists() {
				if !fc.Get("args").IsObject() && fc.Get("args").Exists() {
					return fmt.Sprintf("Invalid value at 'contents[%d].parts[%d].function_call.args' (type.googleapis.com/google.protobuf.Struct)", i, j)
				}
				if firstCall && role == "model" && p.Get("thoughtSignature").Str != GeminiSignature {
					return fmt.Sprintf("Function call is missing a thought_signature in functionCall parts. (contents[%d].parts[%d])", i, j)
				}
				firstCall = false
			}
			if fr := p.Get("functionResponse"); fr.Exists() && (!fr.Get("response").IsObject() || fr.Get("name").Str == "") {
				return fmt.Sprintf("* GenerateContentRequest.contents[%d].parts[%d].function_response: name and response (an object) are required\n", i, j)
			}
		}
	}
	for _, t := range doc.Get("tools").Array() {
		for _, fd := range t.Get("functionDeclarations").Array() {
			params := fd.Get("parameters").Raw
			for _, kw := range geminiRejectedSchema {
				if strings.Contains(params, kw+":") {
					return fmt.Sprintf("Invalid JSON payload received. Unknown name %s at 'tools[0].function_declarations[0].parameters': Cannot find field.", kw)
				}
			}
		}
	}
	return ""
}

// functionCalls is what the fake calls: every declared function (at most
// two, allowedFunctionNames respected), unless tool calling is off or the
// last turn answers earlier calls.
func functionCalls(body []byte) []gjson.Result {
	doc := gjson.ParseBytes(body)
	cfg := doc.Get("toolConfig.functionCallingConfig")
	if cfg.Get("mode").Str == "NONE" {
		return nil
	}
	contents := doc.Get("contents").Array()
	if n := len(contents); n > 0 {
		for _, p := range contents[n-1].Get("parts").Array() {
			if p.Get("functionResponse").Exists() {
				return nil
			}
		}
	}
	allowed := map[string]bool{}
	for _, n := range cfg.Get("allowedFunctionNames").Array() {
		allowed[n.Str] = true
	}
	var out []gjson.Result
	for _, t := range doc.Get("tools").Array() {
		for _, fd := range t.Get("functionDeclarations").Array() {
			if len(out) < 2 && (len(allowed) == 0 || allowed[fd.Get("name").Str]) {
				out = append(out, fd)
			}
		}
	}
	return out
}

// geminiAnswer builds GenerateContentResponse objects.
type geminiAnswer struct {
	model    string
	text     string
	calls    []gjson.Result // function declarations to call
	thoughts bool           // thinkingConfig.includeThoughts: a thought part first
}

// GeminiThought is the thought the fake answers with when the request
// asks for thoughts (thinkingConfig.includeThoughts), counted as
// FakeThoughtTokens.
const (
	GeminiThought     = "Thinking it over."
	FakeThoughtTokens = 5
)

// callParts are the functionCall parts: arguments made from each
// declaration's properties (strings "fake", numbers 1, booleans true).
func (a *geminiAnswer) callParts() []any {
	var parts []any
	for i, fd := range a.calls {
		args := map[string]any{}
		fd.Get("parameters.properties").ForEach(func(k, v gjson.Result) bool {
			switch strings.ToLower(v.Get("type").Str) { // Gemini Schema types are upper case
			case "string":
				args[k.Str] = "fake"
			case "number", "integer":
				args[k.Str] = 1
			case "boolean":
				args[k.Str] = true
			}
			return true
		})
		part := map[string]any{"functionCall": map[string]any{"name": fd.Get("name").Str, "args": args}}
		if i == 0 {
			part["thoughtSignature"] = GeminiSignature
		}
		parts = append(parts, part)
	}
	return parts
}

func (a *geminiAnswer) finalCandidate(text string) map[string]any {
	parts := []any{map[string]any{"text": text}}
	if len(a.calls) > 0 {
		parts = a.callParts()
	}
	if a.thoughts {
		parts = append([]any{map[string]any{"text": GeminiThought, "thought": true}}, parts...)
	}
	return map[string]any{
		"content":      map[string]any{"parts": parts, "role": "model"},
		"finishReason": "STOP",
		"index":        0,
	}
}

// response is a GenerateContentResponse with one candidate; final ones
// carry the whole usage, others the prompt's only (as Gemini streams it).
func (a *geminiAnswer) response(cand map[string]any, final bool) []byte {
	usage := map[string]any{"promptTokenCount": FakePromptTokens, "totalTokenCount": FakePromptTokens,
		"promptTokensDetails": []any{map[string]any{"modality": "TEXT", "tokenCount": FakePromptTokens}}}
	if final {
		usage["candidatesTokenCount"] = FakeCompletionTokens
		usage["totalTokenCount"] = FakePromptTokens + FakeCompletionTokens
		if a.thoughts {
			usage["thoughtsTokenCount"] = FakeThoughtTokens
			usage["totalTokenCount"] = FakePromptTokens + FakeCompletionTokens + FakeThoughtTokens
		}
	}
	b, _ := json.Marshal(map[string]any{
		"candidates":    []any{cand},
		"usageMetadata": usage,
		"modelVersion":  a.model,
		"responseId":    "fake-gemini-response",
	})
	return b
}

// streamGemini streams Chunks text frames (StreamPiece(i)) and a final
// frame with finishReason and usage, or one frame of function calls. With
// alt=sse each frame is `data: {…}` and CRLF CRLF, as Google sends them,
// with no terminator; without, the frames form one JSON array. A Step's SSE
// pieces, when set, are the body instead.
func streamGemini(w http.ResponseWriter, r *http.Request, step Step, a *geminiAnswer, sse bool) {
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	}
	w.WriteHeader(http.StatusOK)
	flush(w)
	if step.SSE != nil {
		for i, piece := range step.SSE {
			if i > 0 && (!wait(r, step.ChunkDelay) || !gate(r, step.Gate)) {
				return
			}
			_, _ = w.Write([]byte(piece))
			flush(w)
		}
		return
	}
	frames := 0
	send := func(frame []byte) {
		switch {
		case sse:
			_, _ = w.Write([]byte("data: "))
			_, _ = w.Write(frame)
			_, _ = w.Write([]byte("\r\n\r\n"))
		case frames == 0:
			_, _ = w.Write([]byte("["))
			_, _ = w.Write(frame)
		default:
			_, _ = w.Write([]byte(",\r\n"))
			_, _ = w.Write(frame)
		}
		frames++
		flush(w)
	}
	defer func() {
		if !sse && frames > 0 {
			_, _ = w.Write([]byte("]"))
		}
	}()
	n := step.Chunks
	if n == 0 {
		n = 3
	}
	if len(a.calls) > 0 {
		n = 0
	}
	if !step.contentEvents(w, r, n, func(i int) {
		cand := map[string]any{"content": map[string]any{"parts": []any{map[string]any{"text": StreamPiece(i)}}, "role": "model"}, "index": 0}
		send(a.response(cand, false))
	}, func() {
		send([]byte(GeminiError(500, "fake in-stream failure")))
	}) {
		return
	}
	if n > 0 && !wait(r, step.ChunkDelay) {
		return
	}
	send(a.response(a.finalCandidate(""), true))
}

var geminiEmbedFields = set("model", "content", "taskType", "title", "outputDimensionality")

// GeminiCountTokens is the fake's answer to countTokens, whatever it is
// asked: a figure no estimate of the router's test bodies gives.
const GeminiCountTokens = 4242

// geminiCountTokens answers countTokens: `contents` or a whole
// `generateContentRequest`, nothing else, as the real API accepts.
func geminiCountTokens(body []byte) ([]byte, string) {
	doc := gjson.ParseBytes(body)
	msg := ""
	doc.ForEach(func(k, _ gjson.Result) bool {
		if k.Str != "contents" && k.Str != "generateContentRequest" {
			msg = fmt.Sprintf("Invalid JSON payload received. Unknown name %q: Cannot find field.", k.Str)
		}
		return msg == ""
	})
	if msg != "" {
		return nil, msg
	}
	if !doc.Get("contents").IsArray() && !doc.Get("generateContentRequest").IsObject() {
		return nil, "* CountTokensRequest: contents or generate_content_request is required\n"
	}
	b, _ := json.Marshal(map[string]any{"totalTokens": GeminiCountTokens,
		"promptTokensDetails": []any{map[string]any{"modality": "TEXT", "tokenCount": GeminiCountTokens}}})
	return b, ""
}

// geminiEmbedContent answers embedContent: one EmbedContentRequest (its
// model, when given, must be the path's), `{"embedding":{"values":[…]}}`.
func geminiEmbedContent(body []byte, model string) ([]byte, string) {
	values, msg := embedOne(gjson.ParseBytes(body), 0, model, false, "EmbedContentRequest")
	if msg != "" {
		return nil, msg
	}
	b, _ := json.Marshal(map[string]any{"embedding": map[string]any{"values": values}})
	return b, ""
}

// geminiEmbeddings answers batchEmbedContents: per request, the values
// 0.0023064255, -0.009327292, i+0.5, cut or padded (with 0.1) to
// outputDimensionality. Like the real API it sends no usage.
func geminiEmbeddings(body []byte, model string) ([]byte, string) {
	reqs := gjson.GetBytes(body, "requests")
	if !reqs.IsArray() || len(reqs.Array()) == 0 {
		return nil, "* BatchEmbedContentsRequest.requests: requests is not specified\n"
	}
	var out []any
	for i, rq := range reqs.Array() {
		values, msg := embedOne(rq, i, model, true, fmt.Sprintf("BatchEmbedContentsRequest.requests[%d]", i))
		if msg != "" {
			return nil, msg
		}
		out = append(out, map[string]any{"values": values})
	}
	b, _ := json.Marshal(map[string]any{"embeddings": out})
	return b, ""
}

// embedOne checks one EmbedContentRequest (named at in messages) and
// returns its values: 0.0023064255, -0.009327292, i+0.5, cut or padded
// (with 0.1) to outputDimensionality. A batch's requests must name the
// path's model; a single request may leave it out.
func embedOne(rq gjson.Result, i int, model string, needModel bool, at string) ([]float64, string) {
	bad := ""
	rq.ForEach(func(k, _ gjson.Result) bool {
		if !geminiEmbedFields[k.Str] {
			bad = k.Str
		}
		return bad == ""
	})
	if bad != "" {
		return nil, fmt.Sprintf("Invalid JSON payload received. Unknown name %q at '%s': Cannot find field.", bad, at)
	}
	if m := rq.Get("model"); (needModel || m.Exists()) && m.Str != "models/"+model {
		return nil, fmt.Sprintf("* %s.model: %q does not match the model in the URL (models/%s)\n", at, m.Str, model)
	}
	if rq.Get("content.parts.0.text").Type != gjson.String {
		return nil, fmt.Sprintf("* %s.content: content is not specified\n", at)
	}
	values := []float64{0.0023064255, -0.009327292, float64(i) + 0.5}
	if d := rq.Get("outputDimensionality"); d.Exists() {
		n := int(d.Int())
		if n < 1 || n > 3072 {
			return nil, fmt.Sprintf("* %s.output_dimensionality: must be between 1 and 3072\n", at)
		}
		for len(values) < n {
			values = append(values, 0.1)
		}
		values = values[:n]
	}
	return values, ""
}
