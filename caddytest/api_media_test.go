package integration

// The media endpoints (images, audio, moderations) driven by the official
// OpenAI Go SDK through an openai and an azure target: what the SDK sends
// reaches the upstream byte for byte (multipart uploads included), what
// the upstream answers reaches the SDK byte for byte (audio included);
// retries, fallbacks, keys, headers and metrics as for chat; other
// providers are skipped or refused as unsupported.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// sdkSent records what an SDK client put on the wire.
type sdkSent struct {
	mu   sync.Mutex
	reqs []sentRequest
}

type sentRequest struct {
	ContentType string
	Body        []byte
}

func (s *sdkSent) last(t *testing.T) sentRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("the SDK sent nothing")
	}
	return s.reqs[len(s.reqs)-1]
}

// mediaClient is an openai-go client for the router, its own retries off,
// with a middleware that records each request body as the SDK sends it.
func mediaClient(key string) (openai.Client, *sdkSent) {
	rec := &sdkSent{}
	c := openai.NewClient(
		option.WithBaseURL(base+"/v1/"),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: &http.Transport{}}),
		option.WithRequestTimeout(30*time.Second),
		option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			var b []byte
			if req.Body != nil {
				b, _ = io.ReadAll(req.Body)
				_ = req.Body.Close()
				req.Body = io.NopCloser(bytes.NewReader(b))
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
			}
			rec.mu.Lock()
			rec.reqs = append(rec.reqs, sentRequest{ContentType: req.Header.Get("Content-Type"), Body: b})
			rec.mu.Unlock()
			return next(req)
		}),
	)
	return c, rec
}

// testAudio is an upload with every byte value, CRLFs and dashes, which a
// multipart body must carry untouched.
func testAudio(size int) []byte {
	out := []byte("RIFF\x24\x00\x00\x00WAVEfmt ")
	for i := 0; len(out) < size; i++ {
		out = append(out, byte(i), '\r', '\n', '-', '-', byte(i>>8), 0)
	}
	return out[:size]
}

// expectSameUpload checks that the upstream got the SDK's body (with its
// Content-Type) byte for byte.
func expectSameUpload(t *testing.T, up *fakeupstream.Server, sent sentRequest) {
	t.Helper()
	got := up.Last()
	if got == nil {
		t.Fatal("nothing reached the upstream")
	}
	if got.Header.Get("Content-Type") != sent.ContentType {
		t.Fatalf("upstream Content-Type %q, SDK sent %q", got.Header.Get("Content-Type"), sent.ContentType)
	}
	if !bytes.Equal(got.Body, sent.Body) {
		t.Fatalf("the upstream body differs from what the SDK sent (%d vs %d bytes)", len(got.Body), len(sent.Body))
	}
}

func expectMediaRoute(t *testing.T, raw *http.Response, target, model, attempts string) {
	t.Helper()
	if raw.Header.Get("X-LLM-Target") != target || raw.Header.Get("X-LLM-Model") != model || raw.Header.Get("X-LLM-Attempts") != attempts {
		t.Fatalf("route headers target %q model %q attempts %q, want %s %s %s", raw.Header.Get("X-LLM-Target"),
			raw.Header.Get("X-LLM-Model"), raw.Header.Get("X-LLM-Attempts"), target, model, attempts)
	}
}

func ctx30(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Every media endpoint through an openai target with the real SDK.
func TestMediaOpenAI(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "oa")
	load(t, `metrics /metrics
	`+router(`
		target media-oa {
			base_url `+up.BaseURL()+`
			api_key sk-upstream-media
			model_map transcriber gpt-4o-transcribe
		}`))
	c, sent := mediaClient("sk-client")
	var raw *http.Response
	before := string(get(t, "/metrics").Body)

	t.Run("images generate", func(t *testing.T) {
		res, err := c.Images.Generate(ctx30(t), openai.ImageGenerateParams{Model: "gpt-image-1", Prompt: "a red fox in the snow"}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) != 1 || res.Data[0].B64JSON != base64.StdEncoding.EncodeToString(fakeupstream.FakePNG) || res.Usage.InputTokens != fakeupstream.FakeImageInputTokens {
			t.Fatalf("%+v", res)
		}
		expectMediaRoute(t, raw, "media-oa", "gpt-image-1", "1")
		got := up.Last()
		if got.Path != "/v1/images/generations" || got.Header.Get("Authorization") != "Bearer sk-upstream-media" {
			t.Fatalf("upstream %s %v", got.Path, got.Header)
		}
		expectSameUpload(t, up, sent.last(t))
	})

	t.Run("images edit", func(t *testing.T) {
		res, err := c.Images.Edit(ctx30(t), openai.ImageEditParams{
			Model:  "gpt-image-1",
			Prompt: "give the fox a hat",
			Image:  openai.ImageEditParamsImageUnion{OfFile: openai.File(bytes.NewReader(fakeupstream.FakePNG), "fox.png", "image/png")},
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) != 1 || res.Usage.OutputTokens != fakeupstream.FakeImageOutputTokens {
			t.Fatalf("%+v", res)
		}
		expectMediaRoute(t, raw, "media-oa", "gpt-image-1", "1")
		if up.Last().Path != "/v1/images/edits" || !strings.HasPrefix(sent.last(t).ContentType, "multipart/form-data; boundary=") {
			t.Fatalf("upstream %s, SDK Content-Type %s", up.Last().Path, sent.last(t).ContentType)
		}
		expectSameUpload(t, up, sent.last(t))
	})

	t.Run("speech", func(t *testing.T) {
		input := "The quick brown fox jumps over the lazy dog."
		resp, err := c.Audio.Speech.New(ctx30(t), openai.AudioSpeechNewParams{
			Model: "gpt-4o-mini-tts", Input: input,
			Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		audio, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(audio, fakeupstream.FakeSpeech(input)) || resp.Header.Get("Content-Type") != "audio/mpeg" {
			t.Fatalf("audio: %d bytes, Content-Type %q; want %d bytes of the upstream's audio", len(audio), resp.Header.Get("Content-Type"), len(fakeupstream.FakeSpeech(input)))
		}
		expectMediaRoute(t, resp, "media-oa", "gpt-4o-mini-tts", "1")
		expectSameUpload(t, up, sent.last(t))
	})

	t.Run("images stream", func(t *testing.T) {
		resp := post(t, "/v1/images/generations", `{"model":"gpt-image-1","prompt":"a fox","stream":true,"partial_images":1}`)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-LLM-Target") != "media-oa" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		var types []string
		var usage gjson.Result
		for _, ev := range readSSE(t, resp) {
			types = append(types, gjson.Get(ev.Data, "type").Str)
			if u := gjson.Get(ev.Data, "usage"); u.Exists() {
				usage = u
			}
		}
		if strings.Join(types, ",") != "image_generation.partial_image,image_generation.completed" || usage.Get("output_tokens").Int() != fakeupstream.FakeImageOutputTokens {
			t.Fatalf("events %v, usage %s", types, usage.Raw)
		}
	})

	t.Run("speech events", func(t *testing.T) {
		input := "streamed speech"
		resp := post(t, "/v1/audio/speech", `{"model":"gpt-4o-mini-tts","input":"`+input+`","voice":"coral","stream_format":"sse"}`)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		var audio []byte
		var done gjson.Result
		for _, ev := range readSSE(t, resp) {
			switch typ := gjson.Get(ev.Data, "type").Str; typ {
			case "speech.audio.delta":
				b, _ := base64.StdEncoding.DecodeString(gjson.Get(ev.Data, "audio").Str)
				audio = append(audio, b...)
			case "speech.audio.done":
				done = gjson.Parse(ev.Data)
			default:
				t.Fatalf("event %s", ev.Data)
			}
		}
		if !bytes.Equal(audio, fakeupstream.FakeSpeech(input)) || done.Get("usage.output_tokens").Int() != fakeupstream.FakeAudioOutputTokens {
			t.Fatalf("%d bytes of audio, done %s", len(audio), done.Raw)
		}
	})

	audio := testAudio(300 << 10)
	t.Run("transcription", func(t *testing.T) {
		res, err := c.Audio.Transcriptions.New(ctx30(t), openai.AudioTranscriptionNewParams{
			Model: "gpt-4o-transcribe", File: openai.File(bytes.NewReader(audio), "meeting.wav", "audio/wav"),
			Prompt: openai.String("A meeting about foxes."),
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != fakeupstream.FakeTranscript("meeting.wav", audio) || res.Usage.InputTokens != fakeupstream.FakeAudioInputTokens {
			t.Fatalf("%+v", res)
		}
		expectMediaRoute(t, raw, "media-oa", "gpt-4o-transcribe", "1")
		if up.Last().Path != "/v1/audio/transcriptions" {
			t.Fatal(up.Last().Path)
		}
		expectSameUpload(t, up, sent.last(t))
	})

	t.Run("transcription model_map", func(t *testing.T) {
		// The upstream model is spliced into the upload's model field;
		// every other byte stays.
		_, err := c.Audio.Transcriptions.New(ctx30(t), openai.AudioTranscriptionNewParams{
			Model: "transcriber", File: openai.File(bytes.NewReader(audio), "meeting.wav", "audio/wav"),
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		expectMediaRoute(t, raw, "media-oa", "gpt-4o-transcribe", "1")
		s := sent.last(t)
		want := bytes.Replace(s.Body, []byte("name=\"model\"\r\n\r\ntranscriber\r\n"), []byte("name=\"model\"\r\n\r\ngpt-4o-transcribe\r\n"), 1)
		if bytes.Equal(want, s.Body) || !bytes.Equal(up.Last().Body, want) || up.Last().Header.Get("Content-Type") != s.ContentType {
			t.Fatal("the upstream did not get the upload with only its model replaced")
		}
	})

	t.Run("transcription stream", func(t *testing.T) {
		st := c.Audio.Transcriptions.NewStreaming(ctx30(t), openai.AudioTranscriptionNewParams{
			Model: "gpt-4o-transcribe", File: openai.File(bytes.NewReader(audio), "meeting.wav", "audio/wav"),
		})
		defer st.Close()
		var text strings.Builder
		var final openai.TranscriptionStreamEventUnion
		for st.Next() {
			ev := st.Current()
			switch ev.Type {
			case "transcript.text.delta":
				text.WriteString(ev.Delta)
			case "transcript.text.done":
				final = ev
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		want := fakeupstream.FakeTranscript("meeting.wav", audio)
		if text.String() != want || final.Text != want || final.Usage.OutputTokens != fakeupstream.FakeAudioOutputTokens {
			t.Fatalf("deltas %q, done %+v", text.String(), final)
		}
		expectSameUpload(t, up, sent.last(t))
	})

	t.Run("transcription text", func(t *testing.T) {
		// response_format text: a text/plain answer, read as a string.
		var out string
		err := c.Post(ctx30(t), "audio/transcriptions", openai.AudioTranscriptionNewParams{
			Model: "gpt-4o-transcribe", File: openai.File(bytes.NewReader(audio), "meeting.wav", "audio/wav"),
			ResponseFormat: openai.AudioResponseFormatText,
		}, &out, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if out != fakeupstream.FakeTranscript("meeting.wav", audio)+"\n" || raw.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("%q %v", out, raw.Header)
		}
	})

	t.Run("translation", func(t *testing.T) {
		//lint:ignore SA1019 deprecated by OpenAI (shutdown 2027) but still served, and routed
		res, err := c.Audio.Translations.New(ctx30(t), openai.AudioTranslationNewParams{
			Model: "whisper-1", File: openai.File(bytes.NewReader(audio), "bonjour.mp3", "audio/mpeg"),
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != "Translation: "+fakeupstream.FakeTranscript("bonjour.mp3", audio) {
			t.Fatalf("%+v", res)
		}
		expectMediaRoute(t, raw, "media-oa", "whisper-1", "1")
		if up.Last().Path != "/v1/audio/translations" {
			t.Fatal(up.Last().Path)
		}
		expectSameUpload(t, up, sent.last(t))
	})

	t.Run("moderation", func(t *testing.T) {
		res, err := c.Moderations.New(ctx30(t), openai.ModerationNewParams{
			Model: "omni-moderation-latest",
			Input: openai.ModerationNewParamsInputUnion{OfStringArray: []string{"kill the process", "hello"}},
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Results) != 2 || !res.Results[0].Flagged || res.Results[1].Flagged || !res.Results[0].Categories.Violence {
			t.Fatalf("%+v", res)
		}
		expectMediaRoute(t, raw, "media-oa", "omni-moderation-latest", "1")
		expectSameUpload(t, up, sent.last(t))
	})

	t.Run("usage in metrics", func(t *testing.T) {
		after := string(get(t, "/metrics").Body)
		for series, want := range map[string]float64{
			`caddy_llm_router_tokens_total{model="gpt-image-1",target="media-oa",type="prompt"}`:           3 * fakeupstream.FakeImageInputTokens,
			`caddy_llm_router_tokens_total{model="gpt-4o-transcribe",target="media-oa",type="completion"}`: 3 * fakeupstream.FakeAudioOutputTokens, // json, model_map, stream; text has none
			`caddy_llm_router_requests_total{code="200",model="omni-moderation-latest",target="media-oa"}`: 1,
		} {
			if got := metricValue(after, series) - metricValue(before, series); got != want {
				t.Errorf("%s grew by %v, want %v:\n%s", series, got, want, grepLines(after, "media-oa"))
			}
		}
	})
}

// metricValue reads one series of a Prometheus text exposition, 0 when
// absent (counters are process-wide: tests compare before and after).
func metricValue(exposition, series string) float64 {
	for _, line := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			_, _ = fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// The same through an azure target: deployment paths, api-key, uploads
// unchanged (the deployment is in the path), speech as Azure answers it;
// moderations, which Azure OpenAI does not have, refused as unsupported.
func TestMediaAzure(t *testing.T) {
	up := fakeupstream.NewAzure(t, "az")
	load(t, router(`
		target media-az {
			provider azure
			base_url `+up.URL+`
			api_key az-media-key
			api_version 2025-04-01-preview
			model_map gpt-image-1 image-deployment
			model_map whisper-1 whisper-deployment
			model_map tts speech-deployment
		}`))
	c, sent := mediaClient("sk-client")
	var raw *http.Response
	deployment := func(t *testing.T, want string) {
		t.Helper()
		got := up.Last()
		if got.Path != want || got.Query != "api-version=2025-04-01-preview" || got.Header.Get("Api-Key") != "az-media-key" || got.Header.Get("Authorization") != "" {
			t.Fatalf("upstream %s?%s %v", got.Path, got.Query, got.Header)
		}
	}

	t.Run("images generate", func(t *testing.T) {
		res, err := c.Images.Generate(ctx30(t), openai.ImageGenerateParams{Model: "gpt-image-1", Prompt: "a lighthouse"}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) != 1 || res.Usage.TotalTokens != fakeupstream.FakeImageInputTokens+fakeupstream.FakeImageOutputTokens {
			t.Fatalf("%+v", res)
		}
		expectMediaRoute(t, raw, "media-az", "image-deployment", "1")
		deployment(t, "/openai/deployments/image-deployment/images/generations")
		if want := bytes.Replace(sent.last(t).Body, []byte(`"gpt-image-1"`), []byte(`"image-deployment"`), 1); !bytes.Equal(up.Last().Body, want) {
			t.Fatalf("upstream body %s", up.Last().Body)
		}
	})

	t.Run("images edit", func(t *testing.T) {
		_, err := c.Images.Edit(ctx30(t), openai.ImageEditParams{
			Model: "gpt-image-1", Prompt: "add a boat",
			Image: openai.ImageEditParamsImageUnion{OfFileArray: []io.Reader{
				openai.File(bytes.NewReader(fakeupstream.FakePNG), "a.png", "image/png"),
				openai.File(bytes.NewReader(fakeupstream.FakePNG), "b.png", "image/png"),
			}},
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		deployment(t, "/openai/deployments/image-deployment/images/edits")
		expectSameUpload(t, up, sent.last(t))
	})

	t.Run("speech", func(t *testing.T) {
		resp, err := c.Audio.Speech.New(ctx30(t), openai.AudioSpeechNewParams{
			Model: "tts", Input: "Azure speaks.", ResponseFormat: openai.AudioSpeechNewParamsResponseFormatWAV,
			Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("nova")},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		audio, _ := io.ReadAll(resp.Body)
		if !bytes.Equal(audio, fakeupstream.FakeSpeech("Azure speaks.")) || resp.Header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("%d bytes, %q", len(audio), resp.Header.Get("Content-Type"))
		}
		deployment(t, "/openai/deployments/speech-deployment/audio/speech")
	})

	audio := testAudio(120 << 10)
	t.Run("transcription", func(t *testing.T) {
		res, err := c.Audio.Transcriptions.New(ctx30(t), openai.AudioTranscriptionNewParams{
			Model: "whisper-1", File: openai.File(bytes.NewReader(audio), "call.m4a", "audio/mp4"),
			ResponseFormat: openai.AudioResponseFormatVerboseJSON,
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != fakeupstream.FakeTranscript("call.m4a", audio) || res.Duration != 2.5 {
			t.Fatalf("%+v", res)
		}
		expectMediaRoute(t, raw, "media-az", "whisper-deployment", "1")
		deployment(t, "/openai/deployments/whisper-deployment/audio/transcriptions")
		expectSameUpload(t, up, sent.last(t)) // the model field still says whisper-1
	})

	t.Run("translation", func(t *testing.T) {
		//lint:ignore SA1019 deprecated by OpenAI (shutdown 2027) but still served, and routed
		res, err := c.Audio.Translations.New(ctx30(t), openai.AudioTranslationNewParams{
			Model: "whisper-1", File: openai.File(bytes.NewReader(audio), "hola.ogg", "audio/ogg"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != "Translation: "+fakeupstream.FakeTranscript("hola.ogg", audio) {
			t.Fatalf("%+v", res)
		}
		deployment(t, "/openai/deployments/whisper-deployment/audio/translations")
		expectSameUpload(t, up, sent.last(t))
	})

	t.Run("moderation unsupported", func(t *testing.T) {
		n := up.Count()
		_, err := c.Moderations.New(ctx30(t), openai.ModerationNewParams{
			Model: "omni-moderation-latest", Input: openai.ModerationNewParamsInputUnion{OfString: openai.String("hi")},
		})
		expectUnsupported(t, err, "media-az", "/moderations")
		if up.Count() != n {
			t.Fatal("the moderation reached Azure")
		}
	})
}

func expectUnsupported(t *testing.T, err error, target, endpoint string) {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("not an API error: %v", err)
	}
	if apiErr.StatusCode != 400 || apiErr.Code != "unsupported" || !strings.Contains(apiErr.Message, `"`+target+`"`) || !strings.Contains(apiErr.Message, endpoint) {
		t.Fatalf("%d %s: %s", apiErr.StatusCode, apiErr.Code, apiErr.Message)
	}
}

// Retries on the same target, then a fallback to the next, for uploads
// and for audio: every attempt replays the whole body; audio that breaks
// off before its first byte is retried, audio that breaks off midway cuts
// the client's connection instead of ending as if complete.
func TestMediaRetriesAndFallback(t *testing.T) {
	bad := fakeupstream.NewOpenAI(t, "bad")
	good := fakeupstream.NewOpenAI(t, "good")
	load(t, router(`
		target media-bad {
			base_url `+bad.BaseURL()+`
		}
		target media-good {
			base_url `+good.BaseURL()+`
		}
		model whisper {
			strategy fallback
			to media-bad whisper-1
			to media-good whisper-1
		}
		model voice {
			strategy fallback
			to media-bad gpt-4o-mini-tts
			to media-good gpt-4o-mini-tts
		}
		retries 1
		retry_backoff 1ms 2ms
		cooldown 1000 1s`))
	c, sent := mediaClient("sk-client")
	var raw *http.Response
	audio := testAudio(200 << 10)

	bad.Always(fakeupstream.Step{Status: 503})
	res, err := c.Audio.Transcriptions.New(ctx30(t), openai.AudioTranscriptionNewParams{
		Model: "whisper", File: openai.File(bytes.NewReader(audio), "a.wav", "audio/wav"),
	}, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != fakeupstream.FakeTranscript("a.wav", audio) || bad.Count() != 2 {
		t.Fatalf("%+v, %d attempts on the failing target", res, bad.Count())
	}
	expectMediaRoute(t, raw, "media-good", "whisper-1", "3")
	want := bytes.Replace(sent.last(t).Body, []byte("\r\n\r\nwhisper\r\n"), []byte("\r\n\r\nwhisper-1\r\n"), 1)
	for _, r := range append(bad.Requests(), good.Last()) {
		if !bytes.Equal(r.Body, want) {
			t.Fatal("an attempt did not get the whole upload with the upstream model")
		}
	}

	// Audio that breaks off before its first byte: retried.
	bad.Reset()
	bad.Script(fakeupstream.Step{DropAtStart: true})
	resp, err := c.Audio.Speech.New(ctx30(t), openai.AudioSpeechNewParams{
		Model: "voice", Input: "retry me", Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("echo")},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, fakeupstream.FakeSpeech("retry me")) || resp.Header.Get("X-LLM-Attempts") != "2" || resp.Header.Get("X-LLM-Target") != "media-bad" {
		t.Fatalf("%v: %d bytes, headers %v", err, len(got), resp.Header)
	}

	// Audio that breaks off midway: the client sees an incomplete answer.
	bad.Reset()
	bad.Script(fakeupstream.Step{DropAfter: 2})
	r := post(t, "/v1/audio/speech", `{"model":"voice","input":"cut me","voice":"echo"}`)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "audio/mpeg" || r.Header.Get("X-LLM-Target") != "media-bad" {
		t.Fatalf("%d %v", r.StatusCode, r.Header)
	}
	got, err = io.ReadAll(r.Body)
	whole := fakeupstream.FakeSpeech("cut me")
	if err == nil || len(got) >= len(whole) || !bytes.Equal(got, whole[:len(got)]) {
		t.Fatalf("read %d of %d bytes, err %v: want a prefix and an error", len(got), len(whole), err)
	}
}

// Providers that do not speak an endpoint: skipped in an alias (no
// attempt), 400 unsupported naming the target and the endpoint when no
// candidate is left.
func TestMediaUnsupportedProviders(t *testing.T) {
	claude := fakeupstream.NewAnthropic(t, "claude")
	gem := fakeupstream.NewGemini(t, "gem")
	oa := fakeupstream.NewOpenAI(t, "oa")
	load(t, router(`
		target media-claude {
			provider anthropic
			base_url `+claude.URL+`
			api_key sk-ant
			models claude-*
		}
		target media-gem {
			provider gemini
			base_url `+gem.URL+`
			api_key g-key
			models gemini-*
		}
		target media-mock {
			provider mock
			models mock-*
		}
		target media-oa {
			base_url `+oa.BaseURL()+`
			models gpt-* whisper-*
		}
		model any-voice {
			strategy fallback
			to media-claude claude-voice
			to media-gem gemini-voice
			to media-oa gpt-4o-mini-tts
		}`))
	c, _ := mediaClient("sk-client")
	var raw *http.Response
	for model, target := range map[string]string{"claude-voice": "media-claude", "gemini-voice": "media-gem", "mock-voice": "media-mock"} {
		_, err := c.Audio.Speech.New(ctx30(t), openai.AudioSpeechNewParams{
			Model: model, Input: "x", Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")},
		})
		expectUnsupported(t, err, target, "/audio/speech")
		_, err = c.Audio.Transcriptions.New(ctx30(t), openai.AudioTranscriptionNewParams{
			Model: model, File: openai.File(bytes.NewReader(testAudio(1000)), "a.wav", "audio/wav"),
		})
		expectUnsupported(t, err, target, "/audio/transcriptions")
		_, err = c.Images.Generate(ctx30(t), openai.ImageGenerateParams{Model: model, Prompt: "x"})
		expectUnsupported(t, err, target, "/images/generations")
		_, err = c.Moderations.New(ctx30(t), openai.ModerationNewParams{Model: model, Input: openai.ModerationNewParamsInputUnion{OfString: openai.String("x")}})
		expectUnsupported(t, err, target, "/moderations")
	}
	// A mixed alias: the anthropic and gemini members are skipped without
	// an attempt, the openai member serves.
	resp, err := c.Audio.Speech.New(ctx30(t), openai.AudioSpeechNewParams{
		Model: "any-voice", Input: "mixed", Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")},
	}, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, fakeupstream.FakeSpeech("mixed")) {
		t.Fatalf("%d bytes", len(got))
	}
	expectMediaRoute(t, resp, "media-oa", "gpt-4o-mini-tts", "1")
	if claude.Count()+gem.Count() != 0 || gjson.GetBytes(oa.Last().Body, "model").Str != "gpt-4o-mini-tts" {
		t.Fatalf("claude %d, gemini %d requests; upstream body %s", claude.Count(), gem.Count(), oa.Last().Body)
	}
}

// Keys: a keyed upload works and is accounted, the client's key never goes
// upstream; a wrong key is 401 before anything is read; an upload over
// max_request_body is 413.
func TestMediaKeysAndLimits(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "oa")
	load(t, router(fmt.Sprintf(`
		target media-oa {
			base_url %s
			api_key sk-upstream
		}
		key %s {
			name %s
			rpm 100
		}
		max_request_body 1MiB`, up.BaseURL(), keyAlice, keyName(t, "media"))))
	c, _ := mediaClient(keyAlice)
	var raw *http.Response
	audio := testAudio(500 << 10)
	res, err := c.Audio.Transcriptions.New(ctx30(t), openai.AudioTranscriptionNewParams{
		Model: "whisper-1", File: openai.File(bytes.NewReader(audio), "a.wav", "audio/wav"),
	}, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != fakeupstream.FakeTranscript("a.wav", audio) || raw.Header.Get("X-Ratelimit-Limit-Requests") != "100" ||
		raw.Header.Get("X-Ratelimit-Remaining-Requests") != "99" || up.Last().Header.Get("Authorization") != "Bearer sk-upstream" {
		t.Fatalf("%+v %v %v", res, raw.Header, up.Last().Header)
	}

	wrong, _ := mediaClient("sk-llmr-wrong-0000000000000000000")
	n := up.Count()
	_, err = wrong.Audio.Transcriptions.New(ctx30(t), openai.AudioTranscriptionNewParams{
		Model: "whisper-1", File: openai.File(bytes.NewReader(audio), "a.wav", "audio/wav"),
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" || up.Count() != n {
		t.Fatalf("%v", err)
	}

	_, err = c.Audio.Transcriptions.New(ctx30(t), openai.AudioTranscriptionNewParams{
		Model: "whisper-1", File: openai.File(bytes.NewReader(testAudio(2<<20)), "big.wav", "audio/wav"),
	})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 413 || apiErr.Code != "request_too_large" || up.Count() != n {
		t.Fatalf("%v", err)
	}
}

// Malformed uploads are the client's 400, never forwarded.
func TestMediaBadUploads(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "oa")
	load(t, router(`
		target media-oa {
			base_url `+up.BaseURL()+`
		}`))
	for name, tc := range map[string]struct{ ct, body, param string }{
		"no model":      {"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF\r\n--b--\r\n", "model"},
		"two models":    {"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\na\r\n--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nb\r\n--b--\r\n", "model"},
		"cut off":       {"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1", ""},
		"no boundary":   {"multipart/form-data", "--b--", ""},
		"not json":      {"application/json", "model=whisper-1", ""},
		"json no model": {"application/json", `{"file":"x"}`, "model"},
	} {
		r := send(t, context.Background(), http.MethodPost, "/v1/audio/transcriptions", tc.body, "Content-Type", tc.ct)
		expectError(t, r, 400, "invalid_request")
		if p := r.json("error.param").String(); p != tc.param {
			t.Errorf("%s: param %q", name, p)
		}
	}
	// Only the upload endpoints take uploads.
	form := "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ntts-1\r\n--b--\r\n"
	for _, path := range []string{"/v1/audio/speech", "/v1/images/generations", "/v1/moderations", "/v1/chat/completions"} {
		r := send(t, context.Background(), http.MethodPost, path, form, "Content-Type", "multipart/form-data; boundary=b")
		expectError(t, r, 400, "invalid_request")
	}
	if up.Count() != 0 {
		t.Fatalf("%d bad uploads forwarded", up.Count())
	}
	// A JSON body on an upload endpoint goes as JSON (image edits take
	// image URLs in JSON too).
	body := `{"model":"gpt-image-1","prompt":"p","images":[{"image_url":"https://example.com/a.png"}]}`
	r := do(t, "/v1/images/edits", body)
	if r.Status != 200 || up.Last() == nil || up.Last().Header.Get("Content-Type") != "application/json" || string(up.Last().Body) != body {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}
