package stream

import (
	"io"
	"sync"
)

// ContentType is the media type of an event stream.
const ContentType = "text/event-stream"

var (
	dataPrefix = []byte("data: ")
	eventEnd   = []byte("\n\n")
	doneEvent  = []byte("data: [DONE]\n\n")
)

var eventBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// WriteData writes one `data:` event holding data (which must not contain a
// newline, as JSON produced by encoding/json or sjson never does) in a single
// Write call, so the event reaches the client whole.
func WriteData(w io.Writer, data []byte) error {
	bp := eventBufPool.Get().(*[]byte)
	b := append((*bp)[:0], dataPrefix...)
	b = append(b, data...)
	b = append(b, eventEnd...)
	_, err := w.Write(b)
	*bp = b
	eventBufPool.Put(bp)
	return err
}

// WriteDone writes OpenAI's `data: [DONE]` terminator.
func WriteDone(w io.Writer) error {
	_, err := w.Write(doneEvent)
	return err
}
