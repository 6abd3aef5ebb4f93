package anthropic

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// update rewrites the golden files: go test ./apis/anthropic -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// streamRequest is the client request behind the encoder fixtures.
const streamRequest = `{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"What is the weather like in Paris today?"}]}`

// fixtures lists testdata/<dir>/*<ext>, golden files left out.
func fixtures(t testing.TB, dir, ext string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		if !strings.Contains(p, ".golden.") {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	return out
}

// golden is the path of a fixture's golden file with suffix.
func golden(fixture, suffix string) string {
	return strings.TrimSuffix(fixture, filepath.Ext(fixture)) + suffix
}

// parse runs API.Parse on a messages body.
func parse(t testing.TB, body []byte, header http.Header) (*apis.Request, *llm.Error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/messages?beta=true", bytes.NewReader(body))
	for k, v := range header {
		r.Header[k] = v
	}
	rt, ok := API{}.Match(r.URL.Path)
	if !ok {
		t.Fatal("no match")
	}
	return API{}.Parse(r, body, rt)
}

// Messages request → hub body.
func TestToHubGolden(t *testing.T) {
	for _, path := range fixtures(t, "tohub", ".json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			req, e := parse(t, goldenfile.Read(t, path), nil)
			if e != nil {
				t.Fatal(e)
			}
			hub, e := API{}.ToHub(req)
			if e != nil {
				t.Fatal(e)
			}
			goldenfile.Check(t, golden(path, ".golden.json"), goldenfile.Indent(t, hub), *update)
		})
	}
}

// recorder is an httptest recorder that counts flushes.
type recorder struct {
	*httptest.ResponseRecorder
	flushes int
}

func (r *recorder) Flush() {
	r.flushes++
	r.ResponseRecorder.Flush()
}

// encode writes hub bytes in pieces of size n (0: at once) to a new
// encoder and finishes it; with streamErr set, the stream ends with that
// error instead.
func encode(t testing.TB, req *apis.Request, contentType string, hub []byte, n int, streamErr *llm.Error) (*recorder, error) {
	t.Helper()
	rec := &recorder{ResponseRecorder: httptest.NewRecorder()}
	w := stream.NewWriter(rec)
	enc := API{}.NewEncoder(w, req)
	enc.Header().Set("Content-Type", contentType)
	enc.Header().Set("Content-Length", "12345")
	enc.WriteHeader(http.StatusOK)
	if n <= 0 {
		n = len(hub) + 1
	}
	for len(hub) > 0 {
		k := min(n, len(hub))
		if _, err := enc.Write(hub[:k]); err != nil {
			return rec, err
		}
		hub = hub[k:]
		if err := enc.Flush(); err != nil {
			return rec, err
		}
	}
	if streamErr != nil {
		enc.StreamError(streamErr)
		return rec, nil
	}
	return rec, enc.Finish()
}

func streamReq(t testing.TB) *apis.Request {
	req, e := parse(t, []byte(streamRequest), nil)
	if e != nil {
		t.Fatal(e)
	}
	return req
}

// Hub answer → message, and → the events of a streamed request that the
// upstream answered with one JSON body.
func TestMessageGolden(t *testing.T) {
	for _, path := range fixtures(t, "message", ".json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			req := streamReq(t)
			req.Stream = false
			rec, err := encode(t, req, "application/json", goldenfile.Read(t, path), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Header().Get("Content-Length") != "" || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", rec.Header())
			}
			goldenfile.Check(t, golden(path, ".golden.json"), goldenfile.Indent(t, rec.Body.Bytes()), *update)

			req.Stream = true
			rec, err = encode(t, req, "application/json", goldenfile.Read(t, path), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkEvents(t, rec.Body.Bytes(), false)
			goldenfile.Check(t, golden(path, ".replay.golden.sse"), rec.Body.Bytes(), *update)
		})
	}
}

// Hub stream → Anthropic events, the same whether the hub bytes come at
// once or one byte at a time.
func TestStreamGolden(t *testing.T) {
	for _, path := range fixtures(t, "stream", ".sse") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var streamErr *llm.Error
			if strings.Contains(path, "error") {
				streamErr = &llm.Error{Status: 529, Kind: llm.KindStream, Type: "overloaded_error", Message: "Overloaded"}
			}
			hub := goldenfile.Read(t, path)
			rec, err := encode(t, streamReq(t), stream.ContentType, hub, 0, streamErr)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Header().Get("Content-Type") != stream.ContentType || rec.Header().Get("Content-Length") != "" || rec.flushes == 0 {
				t.Errorf("headers %v, %d flushes", rec.Header(), rec.flushes)
			}
			checkEvents(t, rec.Body.Bytes(), streamErr != nil)
			goldenfile.Check(t, golden(path, ".golden.sse"), rec.Body.Bytes(), *update)
			for _, n := range []int{1, 7} {
				split, err := encode(t, streamReq(t), stream.ContentType, hub, n, streamErr)
				if err != nil || split.Body.String() != rec.Body.String() {
					t.Fatalf("written %d bytes at a time: err %v\n%s", n, err, split.Body)
				}
			}
		})
	}
}

// checkEvents asserts that b is an Anthropic event stream in Anthropic's
// order: message_start; content blocks started at indexes 0, 1, … with
// deltas of their own type only for started blocks; message_delta then
// message_stop last (or an error event last when failed is set).
func checkEvents(t testing.TB, b []byte, failed bool) []gjson.Result {
	t.Helper()
	s := string(b)
	if !strings.HasSuffix(s, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", s)
	}
	var out []gjson.Result
	kinds := map[int64]string{}
	open := int64(-1)
	next := int64(0)
	for i, ev := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		lines := strings.Split(ev, "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
			t.Fatalf("event %d is not `event:` + `data:`: %q", i, ev)
		}
		name, data := strings.TrimPrefix(lines[0], "event: "), strings.TrimPrefix(lines[1], "data: ")
		if !json.Valid([]byte(data)) {
			t.Fatalf("event %d: invalid JSON %q", i, data)
		}
		d := gjson.Parse(data)
		if d.Get("type").Str != name {
			t.Fatalf("event %d: name %q, type %q", i, name, d.Get("type").Str)
		}
		out = append(out, d)
		idx := d.Get("index").Int()
		switch {
		case i == 0 && name != "message_start":
			t.Fatalf("first event %q", name)
		case name == "message_start" && i != 0:
			t.Fatalf("message_start at %d", i)
		case name == "content_block_start":
			if idx != next || open >= 0 {
				t.Fatalf("event %d: block %d starts (next %d, open %d)", i, idx, next, open)
			}
			kinds[idx] = d.Get("content_block.type").Str
			open, next = idx, next+1
		case name == "content_block_delta":
			want := map[string]string{"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "thinking", "input_json_delta": "tool_use"}[d.Get("delta.type").Str]
			if kinds[idx] == "" || kinds[idx] != want {
				t.Fatalf("event %d: %s delta for block %d of type %q", i, d.Get("delta.type").Str, idx, kinds[idx])
			}
		case name == "content_block_stop":
			if idx != open {
				t.Fatalf("event %d: stop %d, open %d", i, idx, open)
			}
			open = -1
		case name == "message_delta":
			if open >= 0 {
				t.Fatalf("message_delta with block %d open", open)
			}
		}
	}
	last := out[len(out)-1].Get("type").Str
	switch {
	case failed && last != "error":
		t.Fatalf("last event %q, want error", last)
	case !failed && (last != "message_stop" || out[len(out)-2].Get("type").Str != "message_delta"):
		t.Fatalf("stream ends with %q", last)
	}
	return out
}
