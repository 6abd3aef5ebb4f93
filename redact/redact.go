// Package redact removes the secrets a config holds (upstream API keys,
// header values) from bytes the router writes: responses, errors and log
// lines. A secret is recognised in every spelling an upstream may echo it in:
// raw, JSON-escaped (any character as \uXXXX in either case, `\/`, `\"`,
// `\\`, `\n` and friends, mixed freely with raw characters), URL-encoded
// (%XX in either case, `+` for a space), any mix of those per character, and
// cut short.
package redact

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Marker replaces every secret found.
const Marker = "[redacted]"

// MinSecretLen is the shortest value treated as a secret, in bytes. Shorter
// values ("1", "true", "v1") occur in ordinary bodies, and replacing them
// everywhere would wreck answers while protecting nothing worth a key.
const MinSecretLen = 8

// PrefixLen is how many leading bytes of a longer secret count as the
// secret when an upstream echoes it cut short ("sk-proj-abcdefgh..."): any
// spelling of a secret's first PrefixLen bytes or more is redacted. Shorter
// leading pieces are left alone: many keys share a public prefix such as
// "sk-ant-api03-".
const PrefixLen = 16

// TailLen is the shortest piece of a secret that Truncate removes from the
// end of a snippet it cut: a snippet never ends with a secret's first
// TailLen bytes or more, in any spelling, even with an escape cut in half.
const TailLen = 4

// maxUnit is the most text bytes that spell one secret byte (`\u002f`).
const maxUnit = 6

// Scrubber finds and replaces secrets. It is built once per config and is
// safe for concurrent use; a nil *Scrubber scrubs nothing.
type Scrubber struct {
	secrets []secret
	// byFirst lists, per first secret byte, the secrets starting with it.
	byFirst [256][]int32
	// first marks the bytes a spelling of some secret can begin with, pair
	// its first two bytes and pair2 those and its second and third, one bit
	// a pair: prefilters that reject nearly every position of a body
	// without a secret at a table lookup, pair2 looking at every other one.
	first [256]bool
	pair  [1 << 13]byte
	pair2 [1 << 13]byte
	// maxSpell bounds the text length of one spelling of any secret.
	maxSpell int
	// rescan is set when a secret has a bracket: a spelling that a marker
	// completes holds the marker's first or last byte.
	rescan bool
}

// secret is one value to redact.
type secret struct {
	key string
	// need is how many leading key bytes a match must spell.
	need int
}

// New returns a Scrubber for secrets. Values shorter than MinSecretLen,
// duplicates, and values that are a piece of a run of markers (nothing to
// hide there, and replacing them would never end) are ignored.
func New(secrets ...string) *Scrubber {
	s := new(Scrubber)
	seen := make(map[string]bool, len(secrets))
	for _, key := range secrets {
		if len(key) < MinSecretLen || seen[key] {
			continue
		}
		seen[key] = true
		need := min(len(key), PrefixLen)
		if strings.Contains(strings.Repeat(Marker, need/len(Marker)+2), key[:need]) {
			continue
		}
		s.byFirst[key[0]] = append(s.byFirst[key[0]], int32(len(s.secrets)))
		s.secrets = append(s.secrets, secret{key: key, need: need})
		s.maxSpell = max(s.maxSpell, maxUnit*len(key))
		s.rescan = s.rescan || strings.ContainsAny(key, "[]")
		s.addStarts(key)
	}
	return s
}

// addStarts records the first bytes, and the byte pairs at offsets 0-1 and
// 1-2, of every spelling of key.
func (s *Scrubber) addStarts(key string) {
	var rec func(k int, acc string)
	rec = func(k int, acc string) {
		if len(acc) >= 3 {
			s.first[acc[0]] = true
			setBit(&s.pair, acc[0], acc[1])
			setBit(&s.pair2, acc[0], acc[1])
			setBit(&s.pair2, acc[1], acc[2])
			return
		}
		for _, u := range unitSpellings(key, k) {
			rec(k+u.adv, acc+u.text)
		}
	}
	rec(0, "")
}

// spelling is one way to write the key bytes at some position.
type spelling struct {
	text string
	adv  int // key bytes it stands for
}

// unitSpellings lists the ways the text can spell the unit of key at k,
// as walker.unit accepts them, with every case of the first hex digits.
func unitSpellings(key string, k int) []spelling {
	const hexUpper, hexLower = "0123456789ABCDEF", "0123456789abcdef"
	c := key[k]
	out := []spelling{{string([]byte{c}), 1}}
	if c == ' ' {
		out = append(out, spelling{"+", 1})
	}
	for _, hi := range []byte{hexUpper[c>>4], hexLower[c>>4]} {
		for _, lo := range []byte{hexUpper[c&0xf], hexLower[c&0xf]} {
			out = append(out, spelling{string([]byte{'%', hi, lo}), 1})
		}
	}
	if e, ok := shortEscape(c); ok {
		out = append(out, spelling{string([]byte{'\\', e}), 1})
	}
	r, size := utf8.DecodeRuneInString(key[k:])
	if r == utf8.RuneError && size == 1 {
		return out // no rune starts here
	}
	code := []rune{r}
	if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
		code = []rune{r1, r2}
	}
	for _, h := range []string{hexUpper, hexLower} {
		u := []byte{'\\', 'u', h[code[0]>>12&0xf], h[code[0]>>8&0xf], hexUpper[code[0]>>4&0xf], hexUpper[code[0]&0xf]}
		if len(code) == 2 {
			x := code[1]
			u = append(u, '\\', 'u', hexUpper[x>>12&0xf], hexUpper[x>>8&0xf], hexUpper[x>>4&0xf], hexUpper[x&0xf])
		}
		out = append(out, spelling{string(u), size})
	}
	return out
}

// setBit marks the pair a, b in a pair table.
func setBit(t *[1 << 13]byte, a, b byte) {
	i := int(a)<<8 | int(b)
	t[i>>3] |= 1 << (i & 7)
}

// hasBit reports whether the pair a, b is in a pair table.
func hasBit(t *[1 << 13]byte, a, b byte) bool {
	i := int(a)<<8 | int(b)
	return t[i>>3]&(1<<(i&7)) != 0
}

// text is what the scanner reads.
type text interface{ ~string | ~[]byte }

// Scrub returns b with every secret replaced by Marker. When b holds no
// secret it returns b itself without allocating; otherwise a new slice, b is
// never modified.
func (s *Scrubber) Scrub(b []byte) []byte {
	if s == nil || len(s.secrets) == 0 {
		return b
	}
	if out, ok := scrub(s, b); ok {
		return out
	}
	return b
}

// ScrubString is Scrub for a string.
func (s *Scrubber) ScrubString(str string) string {
	if s == nil || len(s.secrets) == 0 {
		return str
	}
	if out, ok := scrub(s, str); ok {
		return string(out)
	}
	return str
}

// Contains reports whether b holds a secret in any spelling.
func (s *Scrubber) Contains(b []byte) bool {
	return s != nil && len(s.secrets) > 0 && hasSecret(s, b)
}

// ContainsString reports whether str holds a secret in any spelling.
func (s *Scrubber) ContainsString(str string) bool {
	return s != nil && len(s.secrets) > 0 && hasSecret(s, str)
}

// Len reports how many secrets s scrubs.
func (s *Scrubber) Len() int {
	if s == nil {
		return 0
	}
	return len(s.secrets)
}

// maxPasses bounds the rescans after a marker completed a new spelling;
// past it the whole text is replaced.
const maxPasses = 8

// scrub replaces every secret in b; ok is false when there was none.
func scrub[T text](s *Scrubber, b T) (out []byte, ok bool) {
	out, ok = scrubOnce(s, b)
	if !ok || !s.rescan {
		return out, ok
	}
	for range maxPasses {
		next, again := scrubOnce(s, out)
		if !again {
			return out, true
		}
		out = next
	}
	return []byte(Marker), true
}

// scrubOnce replaces every range covered by a spelling of a secret.
func scrubOnce[T text](s *Scrubber, b T) ([]byte, bool) {
	start, end := nextRange(s, b, 0)
	if start < 0 {
		return nil, false
	}
	out := make([]byte, 0, len(b))
	done := 0
	for start >= 0 {
		out = append(out, b[done:start]...)
		out = append(out, Marker...)
		done = end
		start, end = nextRange(s, b, end)
	}
	return append(out, b[done:]...), true
}

// hasSecret reports whether b holds a spelling of a secret.
func hasSecret[T text](s *Scrubber, b T) bool {
	start, _ := nextRange(s, b, 0)
	return start >= 0
}

// nextRange returns the first range at or after i to redact: a spelling of a
// secret and every spelling overlapping it, so that overlapping secrets, or
// a secret and a longer one it begins, go as a whole. start is -1 when there
// is none.
func nextRange[T text](s *Scrubber, b T, i int) (start, end int) {
	// A spelling is at least MinSecretLen bytes long, so its second byte
	// is in b: look at every other pair, whose pair2 bit says whether a
	// spelling may start there or one byte before.
	pair, pair2 := &s.pair, &s.pair2
	for j := i; j+1 < len(b); j += 2 {
		if !hasBit(pair2, b[j], b[j+1]) {
			continue
		}
		for p := max(j-1, i); p <= j; p++ {
			if !hasBit(pair, b[p], b[p+1]) {
				continue
			}
			e := longestAt(s, b, p)
			if e < 0 {
				continue
			}
			start, end = p, e
			for q := p + 1; q < end && q+1 < len(b); q++ {
				if hasBit(pair, b[q], b[q+1]) {
					end = max(end, longestAt(s, b, q))
				}
			}
			return start, end
		}
	}
	return -1, -1
}

// longestAt returns the end of the longest spelling of any secret starting
// at b[i], or -1.
func longestAt[T text](s *Scrubber, b T, i int) int {
	best := -1
	for _, c := range firstBytes(b, i) {
		if c < 0 {
			continue
		}
		for _, x := range s.byFirst[c] {
			sec := &s.secrets[x]
			w := walker[T]{b: b, key: sec.key, need: sec.need}
			best = max(best, w.walk(i, 0))
		}
	}
	return best
}

// firstBytes returns the secret bytes the unit at b[i] may stand for: the
// raw byte, and the first byte of what an escape there decodes to (-1 if
// none).
func firstBytes[T text](b T, i int) [2]int {
	out := [2]int{int(b[i]), -1}
	switch b[i] {
	case '\\':
		if r, n := decodeJSONEscape(b, i); n > 0 {
			var buf [utf8.UTFMax]byte
			utf8.EncodeRune(buf[:], r)
			out[1] = int(buf[0])
		}
	case '%':
		if c, ok := hexByte(b, i+1); ok {
			out[1] = int(c)
		}
	case '+':
		out[1] = ' '
	}
	if out[1] == out[0] {
		out[1] = -1
	}
	return out
}
