package llm

import (
	"bytes"
	"errors"
	"mime"
	"strings"
)

// FormPart is one part of a multipart/form-data body (RFC 7578).
type FormPart struct {
	// Name is the part's field name, the `name` parameter of its
	// Content-Disposition. It views the body (unless the name was
	// escaped), so it is valid only as long as the body is.
	Name string
	// File reports whether the part is a file upload (it has a filename).
	File bool
	// Start and End delimit the part's content in the body.
	Start, End int
}

// ErrForm is returned for a multipart/form-data body that ScanForm cannot
// read with certainty.
var ErrForm = errors.New("malformed multipart/form-data body")

// maxBoundary bounds a multipart boundary (RFC 2046 allows 70 bytes; some
// clients send more).
const maxBoundary = 256

// FormBoundary returns the boundary of a multipart/form-data Content-Type,
// or false when contentType is not one or has no usable boundary.
func FormBoundary(contentType string) (string, bool) {
	if !IsForm(contentType) {
		return "", false
	}
	_, params, err := mime.ParseMediaType(contentType)
	b := params["boundary"]
	if err != nil || b == "" || len(b) > maxBoundary {
		return "", false
	}
	return b, true
}

// IsForm reports whether a Content-Type is multipart/form-data.
func IsForm(contentType string) bool {
	const mt = "multipart/form-data"
	if len(contentType) < len(mt) || !strings.EqualFold(contentType[:len(mt)], mt) {
		return false
	}
	rest := contentType[len(mt):]
	return rest == "" || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t'
}

// ScanForm calls fn for every part of a multipart/form-data body, in
// order, until fn returns false. It reads the boundaries and the part
// headers only: contents are neither copied nor decoded, so finding a
// field after a large file costs one search for the boundary through the
// file. Delimiter lines end in CRLF or, as some clients write them (and Go's
// reader accepts), all in LF, as the first one does.
//
// It is strict where a lenient reader could see other fields than the
// upstream does: a part header block that does not end, a
// Content-Disposition whose parameters it cannot read (or that uses the
// RFC 2231 `name*` form), a boundary line that one reader would take for a
// delimiter and another for content, and a body without its closing
// delimiter are ErrForm. Parts that are not form-data, or have no name,
// are reported with an empty Name.
func ScanForm(body []byte, boundary string, fn func(FormPart) bool) error {
	if boundary == "" || len(boundary) > maxBoundary {
		return ErrForm
	}
	var buf [4 + maxBoundary]byte
	sc := formScanner{body: body}
	sc.delim = append(append(buf[:0], "\r\n--"...), boundary...)
	sc.dash = sc.delim[2:]
	// The first delimiter line: at the start, or after a preamble line.
	pos := -1
	if bytes.HasPrefix(body, sc.dash) {
		pos = 0
	}
	for from := 0; pos < 0; {
		i := bytes.Index(body[from:], sc.delim[1:]) // "\n--boundary"
		if i < 0 {
			return ErrForm
		}
		from += i + 1
		if bytes.HasPrefix(body[from+len(sc.dash):], dashes) || lineEnd(body, from+len(sc.dash)) > 0 {
			pos = from
		}
	}
	pos += len(sc.dash)
	if bytes.HasPrefix(body[pos:], dashes) {
		return ErrForm // a close delimiter first: no parts (or a preamble line to some readers)
	}
	if lineEnd(body, pos) == 1 {
		sc.delim = sc.delim[1:] // LF line ends
	}
	sc.nl = sc.delim[:len(sc.delim)-len(sc.dash)]
	for {
		ok, ambiguous := sc.delimiterEnds(pos)
		if !ok || ambiguous {
			return ErrForm
		}
		if bytes.HasPrefix(body[pos:], dashes) {
			return nil // the close delimiter; the epilogue is ignored
		}
		pos = skipLine(body, pos) // transport padding and the line end
		part, next, err := readPartHeaders(body, pos)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(body[next:], sc.dash) {
			if ok, ambiguous := sc.delimiterEnds(next + len(sc.dash)); ok || ambiguous {
				// A delimiter right after the header block, without the
				// line end that precedes every delimiter: some readers
				// take it for an empty part, others for content.
				return ErrForm
			}
		}
		end, err := sc.indexDelimiter(next)
		if end < 0 || err != nil {
			return ErrForm // no closing delimiter: a cut-off body
		}
		part.Start, part.End = next, end
		if !fn(part) {
			return nil
		}
		pos = end + len(sc.delim)
	}
}

var dashes = []byte("--")

// formScanner holds the delimiter of one body.
type formScanner struct {
	body  []byte
	delim []byte // nl + dash: what ends a part's content
	dash  []byte // "--" + boundary
	nl    []byte // the line end of the body's delimiter lines
}

// lineEnd returns the length of the optional white space and line end
// (CRLF or LF) at i, counting only the line end (1 or 2), or 0 when there
// is none.
func lineEnd(body []byte, i int) int {
	for i < len(body) && (body[i] == ' ' || body[i] == '\t') {
		i++
	}
	switch {
	case i < len(body) && body[i] == '\n':
		return 1
	case i+1 < len(body) && body[i] == '\r' && body[i+1] == '\n':
		return 2
	}
	return 0
}

// delimiterEnds tells what follows a boundary string at i: `--` (the close
// delimiter) or optional white space and the body's line end make it a
// delimiter; another character makes the boundary string part of a longer
// line, which is content. White space followed by anything else (another
// line end, say) is ambiguous: Go's reader ends the part there and then
// fails, others read on. It is refused.
func (sc *formScanner) delimiterEnds(i int) (delimiter, ambiguous bool) {
	body := sc.body
	if bytes.HasPrefix(body[i:], dashes) {
		return true, false
	}
	if n := lineEnd(body, i); n == len(sc.nl) {
		return true, false
	}
	if i >= len(body) {
		return false, true // cut off right after the boundary
	}
	c := body[i]
	return false, c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// indexDelimiter finds the next delimiter (line end and boundary) at or
// after from that ends a part, or -1; an ambiguous one is ErrForm.
func (sc *formScanner) indexDelimiter(from int) (int, error) {
	for from <= len(sc.body) {
		i := bytes.Index(sc.body[from:], sc.delim)
		if i < 0 {
			return -1, nil
		}
		at := from + i
		switch ok, ambiguous := sc.delimiterEnds(at + len(sc.delim)); {
		case ok:
			return at, nil
		case ambiguous:
			return -1, ErrForm
		}
		from = at + 1
	}
	return -1, nil
}

// skipLine returns the position after the line end at or after i (the
// caller checked that there is one).
func skipLine(body []byte, i int) int {
	j := bytes.IndexByte(body[i:], '\n')
	return i + j + 1
}

// readPartHeaders reads the header block of a part starting at i, up to
// and including its empty line, and returns what its Content-Disposition
// says and where the content starts.
func readPartHeaders(body []byte, i int) (FormPart, int, error) {
	var (
		part     FormPart
		cd       []byte // the Content-Disposition value, lines joined by reference
		cdStart  = -1
		inCD     bool
		sawCD    bool
		lineFrom = i
	)
	for {
		j := bytes.IndexByte(body[lineFrom:], '\n')
		if j < 0 {
			return part, 0, ErrForm
		}
		line := body[lineFrom : lineFrom+j]
		line = bytes.TrimSuffix(line, []byte{'\r'})
		next := lineFrom + j + 1
		switch {
		case len(line) == 0:
			if cdStart >= 0 {
				if err := parseDisposition(cd, &part); err != nil {
					return part, 0, err
				}
			}
			return part, next, nil
		case line[0] == ' ' || line[0] == '\t':
			// An obsolete folded line continues the header before it.
			if inCD {
				cd = body[cdStart : lineFrom+len(line)]
			}
		default:
			inCD = false
			colon := bytes.IndexByte(line, ':')
			if colon < 0 {
				return part, 0, ErrForm
			}
			if !sawCD && strings.EqualFold(strings.TrimRight(BytesString(line[:colon]), " \t"), "Content-Disposition") {
				sawCD, inCD = true, true
				cdStart = lineFrom + colon + 1
				cd = body[cdStart : lineFrom+len(line)]
			}
		}
		lineFrom = next
	}
}

// parseDisposition reads `form-data; name="…"; filename="…"`.
func parseDisposition(v []byte, part *FormPart) error {
	p := dispParser{s: v}
	p.space()
	typ := p.token()
	if typ == "" {
		return ErrForm
	}
	formData := strings.EqualFold(typ, "form-data")
	var name string
	sawName := false
	for {
		p.space()
		if p.done() {
			break
		}
		if !p.take(';') {
			return ErrForm
		}
		p.space()
		if p.done() {
			break // a trailing semicolon
		}
		attr := p.token()
		p.space()
		if attr == "" || !p.take('=') {
			return ErrForm
		}
		p.space()
		val, ok := p.value()
		if !ok {
			return ErrForm
		}
		switch {
		case strings.EqualFold(attr, "name"):
			if sawName {
				return ErrForm
			}
			name, sawName = val, true
		case strings.EqualFold(attr, "filename"), strings.EqualFold(attr, "filename*"):
			part.File = true
		case strings.HasSuffix(attr, "*") && len(attr) >= 5 && strings.EqualFold(attr[:4], "name"):
			return ErrForm // RFC 2231 forms of the name: readers disagree on them
		}
	}
	if formData {
		part.Name = name
	}
	return nil
}

// dispParser reads a Content-Disposition value (RFC 6266 / RFC 2045
// tokens and quoted strings), treating folded line ends as white space.
type dispParser struct {
	s []byte
	i int
}

func (p *dispParser) done() bool { return p.i >= len(p.s) }

func (p *dispParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\r' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *dispParser) take(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// token reads an RFC 2045 token.
func (p *dispParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenByte(p.s[p.i]) {
		p.i++
	}
	return BytesString(p.s[start:p.i])
}

// value reads a token or a quoted string; a quoted string with escapes is
// unescaped into a new string.
func (p *dispParser) value() (string, bool) {
	if !p.take('"') {
		t := p.token()
		return t, t != ""
	}
	start := p.i
	escaped := false
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case '"':
			raw := p.s[start:p.i]
			p.i++
			if !escaped {
				return BytesString(raw), true
			}
			return unescapeQuoted(raw), true
		case '\\':
			escaped = true
			p.i += 2
		case '\r', '\n':
			return "", false
		default:
			p.i++
		}
	}
	return "", false
}

func unescapeQuoted(raw []byte) string {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
		}
		out = append(out, raw[i])
	}
	return string(out)
}

// isTokenByte reports whether c may appear in an RFC 2045 token.
func isTokenByte(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}
