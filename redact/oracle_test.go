package redact

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
)

// The oracle below is written independently of the scanner: regular
// expressions for the spellings of an ASCII key, and an encoder that writes a
// key with a random spelling per character.

// hexClass matches one hex digit of v in either case.
func hexClass(v byte) string {
	d := "0123456789abcdef"[v]
	if d >= 'a' {
		return fmt.Sprintf("[%c%c]", d, d-'a'+'A')
	}
	return string(d)
}

// byteRE matches one spelling of the ASCII byte c.
func byteRE(c byte) string {
	alts := []string{
		regexp.QuoteMeta(string([]byte{c})),
		`%` + hexClass(c>>4) + hexClass(c&0xf),
		`\\u00` + hexClass(c>>4) + hexClass(c&0xf),
	}
	if c == ' ' {
		alts = append(alts, `\+`)
	}
	if e, ok := map[byte]string{'"': `"`, '\\': `\\`, '/': `/`, '\b': `b`, '\f': `f`, '\n': `n`, '\r': `r`, '\t': `t`}[c]; ok {
		alts = append(alts, `\\`+e)
	}
	return "(?:" + strings.Join(alts, "|") + ")"
}

// partialRE matches what a cut leaves of an escape of the ASCII byte c.
func partialRE(c byte) string {
	return `(?:\\(?:u(?:0(?:0` + hexClass(c>>4) + `?)?)?)?|%` + hexClass(c>>4) + `?)`
}

// compiled caches the oracle's expressions: fuzzing mutates the text far
// more often than the key.
var compiled = struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}{m: make(map[string]*regexp.Regexp)}

// cachedRE returns build(key), compiled once per kind and key.
func cachedRE(kind, key string, build func(string) *regexp.Regexp) *regexp.Regexp {
	compiled.Lock()
	defer compiled.Unlock()
	id := kind + "\x00" + key
	if re, ok := compiled.m[id]; ok {
		return re
	}
	if len(compiled.m) > 256 {
		clear(compiled.m)
	}
	re := build(key)
	compiled.m[id] = re
	return re
}

// spellRE matches any spelling of key.
func spellRE(key string) *regexp.Regexp { return cachedRE("spell", key, buildSpellRE) }

// tailRE matches an end of text that spells key[:j], j >= TailLen, possibly
// followed by part of one more escape.
func tailRE(key string) *regexp.Regexp { return cachedRE("tail", key, buildTailRE) }

// buildSpellRE compiles spellRE.
func buildSpellRE(key string) *regexp.Regexp {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		b.WriteString(byteRE(key[i]))
	}
	return regexp.MustCompile(b.String())
}

// buildTailRE compiles tailRE.
func buildTailRE(key string) *regexp.Regexp {
	// rest(k) matches what may follow key[:k]: nothing, a partial escape of
	// key[k], or key[k] and rest(k+1).
	rest := ""
	for k := len(key) - 1; k >= TailLen; k-- {
		rest = "(?:" + partialRE(key[k]) + "|" + byteRE(key[k]) + rest + ")?"
	}
	var b strings.Builder
	for i := 0; i < TailLen; i++ {
		b.WriteString(byteRE(key[i]))
	}
	return regexp.MustCompile(b.String() + rest + "$")
}

// encodeKey writes key with a random spelling per character.
func encodeKey(key string, rng *rand.Rand) string {
	const upper, lower = "0123456789ABCDEF", "0123456789abcdef"
	hx := func(v byte) byte {
		if rng.IntN(2) == 0 {
			return upper[v]
		}
		return lower[v]
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch rng.IntN(5) {
		case 0:
			b.WriteString(`\u00`)
			b.WriteByte(hx(c >> 4))
			b.WriteByte(hx(c & 0xf))
		case 1:
			b.WriteByte('%')
			b.WriteByte(hx(c >> 4))
			b.WriteByte(hx(c & 0xf))
		case 2:
			switch c {
			case '/', '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case ' ':
				b.WriteByte('+')
			default:
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// printable maps raw fuzz bytes to a printable ASCII key of at least
// MinSecretLen bytes and at most 64.
func printable(raw string) string {
	b := []byte(raw)
	if len(b) > 64 {
		b = b[:64]
	}
	for i, c := range b {
		b[i] = ' ' + c%95
	}
	for len(b) < MinSecretLen {
		b = append(b, "Kq7#pZ2!"[len(b)])
	}
	return string(b)
}

// ignored reports whether New ignores key as a piece of a run of markers.
func ignored(key string) bool {
	need := min(len(key), PrefixLen)
	return strings.Contains(strings.Repeat(Marker, need/len(Marker)+2), key[:need])
}
