package openai

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// upload is a multipart body as openai-go writes it: the file first, the
// model after it.
func upload(t *testing.T, model string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, _ := w.CreateFormFile("file", "a.wav")
	_, _ = fw.Write([]byte("RIFF\x00\x01\r\n--x model\xff"))
	_ = w.WriteField("model", model)
	_ = w.WriteField("response_format", "text")
	_ = w.Close()
	return b.Bytes(), w.FormDataContentType()
}

func mediaCall(op llm.Op, body []byte, ct, clientModel, model string) *llm.Call {
	return &llm.Call{
		Op: op, Body: body, ClientModel: clientModel, Model: model,
		ClientHeader: http.Header{"Content-Type": {ct}},
		Upstream:     &llm.Upstream{Name: "oa", BaseURL: "http://x/v1", APIKey: "k"},
	}
}

func readBody(t *testing.T, req *http.Request) []byte {
	t.Helper()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != req.ContentLength {
		t.Fatalf("Content-Length %d, body %d bytes", req.ContentLength, len(b))
	}
	again, _ := req.GetBody()
	b2, _ := io.ReadAll(again)
	if !bytes.Equal(b, b2) {
		t.Fatal("GetBody replays another body")
	}
	return b
}

// An upload goes byte for byte with the client's Content-Type; a model
// that model_map changed is spliced into its field, nothing else moves.
func TestNewMediaRequestUpload(t *testing.T) {
	body, ct := upload(t, "whisper")
	for _, tc := range []struct{ model, want string }{{"whisper", string(body)}, {"whisper-1-upstream", strings.Replace(string(body), "\r\n\r\nwhisper\r\n", "\r\n\r\nwhisper-1-upstream\r\n", 1)}} {
		req, err := Provider{}.NewNativeRequest(t.Context(), mediaCall(llm.OpTranscription, body, ct, "whisper", tc.model))
		if err != nil {
			t.Fatal(err)
		}
		got := readBody(t, req)
		if string(got) != tc.want || req.URL.String() != "http://x/v1/audio/transcriptions" || req.Header.Get("Content-Type") != ct ||
			req.Header.Get("Authorization") != "Bearer k" {
			t.Fatalf("%s %v\n%q\nwant\n%q", req.URL, req.Header, got, tc.want)
		}
	}
}

// A JSON media body is passed through with the upstream model.
func TestNewMediaRequestJSON(t *testing.T) {
	c := mediaCall(llm.OpSpeech, []byte(`{"model":"tts","input":"hi","voice":"alloy", "speed" : 1.0}`), "application/json", "tts", "gpt-4o-mini-tts")
	req, err := Provider{}.NewNativeRequest(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got := readBody(t, req); string(got) != `{"model":"gpt-4o-mini-tts","input":"hi","voice":"alloy", "speed" : 1.0}` ||
		req.URL.Path != "/v1/audio/speech" || req.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s", req.URL, got)
	}
	if !(Provider{}).Speaks(llm.OpModeration) || !(Provider{}).Speaks(llm.OpImageEdit) || (Provider{}).Speaks(llm.OpMessages) {
		t.Fatal("Speaks")
	}
}

func mediaResponse(ct string, body io.Reader) *http.Response {
	return &http.Response{StatusCode: 200, ContentLength: -1,
		Header: http.Header{"Content-Type": {ct}, "X-Request-Id": {"req-1"}}, Body: io.NopCloser(body)}
}

// Audio passes byte for byte, with its Content-Type, flushed as it comes.
func TestRelayMediaBinary(t *testing.T) {
	audio := bytes.Repeat([]byte("\xff\xfb\x00\r\n"), 30000)
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	u, err := RelayMedia(w, mediaResponse("audio/mpeg", bytes.NewReader(audio)), &llm.Call{Op: llm.OpSpeech})
	if err != nil || u != (llm.Usage{}) || !bytes.Equal(rec.Body.Bytes(), audio) || rec.Header().Get("Content-Type") != "audio/mpeg" ||
		rec.Header().Get("X-Request-Id") != "req-1" || !rec.Flushed {
		t.Fatalf("%v %+v %d bytes %v", err, u, rec.Body.Len(), rec.Header())
	}
}

// A read failure before the first byte leaves the response uncommitted
// (retryable); after it, the body ends short and the failure is relayed,
// with nothing appended to the audio.
func TestRelayMediaBinaryBroken(t *testing.T) {
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	_, err := RelayMedia(w, mediaResponse("audio/mpeg", iotest.ErrReader(io.ErrUnexpectedEOF)), &llm.Call{Op: llm.OpSpeech, Upstream: &llm.Upstream{Name: "oa"}})
	if !errors.Is(err, io.ErrUnexpectedEOF) || w.Committed() {
		t.Fatalf("%v committed %v", err, w.Committed())
	}
	rec = httptest.NewRecorder()
	w = stream.NewWriter(rec)
	body := io.MultiReader(strings.NewReader("ID3abc"), iotest.ErrReader(io.ErrUnexpectedEOF))
	_, err = RelayMedia(w, mediaResponse("audio/mpeg", body), &llm.Call{Op: llm.OpSpeech, Upstream: &llm.Upstream{Name: "oa"}})
	var e *llm.Error
	if !errors.As(err, &e) || !e.Relayed || !strings.Contains(e.Message, `"oa"`) || rec.Body.String() != "ID3abc" {
		t.Fatalf("%v %q", err, rec.Body.String())
	}
	// Over max_response_body.
	rec = httptest.NewRecorder()
	w = stream.NewWriter(rec)
	_, err = RelayMedia(w, mediaResponse("audio/mpeg", strings.NewReader(strings.Repeat("x", 100))), &llm.Call{Op: llm.OpSpeech, MaxResponseBody: 10})
	if !errors.Is(err, llm.ErrTooLarge) || w.Committed() {
		t.Fatalf("%v", err)
	}
}

// JSON answers pass through whole with their usage; plain text as it is.
func TestRelayMediaJSONAndText(t *testing.T) {
	img := `{"created":1,"data":[{"b64_json":"iVBO"}],"usage":{"input_tokens":50,"input_tokens_details":{"image_tokens":0,"text_tokens":50},"output_tokens":272,"total_tokens":322}}`
	rec := httptest.NewRecorder()
	u, err := RelayMedia(stream.NewWriter(rec), mediaResponse("application/json", strings.NewReader(img)), &llm.Call{Op: llm.OpImageGeneration})
	if err != nil || rec.Body.String() != img || u != (llm.Usage{PromptTokens: 50, CompletionTokens: 272}) {
		t.Fatalf("%v %+v %s", err, u, rec.Body.String())
	}
	// A JSON answer cut off midway is a failed attempt, nothing written.
	w := stream.NewWriter(httptest.NewRecorder())
	if _, err := RelayMedia(w, mediaResponse("application/json", strings.NewReader(img[:40])), &llm.Call{Op: llm.OpImageGeneration}); !errors.Is(err, ErrInvalidAnswer) || w.Committed() {
		t.Fatalf("%v", err)
	}
	rec = httptest.NewRecorder()
	u, err = RelayMedia(stream.NewWriter(rec), mediaResponse("text/plain; charset=utf-8", strings.NewReader("hello\n")), &llm.Call{Op: llm.OpTranscription})
	if err != nil || rec.Body.String() != "hello\n" || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" || u != (llm.Usage{}) {
		t.Fatalf("%v %q", err, rec.Body.String())
	}
	// A transcription billed by duration has no tokens.
	if u := MediaUsageOf(jsonResult(`{"type":"duration","seconds":3}`)); u != (llm.Usage{}) {
		t.Fatalf("%+v", u)
	}
}

// Event streams pass event by event; the usage of the done event is read;
// an error before the first event is retryable, after it relayed; a stream
// cut before its done event fails.
func TestRelayMediaStream(t *testing.T) {
	in := ": keep-alive\n\ndata: {\"type\":\"transcript.text.delta\",\"delta\":\"Hi \"}\n\n" +
		"data: {\"type\":\"transcript.text.done\",\"text\":\"Hi\",\"usage\":{\"type\":\"tokens\",\"input_tokens\":14,\"output_tokens\":45,\"total_tokens\":59}}\n\n"
	rec := httptest.NewRecorder()
	u, err := RelayMedia(stream.NewWriter(rec), mediaResponse("text/event-stream", strings.NewReader(in)), &llm.Call{Op: llm.OpTranscription, Stream: true})
	if err != nil || rec.Body.String() != in || u != (llm.Usage{PromptTokens: 14, CompletionTokens: 45}) {
		t.Fatalf("%v %+v %q", err, u, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	w := stream.NewWriter(rec)
	_, err = RelayMedia(w, mediaResponse("text/event-stream", strings.NewReader(": c\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"message\":\"overloaded\",\"code\":\"server_error\"}}\n\n")), &llm.Call{Op: llm.OpSpeech, Stream: true})
	var e *llm.Error
	if !errors.As(err, &e) || e.Relayed || w.Committed() || e.Message != "overloaded" {
		t.Fatalf("%v committed %v", err, w.Committed())
	}
	rec = httptest.NewRecorder()
	w = stream.NewWriter(rec)
	late := "data: {\"type\":\"speech.audio.delta\",\"audio\":\"AAA=\"}\n\ndata: {\"type\":\"error\",\"error\":{\"message\":\"boom\"}}\n\n"
	_, err = RelayMedia(w, mediaResponse("text/event-stream", strings.NewReader(late)), &llm.Call{Op: llm.OpSpeech, Stream: true})
	if !errors.As(err, &e) || !e.Relayed || rec.Body.String() != late {
		t.Fatalf("%v %q", err, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	_, err = RelayMedia(stream.NewWriter(rec), mediaResponse("text/event-stream", strings.NewReader("data: {\"type\":\"speech.audio.delta\",\"audio\":\"AAA=\"}\n\n")), &llm.Call{Op: llm.OpSpeech, Stream: true})
	if !errors.Is(err, ErrStreamCut) {
		t.Fatalf("%v", err)
	}
}

func jsonResult(s string) gjson.Result { return gjson.Parse(s) }
