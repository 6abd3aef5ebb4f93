package llm

import (
	"bytes"
	"io"
)

// The hub stream's terminator: OpenAI's `data: [DONE]` event.
var (
	doneData  = []byte("[DONE]")
	doneEvent = []byte("data: [DONE]\n\n")
)

// IsDone reports whether an event's data is the hub stream's `[DONE]`.
func IsDone(data []byte) bool { return bytes.Equal(data, doneData) }

// WriteDone writes the hub stream's `data: [DONE]` terminator.
func WriteDone(w io.Writer) error {
	_, err := w.Write(doneEvent)
	return err
}

// AppendDone appends the hub stream's terminator to b.
func AppendDone(b []byte) []byte { return append(b, doneEvent...) }
