package providers

import (
	"io"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// PassthroughBody is an OpenAI-compatible request body: the client's bytes
// with at most two values changed (`model` and `stream_options`), read
// straight from the client's buffer without copying it.
type PassthroughBody struct {
	segs [7][]byte // at most: prefix, text, extra, middle, text, extra, tail
	n    int
	size int64
	text []byte // the quoted model, when replaced
}

var (
	includeUsageMember = []byte(`"include_usage":true`)
	includeUsageObject = []byte(`{"include_usage":true}`)
	streamOptionsTail  = []byte(`,"stream_options":{"include_usage":true}`)
	jsonTrue           = []byte(`true`)
	comma              = []byte(`,`)
)

type edit struct {
	start, end int
	text       []byte
	extra      []byte // appended after text (a separating comma)
}

// NewPassthroughBody returns body with `model` set to model (when it differs)
// and, when injectUsage is set, `stream_options.include_usage` set to true.
// Everything else — unknown fields, key order, number formats, whitespace —
// stays byte for byte. body must be a JSON object.
func NewPassthroughBody(body []byte, model string, injectUsage bool) *PassthroughBody {
	pb := &PassthroughBody{}
	src := llm.BytesString(body)
	var edits [2]edit
	ne := 0
	if m := gjson.Get(src, "model"); m.Exists() && (m.Type != gjson.String || m.Str != model) {
		pb.text = llm.AppendString(pb.text, model)
		edits[ne] = edit{start: m.Index, end: m.Index + len(m.Raw), text: pb.text}
		ne++
	}
	if injectUsage {
		if e, ok := includeUsageEdit(src); ok {
			edits[ne] = e
			ne++
		}
	}
	if ne == 2 && edits[1].start < edits[0].start {
		edits[0], edits[1] = edits[1], edits[0]
	}
	pos := 0
	for _, e := range edits[:ne] {
		pb.add(body[pos:e.start])
		pb.add(e.text)
		pb.add(e.extra)
		pos = e.end
	}
	pb.add(body[pos:])
	return pb
}

// includeUsageEdit finds where `"include_usage":true` must go.
func includeUsageEdit(src string) (edit, bool) {
	so := gjson.Get(src, "stream_options")
	switch {
	case !so.Exists():
		end := lastBrace(src)
		if end < 0 {
			return edit{}, false
		}
		return edit{start: end, end: end, text: streamOptionsTail}, true
	case so.Type == gjson.Null:
		return edit{start: so.Index, end: so.Index + len(so.Raw), text: includeUsageObject}, true
	case so.IsObject():
		iu := so.Get("include_usage")
		if iu.Exists() {
			if iu.Type == gjson.True {
				return edit{}, false
			}
			at := iu.Index // Result.Get makes nested indexes absolute
			return edit{start: at, end: at + len(iu.Raw), text: jsonTrue}, true
		}
		at := so.Index + 1
		e := edit{start: at, end: at, text: includeUsageMember}
		if hasMembers(so.Raw) {
			e.extra = comma
		}
		return e, true
	}
	return edit{}, false
}

func lastBrace(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case '}':
			return i
		case ' ', '\t', '\r', '\n':
		default:
			return -1
		}
	}
	return -1
}

func hasMembers(obj string) bool {
	for i := 1; i < len(obj)-1; i++ {
		switch obj[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return true
		}
	}
	return false
}

func (pb *PassthroughBody) add(b []byte) {
	if len(b) == 0 {
		return
	}
	pb.segs[pb.n] = b
	pb.n++
	pb.size += int64(len(b))
}

// Len is the body's length in bytes.
func (pb *PassthroughBody) Len() int64 { return pb.size }

// Reader returns a fresh reader over the body.
func (pb *PassthroughBody) Reader() io.ReadCloser {
	return &segReader{segs: pb.segs, n: pb.n}
}

// AppendTo appends the body to b (for tests and logs).
func (pb *PassthroughBody) AppendTo(b []byte) []byte {
	for _, s := range pb.segs[:pb.n] {
		b = append(b, s...)
	}
	return b
}

// Attach makes the body req's body, replayable by the transport.
func (pb *PassthroughBody) Attach(req *http.Request) {
	req.Body = pb.Reader()
	req.ContentLength = pb.size
	req.GetBody = func() (io.ReadCloser, error) { return pb.Reader(), nil }
}

// segReader reads a list of byte slices in order. It owns a copy of the
// slice headers, so readers of one body do not disturb each other.
type segReader struct {
	segs [7][]byte // at most: prefix, text, extra, middle, text, extra, tail
	i, n int
}

func (r *segReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.i < r.n {
		c := copy(p[n:], r.segs[r.i])
		n += c
		r.segs[r.i] = r.segs[r.i][c:]
		if len(r.segs[r.i]) == 0 {
			r.i++
		}
	}
	if r.i >= r.n && n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// WriteTo writes the remaining segments to w without an intermediate copy.
func (r *segReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for ; r.i < r.n; r.i++ {
		n, err := w.Write(r.segs[r.i])
		total += int64(n)
		if err != nil {
			r.segs[r.i] = r.segs[r.i][n:]
			return total, err
		}
	}
	return total, nil
}

func (r *segReader) Close() error { return nil }
