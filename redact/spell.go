package redact

import (
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// walker matches one secret against text from a position, following every
// way the text can spell it unit by unit: a raw byte, a JSON escape (one
// rune), %XX (one byte) or + (a space).
type walker[T text] struct {
	b   T
	key string
	// need is how many leading key bytes walk must see for a match.
	need int
}

// walk returns the end of the longest text from p that spells key[k:j] for
// some j with j >= need, or -1.
func (w *walker[T]) walk(p, k int) int {
	best := -1
	for {
		if k >= w.need {
			best = p
		}
		if k == len(w.key) || p >= len(w.b) {
			return best
		}
		raw, n, adv := w.unit(p, k)
		switch {
		case raw && n > 0:
			w.spread(p, k, func(p, k int) (stop, expand bool) {
				if k >= w.need {
					best = max(best, p)
				}
				return false, k < len(w.key) && p < len(w.b)
			})
			return best
		case raw:
			p, k = p+1, k+1
		case n > 0:
			p, k = p+n, k+adv
		default:
			return best
		}
	}
}

// reachesEnd reports whether the text from p to its end spells key[k:j]
// for some j >= TailLen, possibly followed by the beginning of one more
// escape: what a cut leaves of a secret.
func (w *walker[T]) reachesEnd(p, k int) bool {
	// end reports whether the state (p, k) is such an end, and whether the
	// walk goes on from it.
	end := func(p, k int) (found, more bool) {
		switch {
		case p == len(w.b):
			return k >= TailLen, false
		case k == len(w.key):
			return false, false
		}
		return k >= TailLen && partialUnit(w.b, p, w.key, k), true
	}
	for {
		if found, more := end(p, k); found || !more {
			return found
		}
		raw, n, adv := w.unit(p, k)
		switch {
		case raw && n > 0:
			found := false
			w.spread(p, k, func(p, k int) (stop, expand bool) {
				found, expand = end(p, k)
				return found, expand
			})
			return found
		case raw:
			p, k = p+1, k+1
		case n > 0:
			p, k = p+n, k+adv
		default:
			return false
		}
	}
}

// spread visits every state (p, k) reachable from (p0, k0) once, in order
// of k, expanding those visit asks for, until visit says stop. Walks fork
// where a raw byte and an escape both fit (`\` or `%25` for a secret with
// `\` or `%`); following each fork would take exponential time, while the
// states are at most one per key byte and text offset.
func (w *walker[T]) spread(p0, k0 int, visit func(p, k int) (stop, expand bool)) {
	// A state's offset from p0 is at most maxUnit per key byte; units stand
	// for at most utf8.UTFMax key bytes, so a ring of that many rows of
	// offsets holds every pending state.
	const rows = utf8.UTFMax + 1
	words := (maxUnit*(len(w.key)-k0)+1)/64 + 1
	ring := make([]uint64, rows*words)
	set := func(k, d int) { ring[(k%rows)*words+d/64] |= 1 << (d % 64) }
	set(k0, 0)
	last := k0
	for k := k0; k <= last; k++ {
		row := ring[(k%rows)*words : (k%rows+1)*words]
		for i, word := range row {
			for word != 0 {
				d := i*64 + bits.TrailingZeros64(word)
				word &= word - 1
				p := p0 + d
				stop, expand := visit(p, k)
				if stop {
					return
				}
				if !expand {
					continue
				}
				raw, n, adv := w.unit(p, k)
				if raw {
					set(k+1, d+1)
					last = max(last, k+1)
				}
				if n > 0 {
					set(k+adv, d+n)
					last = max(last, k+adv)
				}
			}
			row[i] = 0
		}
	}
}

// unit reports how the text at p can spell the key from k: raw when b[p] is
// key[k] itself, and an escape of n text bytes standing for adv key bytes
// (n == 0 when there is none).
func (w *walker[T]) unit(p, k int) (raw bool, n, adv int) {
	c := w.key[k]
	switch x := w.b[p]; x {
	case '\\':
		r, size := decodeJSONEscape(w.b, p)
		if size == 0 {
			break
		}
		if r < utf8.RuneSelf {
			if byte(r) == c {
				n, adv = size, 1
			}
			break
		}
		var buf [utf8.UTFMax]byte
		l := utf8.EncodeRune(buf[:], r)
		if len(w.key)-k >= l && w.key[k:k+l] == string(buf[:l]) {
			n, adv = size, l
		}
	case '%':
		if v, ok := hexByte(w.b, p+1); ok && v == c {
			n, adv = 3, 1
		}
	case '+':
		if c == ' ' {
			n, adv = 1, 1
		}
	}
	return w.b[p] == c, n, adv
}

// decodeJSONEscape decodes the JSON escape at b[p] (b[p] is `\`): the rune
// and the escape's length, 0 if it is not one. A surrogate pair is one rune;
// a lone surrogate is not an escape here (decoders turn it into U+FFFD).
func decodeJSONEscape[T text](b T, p int) (rune, int) {
	if p+1 >= len(b) {
		return 0, 0
	}
	switch e := b[p+1]; e {
	case '"', '\\', '/':
		return rune(e), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := hex4(b, p+2)
		if !ok {
			return 0, 0
		}
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if p+12 > len(b) || b[p+6] != '\\' || b[p+7] != 'u' {
			return 0, 0
		}
		r2, ok := hex4(b, p+8)
		if !ok {
			return 0, 0
		}
		if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
			return 0, 0
		}
		return r, 12
	}
	return 0, 0
}

// shortEscape returns the letter of c's two-byte JSON escape, if it has one.
func shortEscape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case '\b':
		return 'b', true
	case '\f':
		return 'f', true
	case '\n':
		return 'n', true
	case '\r':
		return 'r', true
	case '\t':
		return 't', true
	}
	return 0, false
}

// unhex returns the value of a hex digit of either case.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hexByte decodes the two hex digits at b[p].
func hexByte[T text](b T, p int) (byte, bool) {
	if p+2 > len(b) {
		return 0, false
	}
	hi, ok1 := unhex(b[p])
	lo, ok2 := unhex(b[p+1])
	return hi<<4 | lo, ok1 && ok2
}

// hex4 decodes the four hex digits at b[p].
func hex4[T text](b T, p int) (rune, bool) {
	if p+4 > len(b) {
		return 0, false
	}
	var r rune
	for i := p; i < p+4; i++ {
		v, ok := unhex(b[i])
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// partialUnit reports whether b[p:], to its end, is the beginning of an
// escape (not the whole of one) that spells the key from k: `\`, `\u00`,
// `\ud83d\u`, `%`, `%6`.
func partialUnit[T text](b T, p int, key string, k int) bool {
	rest := len(b) - p
	if rest == 0 || rest >= 12 {
		return false
	}
	for _, spelled := range escapes(key, k) {
		if rest < len(spelled) && prefixFold(b, p, spelled) {
			return true
		}
	}
	return false
}

// escapes returns the escape spellings of the key from k, upper-case hex:
// the \u form of the rune at k, its short form, and %XX of the byte at k.
func escapes(key string, k int) [3]string {
	const hexUpper = "0123456789ABCDEF"
	var out [3]string
	c := key[k]
	out[0] = string([]byte{'%', hexUpper[c>>4], hexUpper[c&0xf]})
	r, size := utf8.DecodeRuneInString(key[k:])
	if r == utf8.RuneError && size == 1 {
		return out
	}
	u := make([]byte, 0, 12)
	r1, r2 := utf16.EncodeRune(r)
	if r1 == utf8.RuneError {
		r1 = r
	}
	for i, x := range []rune{r1, r2} {
		if i == 1 && r2 == utf8.RuneError {
			break
		}
		u = append(u, '\\', 'u', hexUpper[x>>12&0xf], hexUpper[x>>8&0xf], hexUpper[x>>4&0xf], hexUpper[x&0xf])
	}
	out[1] = string(u)
	if e, ok := shortEscape(c); ok {
		out[2] = string([]byte{'\\', e})
	}
	return out
}

// prefixFold reports whether b[p:] is a prefix of spelled, hex letters
// compared in either case.
func prefixFold[T text](b T, p int, spelled string) bool {
	for i := p; i < len(b); i++ {
		x, y := b[i], spelled[i-p]
		if x != y && !('A' <= y && y <= 'F' && x == y+'a'-'A') {
			return false
		}
	}
	return true
}
