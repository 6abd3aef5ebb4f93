package redact

import (
	"strings"
	"unicode/utf8"
)

// Truncate returns str fit for an error snippet of at most n bytes: every
// secret replaced, cut on a UTF-8 boundary, and any end that spells the
// first TailLen or more bytes of a secret (an escape cut in half included),
// or a marker the cut split, replaced by Marker, so that the cut can never
// leave a recognisable piece of a key. The result is at most n bytes long (when n < len(Marker) a
// redacted end is dropped without a marker).
func (s *Scrubber) Truncate(str string, n int) string {
	return s.truncate(str, n, true)
}

// truncate is Truncate; window lets it scrub only as much of a long str as
// can reach the first n bytes (the tests compare both ways).
func (s *Scrubber) truncate(str string, n int, window bool) string {
	n = max(n, 0)
	if s == nil || len(s.secrets) == 0 {
		return cutUTF8(str, n)
	}
	scrubbed := s.scrubHead(str, n, window)
	t := cutUTF8(scrubbed, n)
	i := s.tailStart(t)
	if len(t) < len(scrubbed) {
		// A marker the cut split goes whole or not at all.
		if j := cutMarker(t); j >= 0 && (i < 0 || j < i) {
			i = j
		}
	}
	if i < 0 {
		return t
	}
	if n < len(Marker) {
		for i >= 0 {
			t = t[:i]
			i = s.tailStart(t)
		}
		return t
	}
	if i+len(Marker) > n {
		t = cutUTF8(t[:i], n-len(Marker))
		if i = s.tailStart(t); i < 0 {
			i = len(t)
		}
	}
	return t[:i] + Marker
}

// scrubHead scrubs str, or when window is set and str is long, a head of
// str whose scrubbed first n bytes are those of the whole: spellings are at
// most maxSpell bytes long, so what lies further than a margin past n
// cannot change them.
func (s *Scrubber) scrubHead(str string, n int, window bool) string {
	margin := 2*s.maxSpell + 2*len(Marker)
	if !window || s.rescan || len(str) <= n+2*margin {
		return s.ScrubString(str)
	}
	if head := s.ScrubString(str[:n+2*margin]); len(head) >= n+margin {
		return head
	}
	return s.ScrubString(str)
}

// tailStart returns where the end of t that spells a piece of a secret
// begins (the earliest such position), or -1.
func (s *Scrubber) tailStart(t string) int {
	for i := max(0, len(t)-s.maxSpell-12); i+1 < len(t); i++ {
		if !s.first[t[i]] {
			continue
		}
		for _, c := range firstBytes(t, i) {
			if c < 0 {
				continue
			}
			for _, x := range s.byFirst[c] {
				w := walker[string]{b: t, key: s.secrets[x].key}
				if w.reachesEnd(i, 0) {
					return i
				}
			}
		}
	}
	return -1
}

// cutMarker returns where t ends with the beginning of a marker, at least
// "[r", or -1.
func cutMarker(t string) int {
	for j := len(Marker) - 1; j >= 2; j-- {
		if strings.HasSuffix(t, Marker[:j]) {
			return len(t) - j
		}
	}
	return -1
}

// cutUTF8 returns the longest head of s of at most n bytes that does not
// split a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := n; i >= 0 && i > n-utf8.UTFMax; i-- {
		if i == 0 || utf8.RuneStart(s[i]) {
			return s[:i]
		}
	}
	return s[:n]
}
