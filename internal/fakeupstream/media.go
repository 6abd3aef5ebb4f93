package fakeupstream

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// The media endpoints of the OpenAI API (and of Azure OpenAI deployments),
// as OpenAI's API reference documents them: /images/generations and
// /audio/speech and /moderations take JSON; /images/edits,
// /audio/transcriptions and /audio/translations take multipart/form-data
// uploads, which the fake reads with Go's own multipart reader (a body the
// router had damaged would fail here). Answers are deterministic, so tests
// can compare them byte for byte: FakePNG, FakeSpeech, FakeTranscript.

// FakePNG is the image every image answer carries (base64 in b64_json): a
// 1×1 PNG.
var FakePNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

// FakeSpeech is the audio the speech endpoint answers for input: an ID3
// tag and frames of bytes derived from the input (every byte value, NULs
// and CRLFs included), long enough to arrive in several pieces.
func FakeSpeech(input string) []byte {
	sum := sha256.Sum256([]byte(input))
	out := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), sum[:]...)
	for i := 0; len(out) < 96<<10; i++ {
		out = append(out, 0xff, 0xfb, byte(i), sum[i%len(sum)], '\r', '\n', 0x00)
		for b := 0; b < 256; b += 37 {
			out = append(out, byte(b+i))
		}
	}
	return out
}

// FakeTranscript is the text the transcription and translation endpoints
// answer for an uploaded file: its name, size and hash, so a test sees that
// the upload arrived whole.
func FakeTranscript(filename string, audio []byte) string {
	sum := sha256.Sum256(audio)
	return fmt.Sprintf("Transcript of %s: %d bytes, sha256 %s.", filename, len(audio), hex.EncodeToString(sum[:8]))
}

// Fake media usage figures.
const (
	FakeImageInputTokens  = 50
	FakeImageOutputTokens = 272
	FakeAudioInputTokens  = 14
	FakeAudioOutputTokens = 45
)

// speechContentTypes are the answer types of /audio/speech by
// response_format.
var speechContentTypes = map[string]string{
	"mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac",
	"flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm",
}

// serveMedia answers a media path (below /v1); it reports false for other
// paths. azure selects Azure OpenAI's ways: no moderations, speech as
// application/octet-stream.
func serveMedia(w http.ResponseWriter, r *http.Request, req *Request, step Step, path string, azure bool) bool {
	switch path {
	case "/images/generations":
		doc, ok := jsonBody(w, req, "prompt")
		if ok {
			imageAnswer(w, r, step, "image_generation", doc.Get("stream").Bool(), int(doc.Get("n").Int()))
		}
	case "/images/edits":
		if ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); ct == "application/json" {
			// The JSON form: images by URL or file id.
			doc, ok := jsonBody(w, req, "prompt", "images")
			if ok {
				imageAnswer(w, r, step, "image_edit", doc.Get("stream").Bool(), 1)
			}
			return true
		}
		form, ok := formBody(w, r, req, "prompt")
		if !ok {
			return true
		}
		if len(form.File["image"])+len(form.File["image[]"]) == 0 {
			badRequest(w, "image", "'image' is required")
			return true
		}
		imageAnswer(w, r, step, "image_edit", formTrue(form.Value["stream"]), 1)
	case "/audio/speech":
		doc, ok := jsonBody(w, req, "input")
		if !ok {
			return true
		}
		if !doc.Get("voice").Exists() {
			badRequest(w, "voice", "'voice' is required")
			return true
		}
		speechAnswer(w, r, step, doc, azure)
	case "/audio/transcriptions", "/audio/translations":
		form, ok := formBody(w, r, req)
		if !ok {
			return true
		}
		files := form.File["file"]
		if len(files) != 1 {
			badRequest(w, "file", "'file' is required")
			return true
		}
		f, _ := files[0].Open()
		audio, _ := io.ReadAll(f)
		text := FakeTranscript(files[0].Filename, audio)
		if path == "/audio/translations" {
			text = "Translation: " + text
		}
		transcriptAnswer(w, r, step, form, text, path == "/audio/transcriptions")
	case "/moderations":
		if azure {
			azureNotFound(w)
			return true
		}
		doc, ok := jsonBody(w, req, "input")
		if ok {
			moderationAnswer(w, doc)
		}
	default:
		return false
	}
	return true
}

func badRequest(w http.ResponseWriter, param, msg string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": param, "code": nil}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b)
}

func azureNotFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"error":{"code":"404","message":"Resource not found"}}`))
}

// jsonBody checks a JSON body with a `model` and the required fields.
func jsonBody(w http.ResponseWriter, req *Request, required ...string) (gjson.Result, bool) {
	if ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); ct != "application/json" || !gjson.ValidBytes(req.Body) {
		badRequest(w, "", "the body must be JSON (Content-Type application/json)")
		return gjson.Result{}, false
	}
	doc := gjson.ParseBytes(req.Body)
	for _, f := range append([]string{"model"}, required...) {
		if !doc.Get(f).Exists() {
			badRequest(w, f, "'"+f+"' is required")
			return doc, false
		}
	}
	return doc, true
}

// formBody reads a multipart/form-data upload with its declared length,
// requiring a `model` field and the named ones.
func formBody(w http.ResponseWriter, r *http.Request, req *Request, required ...string) (*multipart.Form, bool) {
	mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		badRequest(w, "", "the body must be multipart/form-data with a boundary")
		return nil, false
	}
	if r.ContentLength >= 0 && r.ContentLength != int64(len(req.Body)) {
		badRequest(w, "", fmt.Sprintf("Content-Length %d, body %d bytes", r.ContentLength, len(req.Body)))
		return nil, false
	}
	form, err := multipart.NewReader(bytes.NewReader(req.Body), params["boundary"]).ReadForm(64 << 20)
	if err != nil {
		badRequest(w, "", "malformed multipart body: "+err.Error())
		return nil, false
	}
	for _, f := range append([]string{"model"}, required...) {
		if len(form.Value[f]) != 1 {
			badRequest(w, f, "'"+f+"' is required, once")
			return nil, false
		}
	}
	return form, true
}

func formTrue(v []string) bool { return len(v) == 1 && v[0] == "true" }

func imageUsage() string {
	return fmt.Sprintf(`{"input_tokens":%d,"input_tokens_details":{"image_tokens":0,"text_tokens":%d},"output_tokens":%d,"total_tokens":%d}`,
		FakeImageInputTokens, FakeImageInputTokens, FakeImageOutputTokens, FakeImageInputTokens+FakeImageOutputTokens)
}

// imageAnswer answers an image generation or edit: n images (or, streamed,
// one partial image and the completed event with the usage).
func imageAnswer(w http.ResponseWriter, r *http.Request, step Step, kind string, streamed bool, n int) {
	png := base64.StdEncoding.EncodeToString(FakePNG)
	created := time.Now().Unix()
	if streamed {
		sseHeaders(w)
		writeSSE(w, kind+".partial_image", []byte(fmt.Sprintf(`{"type":%q,"b64_json":%q,"created_at":%d,"size":"1024x1024","quality":"low","background":"opaque","output_format":"png","partial_image_index":0}`,
			kind+".partial_image", png, created)))
		if !wait(r, step.ChunkDelay) || !gate(r, step.Gate) {
			return
		}
		writeSSE(w, kind+".completed", []byte(fmt.Sprintf(`{"type":%q,"b64_json":%q,"created_at":%d,"size":"1024x1024","quality":"low","background":"opaque","output_format":"png","usage":%s}`,
			kind+".completed", png, created, imageUsage())))
		return
	}
	if n < 1 {
		n = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"created":%d,"background":"opaque","data":[`, created)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"b64_json":%q}`, png)
	}
	fmt.Fprintf(&b, `],"output_format":"png","quality":"low","size":"1024x1024","usage":%s}`, imageUsage())
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(b.String()))
}

// speechAnswer writes the audio in pieces as it is "generated" (chunked,
// flushed), or with `stream_format` sse as speech.audio.delta events and a
// speech.audio.done with the usage. DropAtStart cuts the connection after
// the status line, DropAfter after that many pieces of audio.
func speechAnswer(w http.ResponseWriter, r *http.Request, step Step, doc gjson.Result, azure bool) {
	audio := FakeSpeech(doc.Get("input").String())
	const piece = 16 << 10
	if doc.Get("stream_format").String() == "sse" {
		sseHeaders(w)
		for i := 0; i < len(audio); i += piece {
			if i > 0 && (!wait(r, step.ChunkDelay) || !gate(r, step.Gate)) {
				return
			}
			chunk := audio[i:min(i+piece, len(audio))]
			writeSSE(w, "", []byte(fmt.Sprintf(`{"type":"speech.audio.delta","audio":%q}`, base64.StdEncoding.EncodeToString(chunk))))
		}
		writeSSE(w, "", []byte(fmt.Sprintf(`{"type":"speech.audio.done","usage":{"input_tokens":%d,"output_tokens":%d,"total_tokens":%d}}`,
			FakeAudioInputTokens, FakeAudioOutputTokens, FakeAudioInputTokens+FakeAudioOutputTokens)))
		return
	}
	format := doc.Get("response_format").String()
	if format == "" {
		format = "mp3"
	}
	ct, ok := speechContentTypes[format]
	if !ok {
		badRequest(w, "response_format", "unsupported response_format "+format)
		return
	}
	if azure {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	if step.DropAtStart {
		flush(w)
		drop(w)
		return
	}
	for i, n := 0, 0; i < len(audio); i, n = i+piece, n+1 {
		if step.DropAfter > 0 && n == step.DropAfter {
			drop(w)
			return
		}
		if i > 0 && (!wait(r, step.ChunkDelay) || !gate(r, step.Gate)) {
			return
		}
		_, _ = w.Write(audio[i:min(i+piece, len(audio))])
		flush(w)
	}
}

// transcriptAnswer answers a transcription or translation in its
// response_format: json (with token usage for transcriptions),
// verbose_json (usage by duration), text, srt, vtt (text/plain), or, with
// `stream` true, transcript.text.delta events and transcript.text.done.
func transcriptAnswer(w http.ResponseWriter, r *http.Request, step Step, form *multipart.Form, text string, transcription bool) {
	tokenUsage := fmt.Sprintf(`{"type":"tokens","input_tokens":%d,"input_token_details":{"text_tokens":0,"audio_tokens":%d},"output_tokens":%d,"total_tokens":%d}`,
		FakeAudioInputTokens, FakeAudioInputTokens, FakeAudioOutputTokens, FakeAudioInputTokens+FakeAudioOutputTokens)
	q, _ := json.Marshal(text)
	if transcription && formTrue(form.Value["stream"]) {
		sseHeaders(w)
		for i, word := range strings.SplitAfter(text, " ") {
			if i > 0 && (!wait(r, step.ChunkDelay) || !gate(r, step.Gate)) {
				return
			}
			d, _ := json.Marshal(word)
			writeSSE(w, "", []byte(fmt.Sprintf(`{"type":"transcript.text.delta","delta":%s,"logprobs":[]}`, d)))
		}
		writeSSE(w, "", []byte(fmt.Sprintf(`{"type":"transcript.text.done","text":%s,"logprobs":[],"usage":%s}`, q, tokenUsage)))
		return
	}
	format := "json"
	if v := form.Value["response_format"]; len(v) == 1 {
		format = v[0]
	}
	plain := func(s string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(s))
	}
	switch format {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		if transcription {
			_, _ = w.Write([]byte(fmt.Sprintf(`{"text":%s,"usage":%s}`, q, tokenUsage)))
		} else {
			_, _ = w.Write([]byte(fmt.Sprintf(`{"text":%s}`, q)))
		}
	case "verbose_json":
		w.Header().Set("Content-Type", "application/json")
		task := "translate"
		if transcription {
			task = "transcribe"
		}
		_, _ = w.Write([]byte(fmt.Sprintf(`{"task":%q,"language":"english","duration":2.5,"text":%s,"segments":[{"id":0,"seek":0,"start":0.0,"end":2.5,"text":%s,"tokens":[50364],"temperature":0.0,"avg_logprob":-0.2,"compression_ratio":1.1,"no_speech_prob":0.01}],"usage":{"type":"duration","seconds":3}}`,
			task, q, q)))
	case "text":
		plain(text + "\n")
	case "srt":
		plain("1\n00:00:00,000 --> 00:00:02,500\n" + text + "\n\n")
	case "vtt":
		plain("WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n" + text + "\n\n")
	default:
		badRequest(w, "response_format", "unsupported response_format "+format)
	}
}

// moderationCategories are the categories of a moderation result.
var moderationCategories = []string{"harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
	"self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence", "violence/graphic"}

// moderationAnswer answers one result per input (a string or an array);
// an input containing "kill" is flagged for violence.
func moderationAnswer(w http.ResponseWriter, doc gjson.Result) {
	var inputs []string
	if in := doc.Get("input"); in.IsArray() {
		for _, v := range in.Array() {
			inputs = append(inputs, v.Get("text").String()+v.String())
		}
	} else {
		inputs = []string{in.String()}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"id":"modr-fake","model":%q,"results":[`, doc.Get("model").String())
	for i, in := range inputs {
		if i > 0 {
			b.WriteByte(',')
		}
		flagged := strings.Contains(in, "kill")
		fmt.Fprintf(&b, `{"flagged":%t,"categories":{`, flagged)
		for j, c := range moderationCategories {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `%q:%t`, c, flagged && c == "violence")
		}
		b.WriteString(`},"category_scores":{`)
		for j, c := range moderationCategories {
			if j > 0 {
				b.WriteByte(',')
			}
			score := 0.0001
			if flagged && c == "violence" {
				score = 0.97
			}
			fmt.Fprintf(&b, `%q:%g`, c, score)
		}
		b.WriteString(`},"category_applied_input_types":{`)
		for j, c := range moderationCategories {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `%q:["text"]`, c)
		}
		b.WriteString(`}}`)
	}
	b.WriteString(`]}`)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(b.String()))
}

func sseHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush(w)
}
