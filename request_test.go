package llmrouter

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

func TestReadRequest(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ep         llm.Op
		status     int
		code       string
	}{
		{"ok", `{"model":"m","messages":[]}`, llm.OpChat, 0, ""},
		{"not json", `{"model":`, llm.OpChat, 400, "invalid_request"},
		{"empty", ``, llm.OpChat, 400, "invalid_request"},
		{"array", `[{"model":"m"}]`, llm.OpChat, 400, "invalid_request"},
		{"string", `"hello"`, llm.OpChat, 400, "invalid_request"},
		{"no model", `{"messages":[]}`, llm.OpChat, 400, "invalid_request"},
		{"model number", `{"model":4,"messages":[]}`, llm.OpChat, 400, "invalid_request"},
		{"model empty", `{"model":"","messages":[]}`, llm.OpChat, 400, "invalid_request"},
		{"model twice", `{"model":"a","messages":[],"model":"b"}`, llm.OpChat, 400, "invalid_request"},
		{"no messages", `{"model":"m"}`, llm.OpChat, 400, "invalid_request"},
		{"messages not array", `{"model":"m","messages":"hi"}`, llm.OpChat, 400, "invalid_request"},
		{"stream not bool", `{"model":"m","messages":[],"stream":"yes"}`, llm.OpChat, 400, "invalid_request"},
		{"embeddings need no messages", `{"model":"m","input":"x"}`, llm.OpEmbeddings, 0, ""},
		{"too large", `{"model":"m","messages":[],"pad":"` + strings.Repeat("x", 200) + `"}`, llm.OpChat, 413, "request_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(tc.body))
			req, e := readRequest(r, chatAPI, apis.Route{Op: tc.ep}, 128)
			if tc.status == 0 {
				if e != nil {
					t.Fatal(e)
				}
				req.release()
				return
			}
			if e == nil || e.Status != tc.status || e.Code != tc.code {
				t.Fatalf("got %v, want %d %s", e, tc.status, tc.code)
			}
		})
	}
}

// A declared Content-Length over the limit is refused before any reading.
func TestReadRequestTooLargeUnread(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", &neverRead{t})
	r.ContentLength = 1 << 30
	if _, e := readRequest(r, chatAPI, chatRoute, 1<<20); e == nil || e.Status != 413 {
		t.Fatalf("got %v", e)
	}
}

type neverRead struct{ t *testing.T }

func (n *neverRead) Read([]byte) (int, error) {
	n.t.Fatal("body read")
	return 0, nil
}

func TestRequestFields(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(
		`{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true},"user":"u1"}`))
	r.Header.Set("Authorization", "Bearer sk-client")
	r.Header.Set("X-LLM-Target", "t")
	req, e := readRequest(r, chatAPI, chatRoute, 1<<20)
	if e != nil {
		t.Fatal(e)
	}
	defer req.release()
	if req.Model != "m" || !req.Stream || !req.IncludeUsage || req.User != "u1" || req.ClientKey != "sk-client" || req.forceTarget != "t" {
		t.Fatalf("%+v", req)
	}
}

// The limit is exact, whatever the reads look like: max bytes pass, one more
// is refused, and the reader is not read past the limit.
func TestReadBodyLimit(t *testing.T) {
	const max = 1000
	for _, size := range []int{0, 1, 511, 512, 999, 1000, 1001, 5000} {
		body := strings.Repeat("x", size)
		src := &countingReader{r: iotest.OneByteReader(strings.NewReader(body))}
		buf := llm.GetBuffer()
		err := readBody(buf, src, -1, max)
		switch {
		case size <= max && (err != nil || buf.String() != body):
			t.Errorf("size %d: err %v, read %d bytes", size, err, buf.Len())
		case size > max && err != errBodyTooLarge:
			t.Errorf("size %d: err %v", size, err)
		case src.n > max+1:
			t.Errorf("size %d: read %d bytes past a limit of %d", size, src.n, max)
		}
		llm.PutBuffer(buf)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
