package llm

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// GetBuffer returns an empty buffer from a pool; give it back with PutBuffer.
func GetBuffer() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

// maxPooledBuffer keeps one huge response from pinning its memory forever.
const maxPooledBuffer = 4 << 20

// PutBuffer returns buf to the pool.
func PutBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledBuffer {
		return
	}
	buf.Reset()
	bufPool.Put(buf)
}

// ErrTooLarge is returned when an upstream answer, or one event of its
// stream, is larger than the target's max_response_body.
var ErrTooLarge = errors.New("the upstream answer is larger than max_response_body")

// DefaultMaxResponseBody is max_response_body's default.
const DefaultMaxResponseBody = 64 << 20

// ReadAll reads r into a pooled buffer, with a size hint (e.g. a
// Content-Length; -1 when unknown), failing with ErrTooLarge as soon as it
// holds more than max bytes (max <= 0: DefaultMaxResponseBody).
func ReadAll(r io.Reader, hint, max int64) (*bytes.Buffer, error) {
	if max <= 0 {
		max = DefaultMaxResponseBody
	}
	if hint > max {
		return nil, ErrTooLarge
	}
	buf := GetBuffer()
	if hint > 0 {
		buf.Grow(int(hint) + 1)
	}
	// bytes.Buffer.ReadFrom, bounded without an io.LimitReader.
	for {
		if buf.Available() < 512 {
			buf.Grow(512)
		}
		free := buf.AvailableBuffer()
		free = free[:cap(free)]
		if room := max + 1 - int64(buf.Len()); int64(len(free)) > room {
			free = free[:room]
		}
		n, err := r.Read(free)
		buf.Write(free[:n]) // the buffer's own spare room: no copy
		if int64(buf.Len()) > max {
			PutBuffer(buf)
			return nil, ErrTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			PutBuffer(buf)
			return nil, err
		}
	}
}

// errorBodyLimit caps how much of an upstream error body is read.
const errorBodyLimit = 1 << 20

// ReadErrorBody reads at most 1 MiB of an error response body.
func ReadErrorBody(r io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, errorBodyLimit))
	return b
}
