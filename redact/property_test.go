package redact

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/quick"
	"unicode/utf16"
	"unicode/utf8"
)

// encodeRunes writes key, which may hold any runes, with a random spelling
// per rune: raw, \u escapes (a surrogate pair beyond U+FFFF), or %XX per
// byte mixed with raw bytes.
func encodeRunes(key string, rng *rand.Rand) string {
	hex := func(v int) string {
		s := fmt.Sprintf("%04x", v)
		if rng.IntN(2) == 0 {
			s = strings.ToUpper(s)
		}
		return s
	}
	var b strings.Builder
	for _, r := range key {
		switch rng.IntN(3) {
		case 0:
			b.WriteRune(r)
		case 1:
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				b.WriteString(`\u` + hex(int(r1)) + `\u` + hex(int(r2)))
			} else {
				b.WriteString(`\u` + hex(int(r)))
			}
		default:
			for _, c := range []byte(string(r)) {
				if rng.IntN(2) == 0 {
					b.WriteByte(c)
				} else {
					b.WriteString("%" + hex(int(c))[2:])
				}
			}
		}
	}
	return b.String()
}

// Keys of any runes, spelled at random, are found and removed.
func TestScrubPropertyAnyRunes(t *testing.T) {
	alphabet := []rune("aZ9-_/+ é€😀中\"\\%")
	prop := func(picks []uint8, before, after string, seed uint64) bool {
		var kb strings.Builder
		for _, p := range picks {
			kb.WriteRune(alphabet[int(p)%len(alphabet)])
		}
		k := kb.String()
		for len(k) < MinSecretLen {
			k += "x"
		}
		if ignored(k) {
			return true
		}
		s := New(k)
		rng := rand.New(rand.NewPCG(seed, 1))
		in := before + encodeRunes(k, rng) + after
		out := s.ScrubString(in)
		piece := k[:min(len(k), PrefixLen)]
		if !s.ContainsString(in) || s.ContainsString(out) || strings.Contains(out, piece) {
			t.Logf("key %q in %q out %q", k, in, out)
			return false
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 5000}); err != nil {
		t.Error(err)
	}
}
