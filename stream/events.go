package stream

import (
	"io"
	"mime"
	"net/http"
	"sync"
)

// ContentType is the media type of an event stream.
const ContentType = "text/event-stream"

var (
	eventPrefix = []byte("event: ")
	dataPrefix  = []byte("data: ")
	eventEnd    = []byte("\n\n")
)

var eventBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// WriteData writes one unnamed `data:` event holding data (which must not
// contain a newline, as JSON produced by encoding/json or sjson never does)
// in a single Write call, so the event reaches the client whole.
func WriteData(w io.Writer, data []byte) error {
	return WriteEvent(w, "", data)
}

// WriteEvent writes one event, `event: <name>` (left out when name is
// empty) and `data: <data>`, in a single Write call. data must not contain a
// newline.
func WriteEvent(w io.Writer, name string, data []byte) error {
	bp := eventBufPool.Get().(*[]byte)
	b := AppendEvent((*bp)[:0], name, data)
	_, err := w.Write(b)
	*bp = b
	eventBufPool.Put(bp)
	return err
}

// AppendEvent appends one event to b, as WriteEvent writes it.
func AppendEvent(b []byte, name string, data []byte) []byte {
	if name != "" {
		b = append(b, eventPrefix...)
		b = append(b, name...)
		b = append(b, '\n')
	}
	b = append(b, dataPrefix...)
	b = append(b, data...)
	return append(b, eventEnd...)
}

// IsEventStream reports whether headers announce Server-Sent Events.
func IsEventStream(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == ContentType {
		return true
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == ContentType
}
