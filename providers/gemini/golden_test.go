package gemini

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedNow is the clock of every test, so `created` is stable.
var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestMain(m *testing.M) {
	now = func() time.Time { return fixedNow }
	randomHex = deterministicHex
	os.Exit(m.Run())
}

var hexCounter uint64

// deterministicHex counts instead of drawing random bytes; resetIDs starts
// it again for each golden case.
func deterministicHex(n int) string {
	hexCounter++
	return fmt.Sprintf("%0*x", 2*n, hexCounter)
}

func resetIDs() { hexCounter = 0 }

func upstream() *llm.Upstream {
	return &llm.Upstream{Name: "gem", BaseURL: DefaultBaseURL, APIKey: "AIza-test-key", APIVersion: DefaultAPIVersion}
}

func chatCall(body []byte, stream, includeUsage bool) *llm.Call {
	return &llm.Call{
		Op: llm.OpChat, Body: body, ClientModel: "client-model",
		Model: "gemini-2.0-flash", Stream: stream, IncludeUsage: includeUsage, Upstream: upstream(),
	}
}

// Request translation, OpenAI → Gemini: testdata/request/X.openai.json →
// X.gemini.json.
func TestGoldenRequests(t *testing.T) {
	for _, in := range goldenfile.Cases(t, "request/*.openai.json") {
		name := strings.TrimSuffix(filepath.Base(in), ".openai.json")
		t.Run(name, func(t *testing.T) {
			resetIDs()
			got, err := translateChat(nil, chatCall(goldenfile.Read(t, in), false, false))
			if err != nil {
				t.Fatal(err)
			}
			goldenfile.JSON(t, strings.TrimSuffix(in, ".openai.json")+".gemini.json", got, *update)
		})
	}
}

// Response translation, Gemini → OpenAI: testdata/response/X.gemini.json →
// X.openai.json, through WriteResponse; the usage returned is the one in
// the body.
func TestGoldenResponses(t *testing.T) {
	for _, in := range goldenfile.Cases(t, "response/*.gemini.json") {
		name := strings.TrimSuffix(filepath.Base(in), ".gemini.json")
		t.Run(name, func(t *testing.T) {
			resetIDs()
			rec := httptest.NewRecorder()
			c := chatCall([]byte(`{"model":"m","messages":[]}`), false, false)
			usage, err := Provider{}.WriteResponse(stream.NewWriter(rec), jsonResponse(goldenfile.Read(t, in)), c)
			if err != nil {
				t.Fatal(err)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			body := rec.Body.Bytes()
			goldenfile.JSON(t, strings.TrimSuffix(in, ".gemini.json")+".openai.json", body, *update)
			var doc struct {
				Usage struct {
					Prompt     int64 `json:"prompt_tokens"`
					Completion int64 `json:"completion_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			if usage.PromptTokens != doc.Usage.Prompt || usage.CompletionTokens != doc.Usage.Completion {
				t.Errorf("returned usage %+v, body says %+v", usage, doc.Usage)
			}
		})
	}
}

// streamOptions are the client's stream options per stream fixture;
// include_usage is on unless listed here.
var noIncludeUsage = map[string]bool{"text_no_usage": true}

// Stream translation, Gemini → OpenAI: testdata/stream/X.gemini.sse →
// X.openai.sse: what the client receives, then `# error:` (the error
// returned to the router, which writes the SSE error event) and `# usage:`
// lines.
func TestGoldenStreams(t *testing.T) {
	for _, in := range goldenfile.Cases(t, "stream/*.gemini.sse") {
		name := strings.TrimSuffix(filepath.Base(in), ".gemini.sse")
		t.Run(name, func(t *testing.T) {
			resetIDs()
			out, _, _ := runStream(t, goldenfile.Read(t, in), !noIncludeUsage[name])
			goldenfile.Check(t, strings.TrimSuffix(in, ".gemini.sse")+".openai.sse", out, *update)
		})
	}
}

// runStream translates an upstream SSE body and returns the client's bytes
// followed by the `# error:` and `# usage:` lines.
func runStream(t testing.TB, body []byte, includeUsage bool) ([]byte, llm.Usage, error) {
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	c := chatCall([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`), true, includeUsage)
	usage, err := Provider{}.WriteResponse(w, sseResponse(body), c)
	out := append([]byte(nil), rec.Body.Bytes()...)
	if w.Committed() {
		if ct := rec.Header().Get("Content-Type"); ct != stream.ContentType {
			t.Errorf("Content-Type %q", ct)
		}
	}
	switch e := err.(type) {
	case nil:
		out = append(out, "# error: none\n"...)
	case *llm.Error:
		out = fmt.Appendf(out, "# error: kind=%d status=%d type=%s code=%s message=%q\n", e.Kind, e.Status, e.Type, e.Code, e.Message)
	default:
		out = fmt.Appendf(out, "# error: %v\n", err)
	}
	out = fmt.Appendf(out, "# usage: prompt=%d completion=%d\n", usage.PromptTokens, usage.CompletionTokens)
	return out, usage, err
}

func jsonResponse(body []byte) *http.Response {
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
}

func sseResponse(body []byte) *http.Response {
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: -1,
	}
}

// Embeddings: testdata/embeddings/X.openai.json → X.gemini.json (request)
// and X.response.gemini.json → X.response.openai.json.
func TestGoldenEmbeddings(t *testing.T) {
	for _, in := range goldenfile.Cases(t, "embeddings/*.openai.json") {
		if strings.HasSuffix(in, ".response.openai.json") {
			continue
		}
		base := strings.TrimSuffix(in, ".openai.json")
		t.Run(filepath.Base(base), func(t *testing.T) {
			body := goldenfile.Read(t, in)
			c := &llm.Call{Op: llm.OpEmbeddings, Body: body, Model: modelOf(t, body), Upstream: upstream()}
			req, err := translateEmbeddings(nil, c)
			if err != nil {
				t.Fatal(err)
			}
			goldenfile.JSON(t, base+".gemini.json", req, *update)
			rec := httptest.NewRecorder()
			usage, werr := Provider{}.WriteResponse(stream.NewWriter(rec), jsonResponse(goldenfile.Read(t, base+".response.gemini.json")), c)
			if werr != nil {
				t.Fatal(werr)
			}
			goldenfile.JSON(t, base+".response.openai.json", rec.Body.Bytes(), *update)
			if usage.PromptTokens <= 0 || usage.CompletionTokens != 0 {
				t.Errorf("usage %+v", usage)
			}
		})
	}
}

func modelOf(t *testing.T, body []byte) string {
	var v struct{ Model string }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Model
}
