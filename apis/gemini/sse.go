package gemini

import "bytes"

// sseParser splits hub bytes, written in pieces of any size, into the data
// of their events: `data:` lines joined with "\n", LF or CRLF line endings,
// comments and other fields ignored.
type sseParser struct {
	buf     []byte // bytes after the last complete line
	data    []byte // data of the event being read
	hasData bool
}

// feed parses p and calls emit with the data of every event it completes.
// The data is valid only during the call.
func (s *sseParser) feed(p []byte, emit func([]byte) error) error {
	src := p
	if len(s.buf) > 0 {
		s.buf = append(s.buf, p...)
		src = s.buf
	}
	i := 0
	var err error
	for err == nil {
		j := bytes.IndexByte(src[i:], '\n')
		if j < 0 {
			break
		}
		err = s.line(src[i:i+j], emit)
		i += j + 1
	}
	// Keep the incomplete last line (copied: p is the caller's).
	rest := src[i:]
	if len(s.buf) > 0 {
		s.buf = s.buf[:copy(s.buf, rest)]
	} else {
		s.buf = append(s.buf, rest...)
	}
	return err
}

// end completes an event the writer left without its blank line.
func (s *sseParser) end(emit func([]byte) error) error {
	if len(s.buf) > 0 {
		line := s.buf
		s.buf = s.buf[:0]
		if err := s.line(line, emit); err != nil {
			return err
		}
	}
	return s.line(nil, emit)
}

func (s *sseParser) line(line []byte, emit func([]byte) error) error {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		if !s.hasData {
			return nil
		}
		s.hasData = false
		err := emit(s.data)
		s.data = s.data[:0]
		return err
	}
	value, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return nil // a comment, event name, id or retry field
	}
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	if s.hasData {
		s.data = append(s.data, '\n')
	}
	s.data = append(s.data, value...)
	s.hasData = true
	return nil
}
