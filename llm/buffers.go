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
	if err := ReadBounded(buf, r, hint, max); err != nil {
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

// chunkSize is the piece in which a body of unknown length is read.
const chunkSize = 64 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// ReadBounded reads body into buf, stopping with ErrTooLarge as soon as it
// holds more than max bytes (the rest is never read). With a known size the
// buffer is allocated once. Without one (chunked), what does not fit in the
// pooled buffer's spare room is read into a chain of pooled chunks and
// joined once at the end: the body is never grown by doubling, and memory
// peaks at twice its size only while it is joined.
func ReadBounded(buf *bytes.Buffer, body io.Reader, size, max int64) error {
	if size > 0 {
		buf.Grow(int(size) + 1) // +1: reading the EOF needs no growth
	}
	if buf.Available() == 0 {
		buf.Grow(512)
	}
	// Fill the buffer's own room first.
	for buf.Available() > 0 {
		free := buf.AvailableBuffer()
		free = free[:cap(free)]
		if room := max + 1 - int64(buf.Len()); int64(len(free)) > room {
			free = free[:room]
		}
		n, err := body.Read(free)
		buf.Write(free[:n]) // the buffer's own spare room: no copy
		if int64(buf.Len()) > max {
			return ErrTooLarge
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	// Then a chain of chunks.
	var chunks []*[]byte
	defer func() {
		for _, c := range chunks {
			chunkPool.Put(c)
		}
	}()
	total := int64(buf.Len())
	last := 0 // bytes used in the last chunk
	for {
		if len(chunks) == 0 || last == chunkSize {
			chunks = append(chunks, chunkPool.Get().(*[]byte))
			last = 0
		}
		c := (*chunks[len(chunks)-1])[last:]
		if room := max + 1 - total; int64(len(c)) > room {
			c = c[:room]
		}
		n, err := body.Read(c)
		last += n
		total += int64(n)
		if total > max {
			return ErrTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	joined := make([]byte, 0, total)
	joined = append(joined, buf.Bytes()...)
	for i, c := range chunks {
		if i == len(chunks)-1 {
			joined = append(joined, (*c)[:last]...)
		} else {
			joined = append(joined, *c...)
		}
	}
	*buf = *bytes.NewBuffer(joined)
	return nil
}
