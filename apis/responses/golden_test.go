package responses

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// update rewrites the golden files: go test ./apis/responses -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMain(m *testing.M) {
	now = func() time.Time { return time.Unix(1700000000, 0) }
	newID = func() string { return "test" }
	os.Exit(m.Run())
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

// requestFor reads the sidecar Responses request of a fixture.
func requestFor(t testing.TB, fixture string) []byte {
	t.Helper()
	return goldenfile.Read(t, strings.TrimSuffix(fixture, filepath.Ext(fixture))+".request.json")
}

// parse parses a Responses request body as the router does.
func parse(t testing.TB, body []byte) *apis.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/responses", bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer sk-client")
	req, e := API{}.Parse(r, body, apis.Route{Op: llm.OpResponses})
	if e != nil {
		t.Fatalf("parse: %v", e)
	}
	return req
}

// Responses requests → hub bodies (or the error refusing them).
func TestGoldenToHub(t *testing.T) {
	for _, path := range fixtures(t, "request", ".json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			req := parse(t, goldenfile.Read(t, path))
			hub, e := API{}.ToHub(req)
			var got []byte
			if e != nil {
				got, _ = json.Marshal(map[string]any{"status": e.Status, "code": e.Code, "type": e.Type, "param": e.Param, "message": e.Message})
			} else {
				got = hub
			}
			goldenfile.Check(t, strings.TrimSuffix(path, ".json")+".golden.json", goldenfile.Indent(t, got), *update)
			if strings.HasPrefix(filepath.Base(path), "error_") != (e != nil) {
				t.Fatalf("error %v for fixture %s", e, path)
			}
		})
	}
}

// encode runs the encoder over hub bytes written in pieces of size n (all
// at once when n is 0), then finishes it or, with fail, ends it with
// StreamError.
func encode(t testing.TB, req *apis.Request, contentType string, hub []byte, n int, fail *llm.Error) (*httptest.ResponseRecorder, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	enc := API{}.NewEncoder(w, req)
	enc.Header().Set("Content-Type", contentType)
	enc.Header().Set("Content-Length", strconv.Itoa(len(hub)))
	enc.WriteHeader(http.StatusOK)
	if n == 0 {
		n = len(hub)
	}
	for p := hub; len(p) > 0; {
		k := min(n, len(p))
		if _, err := enc.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		if err := enc.Flush(); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	var err error
	if fail != nil {
		if !w.Committed() {
			t.Fatal("StreamError on an uncommitted response")
		}
		enc.StreamError(fail)
	} else {
		err = enc.Finish()
	}
	return rec, err
}

// midwayError is the failure of the error_* stream fixtures.
var midwayError = &llm.Error{Status: 502, Kind: llm.KindStream, Code: "overloaded_error", Type: "overloaded_error", Message: "Overloaded"}

// Hub answers → a `response` object, or its stream for a streamed
// request.
func TestGoldenAnswer(t *testing.T) {
	for _, path := range fixtures(t, "answer", ".json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			req := parse(t, requestFor(t, path))
			rec, err := encode(t, req, "application/json", goldenfile.Read(t, path), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(path, ".json")
			if req.Stream {
				checkStream(t, rec)
				goldenfile.Check(t, base+".golden.sse", rec.Body.Bytes(), *update)
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" || rec.Header().Get("Content-Length") != "" {
				t.Errorf("headers %v", rec.Header())
			}
			var r responses.Response
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatalf("the SDK cannot read the response: %v", err)
			}
			goldenfile.Check(t, base+".golden.json", goldenfile.Indent(t, rec.Body.Bytes()), *update)
		})
	}
}

// Hub streams → Responses events, the same whether the hub bytes come
// whole, one byte at a time or in odd pieces.
func TestGoldenStream(t *testing.T) {
	for _, path := range fixtures(t, "stream", ".sse") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			req := parse(t, requestFor(t, path))
			hub := goldenfile.Read(t, path)
			var fail *llm.Error
			if strings.HasPrefix(filepath.Base(path), "error_") {
				fail = midwayError
			}
			rec, err := encode(t, req, "text/event-stream", hub, 0, fail)
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(path, ".sse")
			if !req.Stream {
				goldenfile.Check(t, base+".golden.json", goldenfile.Indent(t, rec.Body.Bytes()), *update)
				return
			}
			checkStream(t, rec)
			goldenfile.Check(t, base+".golden.sse", rec.Body.Bytes(), *update)
			for _, n := range []int{1, 7, 64} {
				again, err := encode(t, req, "text/event-stream", hub, n, fail)
				if err != nil || again.Body.String() != rec.Body.String() {
					t.Fatalf("written in pieces of %d: %v\n%s", n, err, again.Body.String())
				}
			}
		})
	}
}

// checkStream asserts that a recorded answer is a well-formed Responses
// stream: `event: <type>` and one `data:` line per event, the data's type
// matching, sequence numbers 0, 1, 2, …, every event readable by the
// OpenAI SDK, and exactly one terminal event, last.
func checkStream(t testing.TB, rec *httptest.ResponseRecorder) []gjson.Result {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != stream.ContentType || rec.Header().Get("Content-Length") != "" {
		t.Fatalf("headers %v", rec.Header())
	}
	events, err := splitEvents(rec.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range events {
		if ev.Get("sequence_number").Int() != int64(i) {
			t.Fatalf("event %d has sequence_number %s", i, ev.Get("sequence_number").Raw)
		}
		var u responses.ResponseStreamEventUnion
		if err := json.Unmarshal([]byte(ev.Raw), &u); err != nil {
			t.Fatalf("the SDK cannot read event %d: %v", i, err)
		}
		terminal := isTerminal(ev.Get("type").Str)
		if terminal != (i == len(events)-1) {
			t.Fatalf("event %d (%s): the terminal event must come once, last", i, ev.Get("type").Str)
		}
	}
	return events
}

func isTerminal(typ string) bool {
	return typ == "response.completed" || typ == "response.incomplete" || typ == "response.failed"
}

// splitEvents parses a Responses stream as written by the encoder.
func splitEvents(s string) ([]gjson.Result, error) {
	if !strings.HasSuffix(s, "\n\n") {
		return nil, fmt.Errorf("the stream does not end with a blank line: %q", s)
	}
	var out []gjson.Result
	for _, ev := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(ev, "\n")
		name, ok1 := strings.CutPrefix(name, "event: ")
		data, ok2 := strings.CutPrefix(data, "data: ")
		if !ok || !ok1 || !ok2 || strings.Contains(data, "\n") || !json.Valid([]byte(data)) {
			return nil, fmt.Errorf("not an event line and one JSON data line: %q", ev)
		}
		d := gjson.Parse(data)
		if d.Get("type").Str != name {
			return nil, fmt.Errorf("event %q carries type %q", name, d.Get("type").Str)
		}
		out = append(out, d)
	}
	return out, nil
}
