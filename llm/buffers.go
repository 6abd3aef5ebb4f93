package llm

import (
	"bytes"
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

// ReadAll reads r into a pooled buffer, with a size hint (e.g. a
// Content-Length; -1 when unknown).
func ReadAll(r io.Reader, hint int64) (*bytes.Buffer, error) {
	buf := GetBuffer()
	if hint > 0 && hint < 64<<20 {
		buf.Grow(int(hint))
	}
	_, err := buf.ReadFrom(r)
	if err != nil {
		PutBuffer(buf)
		return nil, err
	}
	return buf, nil
}

// errorBodyLimit caps how much of an upstream error body is read.
const errorBodyLimit = 1 << 20

// ReadErrorBody reads at most 1 MiB of an error response body.
func ReadErrorBody(r io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, errorBodyLimit))
	return b
}
