package llmrouter

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// request is a client request, read and checked once and shared by all of
// its attempts.
type request struct {
	*apis.Request
	forceTarget string // X-LLM-Target or ?proxy=
	mem         *bodyMemory
	memory      bodyMemory // mem points here: one allocation for both
}

// readRequest reads the body, at most maxBody bytes, checks that it is one
// JSON object nested at most llm.MaxDepth levels (unless it is an upload
// the route takes, see apis.Route.Form), and lets the API parse it. The
// caller must call release.
func readRequest(r *http.Request, api apis.API, rt apis.Route, maxBody int64) (*request, *llm.Error) {
	if r.ContentLength > maxBody {
		return nil, errTooLarge(maxBody)
	}
	buf := llm.GetBuffer()
	if err := readBody(buf, r.Body, r.ContentLength, maxBody); err != nil {
		llm.PutBuffer(buf)
		switch {
		case err == errBodyTooLarge:
			return nil, errTooLarge(maxBody)
		case isTimeout(err):
			return nil, errReadTimeout()
		}
		return nil, apis.Invalid("", "reading the request body: %v", err)
	}
	req := &request{}
	mem := &req.memory
	mem.buf = buf
	mem.refs.Store(1)
	body := buf.Bytes()
	// An upload (multipart/form-data) is the API's to read: no JSON
	// checks, no `models` list.
	form := rt.Form && llm.IsForm(r.Header.Get("Content-Type"))
	if !form {
		if e := checkBody(body); e != nil {
			mem.release()
			return nil, e
		}
	}
	in, e := api.Parse(r, body, rt)
	if e != nil {
		mem.release()
		return nil, e
	}
	if !form {
		if e := takeModels(in); e != nil {
			mem.release()
			return nil, e
		}
	}
	req.Request, req.mem = in, mem
	req.forceTarget = r.Header.Get("X-LLM-Target")
	if req.forceTarget == "" && strings.Contains(r.URL.RawQuery, "proxy=") {
		req.forceTarget = r.URL.Query().Get("proxy")
	}
	return req, nil
}

// checkBody refuses what is not one JSON object nested at most
// llm.MaxDepth levels deep.
func checkBody(body []byte) *llm.Error {
	i := 0
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n') {
		i++
	}
	if i == len(body) {
		return apis.Invalid("", "the request body is empty; expected a JSON object")
	}
	switch err := llm.CheckJSON(body, llm.MaxDepth); err {
	case nil:
	case llm.ErrTooDeep:
		return apis.Invalid("", "the request body is nested more than %d levels deep", llm.MaxDepth)
	default:
		return apis.Invalid("", "the request body is not valid JSON")
	}
	if body[i] != '{' {
		return apis.Invalid("", "the request body must be a JSON object")
	}
	return nil
}

// release lets the body's memory go back to the pool once no upstream
// request body built from it is open any more.
func (req *request) release() {
	if req.mem != nil {
		req.mem.release()
		req.mem = nil
	}
}

// maxClientModels bounds the body's `models` list.
const maxClientModels = 16

var modelsKey = []byte(`"models"`)

// takeModels moves a top-level `models` array (SPEC 13) from the body into
// req.Models: the body sent upstream is the client's without that member,
// spliced out once; everything else stays byte for byte.
func takeModels(req *apis.Request) *llm.Error {
	if !bytes.Contains(req.Body, modelsKey) {
		return nil
	}
	var key, val gjson.Result
	gjson.ParseBytes(req.Body).ForEach(func(k, v gjson.Result) bool {
		if k.Str == "models" {
			key, val = k, v
			return false
		}
		return true
	})
	if !key.Exists() {
		return nil
	}
	if !val.IsArray() {
		return apis.Invalid("models", "'models' must be an array of model names")
	}
	var bad *llm.Error
	val.ForEach(func(_, m gjson.Result) bool {
		if m.Type != gjson.String {
			bad = apis.Invalid("models", "'models' must be an array of model names")
			return false
		}
		if e := apis.CheckModel(m.Str); e != nil {
			bad = apis.Invalid("models", "'models': %s", e.Message)
			return false
		}
		if len(req.Models) == maxClientModels {
			bad = apis.Invalid("models", "'models' lists more than %d models", maxClientModels)
			return false
		}
		req.Models = append(req.Models, strings.Clone(m.Str))
		return true
	})
	if bad != nil {
		return bad
	}
	req.Body = removeMember(req.Body, key.Index, val.Index+len(val.Raw))
	return nil
}

// removeMember returns a copy of the JSON object body without the member
// spanning [start, end) (key to value), and the comma that separated it.
func removeMember(body []byte, start, end int) []byte {
	// Take the comma after the member, or else the one before it.
	after := end
	for after < len(body) && isSpace(body[after]) {
		after++
	}
	if after < len(body) && body[after] == ',' {
		end = after + 1
	} else {
		before := start - 1
		for before >= 0 && isSpace(body[before]) {
			before--
		}
		if before >= 0 && body[before] == ',' {
			start = before
		}
	}
	out := make([]byte, 0, len(body)-(end-start))
	out = append(out, body[:start]...)
	return append(out, body[end:]...)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

var errBodyTooLarge = llm.ErrTooLarge

// readBody reads body into buf, at most max bytes (see llm.ReadBounded).
func readBody(buf *bytes.Buffer, body io.Reader, size, max int64) error {
	return llm.ReadBounded(buf, body, size, max)
}

// isTimeout reports whether reading the body ran into the server's read
// timeout.
func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errReadDeadline)
}

var errReadDeadline = errors.New("i/o timeout")

// bodyMemory owns the pooled buffer of a request's body. Its reference count starts at one for the request; every
// upstream request body made from it adds one until the transport closes
// it. The buffer goes back to the pool when the count drops to zero, so
// another request's bytes can never go out on this one's connection, what
// ever a provider does.
type bodyMemory struct {
	refs atomic.Int32
	buf  *bytes.Buffer
}

func (m *bodyMemory) release() {
	if m.refs.Add(-1) == 0 {
		llm.PutBuffer(m.buf)
	}
}

// track makes req's body (and the bodies the transport gets from GetBody
// for a retry) hold a reference to m until closed.
func (m *bodyMemory) track(req *http.Request) {
	if req.Body == nil || req.Body == http.NoBody {
		return
	}
	req.Body = m.hold(req.Body)
	if get := req.GetBody; get != nil {
		req.GetBody = func() (io.ReadCloser, error) {
			rc, err := get()
			if err != nil || rc == nil {
				return rc, err
			}
			return m.hold(rc), nil
		}
	}
}

func (m *bodyMemory) hold(rc io.ReadCloser) io.ReadCloser {
	m.refs.Add(1)
	return &heldBody{ReadCloser: rc, mem: m}
}

// heldBody is an upstream request body that keeps the client's buffers
// alive until it is closed.
type heldBody struct {
	io.ReadCloser
	mem    *bodyMemory
	closed atomic.Bool
}

func (b *heldBody) Close() error {
	err := b.ReadCloser.Close()
	if b.closed.CompareAndSwap(false, true) {
		b.mem.release()
	}
	return err
}

// WriteTo keeps the inner reader's fast path (no intermediate copy).
func (b *heldBody) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := b.ReadCloser.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	return io.Copy(w, b.ReadCloser)
}
