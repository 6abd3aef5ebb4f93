package openai

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// formRequest is a multipart upload as openai-go writes it (the file
// first, then the fields), with its Content-Type.
func formRequest(t testing.TB, fields ...string) (*http.Request, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, _ := w.CreateFormFile("file", "speech.mp3")
	_, _ = fw.Write(bytes.Repeat([]byte("ID3\x00\xff\r\n--"), 100000)) // 1.1 MB with line ends and dashes
	for i := 0; i+1 < len(fields); i += 2 {
		_ = w.WriteField(fields[i], fields[i+1])
	}
	_ = w.Close()
	r := httptest.NewRequest(http.MethodPost, "/v1/audio/transcriptions", nil)
	r.Header.Set("Content-Type", w.FormDataContentType())
	r.Header.Set("Authorization", "Bearer sk-x")
	return r, b.Bytes()
}

func TestMatchMedia(t *testing.T) {
	for path, op := range map[string]llm.Op{
		"/v1/images/generations": llm.OpImageGeneration, "/images/edits": llm.OpImageEdit, "/v1/audio/speech": llm.OpSpeech,
		"/v1/audio/transcriptions": llm.OpTranscription, "/audio/translations": llm.OpTranslation, "/v1/moderations": llm.OpModeration,
	} {
		rt, ok := API{}.Match(path)
		form := op == llm.OpImageEdit || op == llm.OpTranscription || op == llm.OpTranslation
		if !ok || rt.Op != op || rt.Form != form || !op.Media() || op.Hub() {
			t.Errorf("%s: %+v %v", path, rt, ok)
		}
	}
}

// The model of an upload is found after a large file; stream and user are
// read; the client's Content-Type is kept for the upstream; no hub op.
func TestParseForm(t *testing.T) {
	r, body := formRequest(t, "model", "gpt-4o-transcribe", "stream", "true", "user", "u-1", "prompt", "twelve bytes")
	rt, _ := API{}.Match("/v1/audio/transcriptions")
	req, e := API{}.Parse(r, body, rt)
	if e != nil {
		t.Fatal(e)
	}
	if req.Model != "gpt-4o-transcribe" || !req.Stream || req.User != "u-1" || req.HubOp != 0 || req.ClientKey != "sk-x" ||
		req.Header.Get("Content-Type") != r.Header.Get("Content-Type") || &req.Body[0] != &body[0] {
		t.Fatalf("%+v", req)
	}
	// The estimate counts the text fields, not the file.
	if req.EstimatedPromptTokens <= 0 || req.EstimatedPromptTokens > 20 {
		t.Fatalf("estimated %d tokens", req.EstimatedPromptTokens)
	}
}

func TestParseFormErrors(t *testing.T) {
	rt, _ := API{}.Match("/v1/audio/transcriptions")
	for name, tc := range map[string]struct {
		fields []string
		ct     string
		body   string
		param  string
	}{
		"no model":       {fields: []string{"prompt", "x"}, param: "model"},
		"two models":     {fields: []string{"model", "a", "model", "b"}, param: "model"},
		"bad model":      {fields: []string{"model", strings.Repeat("m", 300)}, param: "model"},
		"no boundary":    {ct: "multipart/form-data", body: "x"},
		"cut off":        {ct: "multipart/form-data; boundary=b", body: "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1"},
		"model is afile": {ct: "multipart/form-data; boundary=b", body: "--b\r\nContent-Disposition: form-data; name=\"model\"; filename=\"m\"\r\n\r\nx\r\n--b--", param: "model"},
	} {
		r, body := formRequest(t, tc.fields...)
		if tc.ct != "" {
			r.Header.Set("Content-Type", tc.ct)
			body = []byte(tc.body)
		}
		_, e := API{}.Parse(r, body, rt)
		if e == nil || e.Status != 400 || e.Code != "invalid_request" || e.Param != tc.param {
			t.Errorf("%s: %+v", name, e)
		}
	}
}

// JSON media bodies: speech streams by stream_format, moderations never.
func TestParseMediaJSON(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/audio/speech", nil)
	for _, tc := range []struct {
		path, body string
		stream     bool
	}{
		{"/v1/audio/speech", `{"model":"tts-1","input":"hi","voice":"alloy","stream_format":"sse"}`, true},
		{"/v1/audio/speech", `{"model":"tts-1","input":"hi","voice":"alloy","stream":true}`, false},
		{"/v1/images/generations", `{"model":"gpt-image-1","prompt":"a cat","stream":true}`, true},
		{"/v1/moderations", `{"model":"omni-moderation-latest","input":"x","stream":true}`, false},
	} {
		rt, _ := API{}.Match(tc.path)
		req, e := API{}.Parse(r, []byte(tc.body), rt)
		if e != nil || req.Stream != tc.stream || req.HubOp != 0 || req.Model == "" {
			t.Errorf("%s: %+v %v", tc.body, req, e)
		}
	}
}

// FuzzParseForm: whatever the upload, parsing it does not panic, and the
// model it routes on is the one Go's multipart reader sees, when that
// reader reads the body.
func FuzzParseForm(f *testing.F) {
	_, body := formRequest(f, "model", "whisper-1", "stream", "true")
	f.Add(body[len(body)-400:], "")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--b--\r\n"), "b")
	f.Add([]byte("--b\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\n\n\r\n--b\nContent-Disposition: form-data; name=model\n\nm\n--b--"), "b")
	rt, _ := API{}.Match("/v1/audio/transcriptions")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		if boundary == "" {
			// The seed cut from a real body: its own boundary.
			if i := bytes.Index(body, []byte("\r\n--")); i >= 0 {
				if j := bytes.IndexAny(body[i+4:], "\r\n-"); j > 0 {
					boundary = string(body[i+4 : i+4+j])
				}
			}
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/audio/transcriptions", nil)
		r.Header.Set("Content-Type", `multipart/form-data; boundary="`+strings.ReplaceAll(boundary, `"`, `\"`)+`"`)
		req, e := API{}.Parse(r, body, rt)
		if e != nil {
			return
		}
		b, ok := llm.FormBoundary(r.Header.Get("Content-Type"))
		if !ok {
			t.Fatal("parsed without a boundary")
		}
		form, err := multipart.NewReader(bytes.NewReader(body), b).ReadForm(1 << 20)
		if err != nil {
			return
		}
		defer form.RemoveAll()
		if v := form.Value["model"]; len(v) != 1 || v[0] != req.Model {
			t.Fatalf("routed on model %q, mime/multipart reads %q", req.Model, v)
		}
	})
}
