package anthropic

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

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// update rewrites the golden files: go test ./providers/anthropic -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testModel is the upstream model of every test call.
const testModel = "claude-sonnet-4-5"

func TestMain(m *testing.M) {
	now = func() time.Time { return time.Unix(1700000000, 0) }
	os.Exit(m.Run())
}

// callFor is the call a router would make for a client body: the stream
// flags are read from it.
func callFor(body []byte) *llm.Call {
	return &llm.Call{
		Op:           llm.OpChat,
		Body:         body,
		ClientModel:  gjson.GetBytes(body, "model").String(),
		Model:        testModel,
		Stream:       gjson.GetBytes(body, "stream").Bool(),
		IncludeUsage: gjson.GetBytes(body, "stream_options.include_usage").Bool(),
		Upstream:     &llm.Upstream{Name: "claude", BaseURL: DefaultBaseURL, APIKey: "sk-ant-test-key"},
	}
}

// fixtures lists testdata/<dir>/*<ext>, without golden and sidecar files.
func fixtures(t testing.TB, dir, ext string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		if strings.Contains(p, ".golden.") || strings.HasSuffix(p, ".request.json") {
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	return out
}

// requestFor reads the sidecar client request of a fixture, or a default
// non-streamed one.
func requestFor(t testing.TB, fixture string) []byte {
	t.Helper()
	side := strings.TrimSuffix(fixture, filepath.Ext(fixture)) + ".request.json"
	b, err := os.ReadFile(side)
	if os.IsNotExist(err) {
		return []byte(`{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// flushRecorder is an httptest.ResponseRecorder that counts flushes and
// reports each one.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes int
	flushed chan string // the body so far, on each flush, when set
}

func newRecorder() *flushRecorder {
	return &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
}

func (r *flushRecorder) Flush() {
	r.flushes++
	r.ResponseRecorder.Flush()
	if r.flushed != nil {
		r.flushed <- r.Body.String()
	}
}

// upstreamResponse is a 2xx upstream answer with body.
func upstreamResponse(contentType string, body io.Reader) *http.Response {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {contentType}},
		Body:       io.NopCloser(body),
	}
}

// describeError renders an error for a golden trailer.
func describeError(err error) string {
	if err == nil {
		return "<nil>"
	}
	if e, ok := err.(*llm.Error); ok {
		return fmt.Sprintf("kind=%d status=%d type=%s code=%s message=%q", e.Kind, e.Status, e.Type, e.Code, e.Message)
	}
	return err.Error()
}

// checkSSE asserts that b is a valid OpenAI event stream: every event a
// single `data:` line holding a JSON object or [DONE], and [DONE] last if
// present. It returns the data payloads.
func checkSSE(t testing.TB, b []byte) []string {
	t.Helper()
	s := string(b)
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(s, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", s)
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("not a single data line: %q", ev)
		}
		if len(out) > 0 && out[len(out)-1] == "[DONE]" {
			t.Fatalf("event after [DONE]: %q", ev)
		}
		if data != "[DONE]" && (!json.Valid([]byte(data)) || data[0] != '{') {
			t.Fatalf("data is not a JSON object: %q", data)
		}
		out = append(out, data)
	}
	return out
}

// translateStream runs the stream translation of fixture-like input.
func translateStream(t testing.TB, c *llm.Call, sse []byte) (*flushRecorder, llm.Usage, error) {
	t.Helper()
	rec := newRecorder()
	w := stream.NewWriter(rec)
	u, err := writeStream(w, upstreamResponse(stream.ContentType, bytes.NewReader(sse)), c)
	return rec, u, err
}
