package redact

import (
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// embed returns text with key written into it at pos, spelled at random
// per character by seed.
func embed(key, text string, pos uint16, seed uint64) string {
	at := int(pos) % (len(text) + 1)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return text[:at] + encodeKey(key, rng) + text[at:]
}

// checkClean fails when out still holds key: a spelling of it (or of its
// first PrefixLen bytes) in the raw text, in the text decoded as a JSON
// string or URL-decoded.
func checkClean(t *testing.T, key, out string) {
	t.Helper()
	piece := key[:min(len(key), PrefixLen)]
	if loc := spellRE(piece).FindStringIndex(out); loc != nil {
		t.Fatalf("key %q left spelled as %q in %q", key, out[loc[0]:loc[1]], out)
	}
	var dec string
	if json.Unmarshal([]byte(`"`+out+`"`), &dec) == nil && strings.Contains(dec, piece) {
		t.Fatalf("key %q left in %q, JSON-decoded %q", key, out, dec)
	}
	if dec, err := url.QueryUnescape(out); err == nil && strings.Contains(dec, piece) {
		t.Fatalf("key %q left in %q, query-decoded %q", key, out, dec)
	}
	if dec, err := url.PathUnescape(out); err == nil && strings.Contains(dec, piece) {
		t.Fatalf("key %q left in %q, path-decoded %q", key, out, dec)
	}
}

func FuzzScrub(f *testing.F) {
	f.Add("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", `{"error":{"message":"Incorrect API key provided: "}}`, uint16(48), uint64(1))
	f.Add("Bearer tok/en\"with\\specials", "GET /v1?key=&x=1", uint16(12), uint64(7))
	f.Add("AIzaSyA-1234567", "", uint16(0), uint64(3))
	f.Add("aaaaaaaaaa", "aaaaaaaaaaaaaaaa", uint16(5), uint64(11))
	f.Fuzz(func(t *testing.T, rawKey, text string, pos uint16, seed uint64) {
		key := printable(rawKey)
		if ignored(key) {
			return // New documents that it drops these
		}
		s := New(key)
		in := embed(key, text, pos, seed)
		out := s.ScrubString(in)
		checkClean(t, key, out)
		if got := string(s.Scrub([]byte(in))); got != out {
			t.Fatalf("Scrub %q != ScrubString %q", got, out)
		}
		if s.ContainsString(out) || !s.ContainsString(in) {
			t.Fatalf("ContainsString wrong for %q or %q", in, out)
		}
		// Text without a spelling of the key is left as it is.
		if !spellRE(key[:min(len(key), PrefixLen)]).MatchString(text) {
			if got := s.ScrubString(text); got != text {
				t.Fatalf("ScrubString(%q) = %q, want it unchanged", text, got)
			}
		}
	})
}

func FuzzTruncate(f *testing.F) {
	f.Add("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", strings.Repeat("x", 190), uint16(190), uint64(1), uint16(200))
	f.Add("sk-ant-api03-ABCDEFGHIJKLMNOP", "upstream said: ", uint16(15), uint64(5), uint16(24))
	f.Add("Bearer tok/en\"with\\specials", "<html>bad gateway</html>", uint16(6), uint64(9), uint16(12))
	f.Add("aéaéaéaéaéaé", "é", uint16(0), uint64(2), uint16(3))
	f.Fuzz(func(t *testing.T, rawKey, text string, pos uint16, seed uint64, n uint16) {
		key := printable(rawKey)
		if ignored(key) {
			return
		}
		s := New(key)
		in := embed(key, text, pos, seed)
		max := int(n) % (len(in) + 16)
		out := s.Truncate(in, max)
		if len(out) > max {
			t.Fatalf("Truncate(%q, %d) = %q, longer than %d", in, max, out, max)
		}
		if full := s.truncate(in, max, false); out != full {
			t.Fatalf("Truncate(%q, %d) = %q windowed, %q whole", in, max, out, full)
		}
		checkClean(t, key, out)
		tail := tailRE(key)
		if !strings.HasSuffix(out, Marker) && tail.MatchString(out) {
			t.Fatalf("Truncate(%q, %d) = %q ends with a piece of the key", in, max, out)
		}
		// What plain cutting leaves: untouched when its end is clean (no
		// piece of the key, no marker cut in two), else a head of it and
		// the marker.
		scrubbed := s.ScrubString(in)
		cut := cutUTF8(scrubbed, max)
		splitMarker := len(cut) < len(scrubbed) && cutMarker(cut) >= 0
		switch {
		case !tail.MatchString(cut) && !splitMarker:
			if out != cut {
				t.Fatalf("Truncate(%q, %d) = %q, want %q", in, max, out, cut)
			}
		case max >= len(Marker):
			if !strings.HasSuffix(out, Marker) || !strings.HasPrefix(cut, strings.TrimSuffix(out, Marker)) {
				t.Fatalf("Truncate(%q, %d) = %q, want a head of %q and the marker", in, max, out, cut)
			}
		default:
			if !strings.HasPrefix(cut, out) {
				t.Fatalf("Truncate(%q, %d) = %q, want a head of %q", in, max, out, cut)
			}
		}
	})
}
