package gemini

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"google.golang.org/genai"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func chatRequest(body []byte, stream bool) *apis.Request {
	return &apis.Request{API: API{}, Op: llm.OpGenerateContent, HubOp: llm.OpChat, Body: body,
		Model: "client-model", Stream: stream, IncludeUsage: true}
}

// Requests, Gemini → hub: testdata/tohub/X.gemini.json → X.hub.json
// (streamed when X starts with "stream").
func TestGoldenToHub(t *testing.T) {
	for _, in := range goldenfile.Cases(t, "tohub/*.gemini.json") {
		name := strings.TrimSuffix(filepath.Base(in), ".gemini.json")
		t.Run(name, func(t *testing.T) {
			got, err := API{}.ToHub(chatRequest(goldenfile.Read(t, in), strings.HasPrefix(name, "stream")))
			if err != nil {
				t.Fatal(err)
			}
			goldenfile.JSON(t, strings.TrimSuffix(in, ".gemini.json")+".hub.json", got, *update)
		})
	}
}

// encode runs hub bytes through an encoder as a provider writes them:
// headers staged first, the body in pieces of size piece (0: whole). It
// returns the recorder and Finish's error.
func encode(t testing.TB, req *apis.Request, contentType string, body []byte, piece int) (*httptest.ResponseRecorder, error) {
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	enc := newEncoder(w, req)
	enc.Header().Set("Content-Type", contentType)
	enc.Header().Set("Content-Length", strconv.Itoa(len(body)))
	enc.Header().Set("X-Request-Id", "req-1")
	enc.WriteHeader(http.StatusOK)
	if piece <= 0 {
		piece = len(body)
	}
	for len(body) > 0 {
		n := min(piece, len(body))
		if _, err := enc.Write(body[:n]); err != nil {
			return rec, err
		}
		_ = enc.Flush()
		body = body[n:]
	}
	return rec, enc.Finish()
}

// Answers, hub → Gemini: testdata/answer/X.hub.json → X.gemini.json, held
// until Finish and sent with their own Content-Length; the SDK's types
// read them.
func TestGoldenAnswers(t *testing.T) {
	for _, in := range goldenfile.Cases(t, "answer/*.hub.json") {
		name := strings.TrimSuffix(filepath.Base(in), ".hub.json")
		t.Run(name, func(t *testing.T) {
			rec, err := encode(t, chatRequest(nil, false), "application/json", goldenfile.Read(t, in), 17)
			if err != nil {
				t.Fatal(err)
			}
			body := rec.Body.Bytes()
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=UTF-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %q for %d bytes", cl, len(body))
			}
			if rec.Header().Get("X-Request-Id") != "req-1" {
				t.Errorf("the provider's headers were lost")
			}
			goldenfile.JSON(t, strings.TrimSuffix(in, ".hub.json")+".gemini.json", body, *update)
			var resp genai.GenerateContentResponse
			if err := json.Unmarshal(body, &resp); err != nil || len(resp.Candidates) == 0 {
				t.Fatalf("the Gen AI SDK cannot read it: %v", err)
			}
		})
	}
}

// streamError is the failure the router reports in the stream fixtures.
var streamError = &llm.Error{Status: 502, Kind: llm.KindConnect, Code: "upstream_error", Type: "upstream_error",
	Message: `target "oa": connection reset by peer`}

// runStream encodes a hub stream fixture fed in pieces of size piece; a
// line `#!error` ends the hub bytes there with the router's StreamError.
func runStream(t testing.TB, fixture []byte, piece int) []byte {
	body, _, failed := bytes.Cut(fixture, []byte("#!error"))
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	enc := newEncoder(w, chatRequest(nil, true))
	enc.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	enc.WriteHeader(http.StatusOK)
	if piece <= 0 {
		piece = len(body)
	}
	for rest := body; len(rest) > 0; {
		n := min(piece, len(rest))
		if _, err := enc.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		if err := enc.Flush(); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if failed {
		enc.StreamError(streamError)
	} else if err := enc.Finish(); err != nil {
		t.Fatal(err)
	}
	if w.Committed() {
		if ct := rec.Header().Get("Content-Type"); ct != stream.ContentType {
			t.Errorf("Content-Type %q", ct)
		}
		if rec.Header().Get("Content-Length") != "" {
			t.Errorf("a Content-Length was left on a stream")
		}
	}
	return rec.Body.Bytes()
}

// Streams, hub → Gemini: testdata/stream/X.hub.sse → X.gemini.sse, the
// same whether the hub bytes come whole, a byte at a time or in odd
// pieces; every event is a GenerateContentResponse the SDK reads (or
// Google's error object).
func TestGoldenStreams(t *testing.T) {
	for _, in := range goldenfile.Cases(t, "stream/*.hub.sse") {
		name := strings.TrimSuffix(filepath.Base(in), ".hub.sse")
		t.Run(name, func(t *testing.T) {
			fixture := goldenfile.Read(t, in)
			out := runStream(t, fixture, 0)
			for _, piece := range []int{1, 7, 100} {
				if again := runStream(t, fixture, piece); !bytes.Equal(again, out) {
					t.Fatalf("fed in pieces of %d bytes:\n%s\nwhole:\n%s", piece, again, out)
				}
			}
			goldenfile.Check(t, strings.TrimSuffix(in, ".hub.sse")+".gemini.sse", out, *update)
			checkEvents(t, out)
		})
	}
}

// checkEvents checks Gemini's framing (`data: …` CRLF CRLF, nothing else)
// and that each event decodes into the SDK's types.
func checkEvents(t *testing.T, out []byte) {
	t.Helper()
	events := bytes.Split(out, []byte("\r\n\r\n"))
	if len(events[len(events)-1]) != 0 {
		t.Fatalf("the stream does not end with CRLF CRLF: %q", out)
	}
	for _, ev := range events[:len(events)-1] {
		data, ok := bytes.CutPrefix(ev, []byte("data: "))
		if !ok || bytes.ContainsAny(data, "\r\n") {
			t.Fatalf("not a Gemini event: %q", ev)
		}
		if gjson.GetBytes(data, "error.code").Exists() {
			continue
		}
		var resp genai.GenerateContentResponse
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatalf("the Gen AI SDK cannot read %s: %v", data, err)
		}
		if len(resp.Candidates) == 0 {
			t.Fatalf("an event without candidates: %s", data)
		}
	}
}

// Embeddings: testdata/embeddings/X.gemini.json → X.hub.json, and
// X.answer.hub.json → X.answer.gemini.json.
func TestGoldenEmbeddings(t *testing.T) {
	for _, in := range goldenfile.Cases(t, "embeddings/*.gemini.json") {
		if strings.HasSuffix(in, ".answer.gemini.json") {
			continue
		}
		base := strings.TrimSuffix(in, ".gemini.json")
		t.Run(filepath.Base(base), func(t *testing.T) {
			op := llm.OpEmbedContent
			if strings.HasPrefix(filepath.Base(base), "batch") {
				op = llm.OpBatchEmbedContents
			}
			req := &apis.Request{API: API{}, Op: op, HubOp: llm.OpEmbeddings, Body: goldenfile.Read(t, in), Model: "client-model"}
			hub, err := API{}.ToHub(req)
			if err != nil {
				t.Fatal(err)
			}
			goldenfile.JSON(t, base+".hub.json", hub, *update)
			rec, ferr := encode(t, req, "application/json", goldenfile.Read(t, base+".answer.hub.json"), 0)
			if ferr != nil {
				t.Fatal(ferr)
			}
			goldenfile.JSON(t, base+".answer.gemini.json", rec.Body.Bytes(), *update)
			var resp genai.EmbedContentResponse
			if op == llm.OpBatchEmbedContents {
				if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.Embeddings) != 2 {
					t.Fatalf("the Gen AI SDK cannot read it: %v", err)
				}
			}
		})
	}
}
