// Package stream reads and writes Server-Sent Events and manages the client
// side of one routed request: staged headers, commit tracking and flushing.
//
// It knows nothing of any API's JSON, and no API's conventions (OpenAI's
// `[DONE]` terminator belongs to the hub format, package llm): providers
// use it to read upstream event streams, inbound APIs to write their own
// events to the client.
package stream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
)

// Event is one Server-Sent Event as read from an upstream.
//
// Its slices point into the Reader's buffers and stay valid only until the
// next call to Next.
type Event struct {
	// Raw is every byte of the event as received, including the blank line
	// that ended it, so a passthrough can write it unchanged.
	Raw []byte
	// Name is the value of the `event:` field, empty when absent.
	Name []byte
	// Data is the value of the `data:` fields, joined with "\n" when the
	// event had several.
	Data []byte
	// HasData reports whether the event had at least one `data:` field; an
	// event without one is a comment or keep-alive.
	HasData bool
}

// readerBufSize is the bufio buffer of a Reader; longer lines are assembled
// in the line buffer, so there is no limit on line length.
const readerBufSize = 16 << 10

var bufioPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readerBufSize) }}

// Reader splits an upstream body into events. It handles `:` comments,
// CRLF and LF line endings, multi-line `data:` fields, and lines of any
// length. It is not safe for concurrent use.
type Reader struct {
	max  int // longest event, 0 = unbounded
	br   *bufio.Reader
	raw  []byte // bytes of the current event
	data []byte // joined data lines when there is more than one
	line []byte // assembles a line longer than the bufio buffer
	ev   Event
	err  error
}

// ErrEventTooLarge is returned by Next for an event longer than the
// Reader's limit.
var ErrEventTooLarge = errors.New("an event of the upstream stream is larger than max_response_body")

// NewReader returns a Reader over r that refuses events longer than max
// bytes (max <= 0: no limit). Call Release when done with it so its buffers
// are reused.
func NewReader(r io.Reader, max int64) *Reader {
	br := bufioPool.Get().(*bufio.Reader)
	br.Reset(r)
	rd := &Reader{br: br}
	if max > 0 && max < int64(^uint(0)>>1) {
		rd.max = int(max)
	}
	return rd
}

// Release returns the Reader's buffers to their pool. The Reader and any
// Event it returned must not be used afterwards.
func (r *Reader) Release() {
	if r.br != nil {
		r.br.Reset(nil)
		bufioPool.Put(r.br)
		r.br = nil
	}
}

// Buffered reports how many bytes are already read from the upstream but not
// yet returned as events. A relay flushes the client when it is zero, so
// bursts are written together and a lone event is flushed at once.
func (r *Reader) Buffered() int {
	if r.br == nil {
		return 0
	}
	return r.br.Buffered()
}

// Next returns the next event. At the end of the input it returns io.EOF; an
// event cut off by the end of the input (no blank line after it) is still
// returned first, its Raw completed with the missing line ending. Any other error is the upstream's read error, with
// io.ErrUnexpectedEOF for a connection that ended in the middle of an event.
func (r *Reader) Next() (*Event, error) {
	if r.err != nil {
		return nil, r.err
	}
	r.raw = r.raw[:0]
	r.data = r.data[:0]
	r.ev = Event{}
	var dataStart, dataEnd, nameStart, nameEnd, dataLines int
	for {
		line, err := r.readLine()
		if err != nil {
			r.err = err
			if err != io.EOF || len(r.raw) == 0 {
				return nil, err
			}
			// The upstream closed without the blank line that ends an
			// event: hand out what there is, completed with that blank line
			// so that a relay passes on a whole event; the next call
			// returns EOF.
			if r.raw[len(r.raw)-1] != '\n' {
				r.raw = append(r.raw, '\n')
			}
			r.raw = append(r.raw, '\n')
			break
		}
		start := len(r.raw)
		if r.max > 0 && start+len(line) > r.max {
			r.err = ErrEventTooLarge
			return nil, r.err
		}
		r.raw = append(r.raw, line...)
		content := trimEOL(r.raw[start:])
		if len(content) == 0 {
			if start == 0 {
				// Blank lines between events belong to no event.
				r.raw = r.raw[:0]
				continue
			}
			break
		}
		field, value := splitField(content)
		valueStart := start + (len(content) - len(value))
		switch string(field) {
		case "data":
			dataLines++
			if dataLines == 1 {
				dataStart, dataEnd = valueStart, valueStart+len(value)
				break
			}
			if dataLines == 2 {
				r.data = append(r.data[:0], r.raw[dataStart:dataEnd]...)
			}
			r.data = append(r.data, '\n')
			r.data = append(r.data, value...)
		case "event":
			nameStart, nameEnd = valueStart, valueStart+len(value)
		}
	}
	r.ev.Raw = r.raw
	r.ev.Name = r.raw[nameStart:nameEnd]
	r.ev.HasData = dataLines > 0
	if dataLines > 1 {
		r.ev.Data = r.data
	} else {
		r.ev.Data = r.raw[dataStart:dataEnd]
	}
	return &r.ev, nil
}

// readLine returns the next line including its line ending; the slice is
// valid until the next read. The last line of the input may lack an ending.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == nil {
		return line, nil
	}
	if err != bufio.ErrBufferFull {
		if len(line) > 0 && err == io.EOF {
			return line, nil
		}
		return nil, err
	}
	r.line = append(r.line[:0], line...)
	for {
		if r.max > 0 && len(r.raw)+len(r.line) > r.max {
			return nil, ErrEventTooLarge
		}
		line, err = r.br.ReadSlice('\n')
		r.line = append(r.line, line...)
		switch {
		case err == nil:
			return r.line, nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(r.line) > 0:
			return r.line, nil
		default:
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// splitField splits "field: value" as the SSE spec says: one space after the
// colon is dropped; a line starting with ':' is a comment (empty field).
func splitField(line []byte) (field, value []byte) {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return line, nil
	}
	field, value = line[:i], line[i+1:]
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	return field, value
}
