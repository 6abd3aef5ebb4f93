package redact

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	s := New(key) // "sk-test/Abc+9_xyz"
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short clean", "upstream down", 200, "upstream down"},
		{"cut clean", x(250), 200, x(200)},
		{"key scrubbed before the cut", x(195) + key + " rest", 200, x(190) + Marker},
		{"key scrubbed, then cut in the marker", x(195) + key + " rest", 199, x(189) + Marker},
		{"piece of a key cut", x(192) + "sk-test/Abc+9 ...", 200, x(190) + Marker},
		{"piece of a key cut, marker fits", x(190) + "sk-test/Abc+9", 200, x(190) + Marker},
		{"piece of TailLen bytes", x(186) + "sk-test/Abc", 190, x(180) + Marker},
		{"piece of TailLen bytes, marker fits", x(16) + "sk-test/Abc", 20, x(10) + Marker},
		{"piece shorter than TailLen", x(197) + "sk-test/Abc", 200, x(197) + "sk-"},
		{"piece JSON-escaped", x(186) + `sk-t\u0065st\/Abc`, 200, x(186) + Marker},
		{"escape split by the cut", x(190) + `sk-t\u0065st`, 198, x(188) + Marker},
		{"escape split after TailLen bytes", x(190) + `sk-t\u0065st`, 196, x(186) + Marker},
		{"escape split before TailLen bytes", x(190) + `sk-\u0074est`, 196, x(190) + `sk-\u0`},
		{"percent split", x(190) + "sk-t%65st", 199, x(189) + Marker},
		{"piece at the end of a text not cut", "invalid key sk-te", 200, "invalid key " + Marker},
		{"marker fits in n", x(12) + "sk-test/A", 22, x(12) + Marker},
		{"two bytes of a piece kept", x(20) + "sk-test/A", 22, x(20) + "sk"},
		{"cut marker completed", x(190) + "[redacted] tail", 195, x(185) + Marker},
		{"cut marker dropped below its length", x(5) + "[redacted]", 8, x(5)},
		{"lone bracket kept", x(199) + "[redacted]", 200, x(199) + "["},
		{"n below the marker drops the piece", x(3) + "sk-test", 9, x(3)},
		{"n zero", key, 0, ""},
		{"n negative", key, -5, ""},
		{"utf8 not split", "ééé", 3, "é"},
		{"utf8 cut exact", "ééé", 4, "éé"},
		{"non-ASCII piece", x(10) + "sk-tést", 16, x(10) + "sk-té"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Truncate(tt.in, tt.n)
			if got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
			if len(got) > max(tt.n, 0) || !utf8.ValidString(got) {
				t.Errorf("Truncate(%q, %d) = %q: too long or split a character", tt.in, tt.n, got)
			}
		})
	}
}

// The old snippet cut the body at 200 bytes before scrubbing, which left the
// first bytes of a key crossing the cut. Every position of the key around
// the cut is safe now.
func TestTruncateKeyAcrossEveryCut(t *testing.T) {
	long := "sk-proj-" + strings.Repeat("Ab1_", 12)
	s := New(long)
	tail := tailRE(long)
	for _, spelled := range []string{long, strings.ReplaceAll(long, "_", `\u005f`), strings.ReplaceAll(long, "b", "%62")} {
		for off := 150; off < 210; off++ {
			in := strings.Repeat("y", off) + spelled + " and more text after it"
			got := s.Truncate(in, 200)
			if len(got) > 200 || s.ContainsString(got) || tail.MatchString(got) {
				t.Fatalf("Truncate(%q, 200) = %q", in, got)
			}
			if want := strings.Repeat("y", min(off, 190)) + Marker; off < 199 && !strings.HasPrefix(got, want) {
				t.Fatalf("Truncate(%q, 200) = %q, want it to begin %q", in, got, want)
			}
		}
	}
}

// Scrubbing only a window of a long text gives what scrubbing all of it
// gives, at every cut.
func TestTruncateWindow(t *testing.T) {
	keys := []string{"abcdefgh", "aaaaaaaa", "sk-proj-0123456789abcdef"}
	s := New(keys...)
	var b strings.Builder
	for i := range 400 {
		b.WriteString(strings.Repeat("a", i%11))
		b.WriteString(keys[i%3][:8+i%9%(len(keys[i%3])-7)])
		b.WriteString(`\u0061%61 `)
	}
	in := b.String()
	for n := 0; n < len(in); n += 97 {
		if got, want := s.truncate(in, n, true), s.truncate(in, n, false); got != want {
			t.Fatalf("n=%d: windowed %q, whole %q", n, got, want)
		}
	}
}

func TestTruncateNonASCIIPieces(t *testing.T) {
	s := New("clé-secrète-123")
	tests := []struct{ in, want string }{
		{`ab cl\u00e9-s`, "ab " + Marker},
		{`ab cl\u00E9`, "ab " + Marker},
		{`ab cl\u00`, `ab cl\u00`},
		{"ab cl%C3%A9-", "ab " + Marker},
		{"ab cl%c3%a", "ab cl%c3%a"},
		{"ab clé%2", "ab " + Marker},
		{"ab clé", "ab " + Marker},
		{"ab cl\xc3", "ab cl\xc3"},
	}
	for _, tt := range tests {
		if got := s.Truncate(tt.in, 100); got != tt.want {
			t.Errorf("Truncate(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
