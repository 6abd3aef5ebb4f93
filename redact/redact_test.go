package redact

import (
	"strings"
	"testing"
)

const key = "sk-test/Abc+9_xyz" // 17 bytes: has '/', '+' and a letter of each case

func TestScrubSpellings(t *testing.T) {
	s := New(key)
	tests := []struct {
		name, in, want string
	}{
		{"raw alone", key, Marker},
		{"raw at start", key + " is wrong", Marker + " is wrong"},
		{"raw at end", "key: " + key, "key: " + Marker},
		{"raw inside", `{"message":"bad key ` + key + ` given"}`, `{"message":"bad key ` + Marker + ` given"}`},
		{"json slash", `"sk-test\/Abc+9_xyz"`, `"` + Marker + `"`},
		{"json u lower", `sk-test\u002fAbc+9_xyz`, Marker},
		{"json u upper", `sk-test\u002FAbc+9_xyz`, Marker},
		{"json every char escaped", `\u0073\u006B\u002d\u0074\u0065\u0073\u0074\u002f\u0041\u0062\u0063\u002b\u0039\u005f\u0078\u0079\u007a`, Marker},
		{"json mixed", `s\u006b-te\u0073t\/A\u0062c+9_x\u0079z`, Marker},
		{"url upper", "sk-test%2FAbc%2B9_xyz", Marker},
		{"url lower", "?key=sk-test%2fAbc%2b9_xyz&x=1", "?key=" + Marker + "&x=1"},
		{"url every char", "%73%6B%2D%74%65%73%74%2F%41%62%63%2B%39%5F%78%79%7A", Marker},
		{"url and json in one", `s%6b-t\u0065st\/Abc%2B9_xyz`, Marker},
		{"twice", key + "," + key, Marker + "," + Marker},
		{"overlapping itself", "sk-test/Abc+9_xyz" + "sk-test/Abc+9_xyz", Marker + Marker},
		{"echoed cut short", "key sk-test/Abc+9_xy... is invalid", "key " + Marker + "... is invalid"},
		{"prefix of PrefixLen", "sk-test/Abc+9_xy!", Marker + "!"},
		{"shorter prefix kept", "sk-test/Abc+9_x", "sk-test/Abc+9_x"},
		{"other case kept", "SK-TEST/ABC+9_XYZ", "SK-TEST/ABC+9_XYZ"},
		{"bad hex kept", `sk-test\u002gAbc+9_xyz`, `sk-test\u002gAbc+9_xyz`},
		{"bad percent kept", "sk-test%2GAbc+9_xyz", "sk-test%2GAbc+9_xyz"},
		{"escaped backslash is not an escape", `sk-test\\u002fAbc`, `sk-test\\u002fAbc`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.ScrubString(tt.in); got != tt.want {
				t.Errorf("ScrubString(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := string(s.Scrub([]byte(tt.in))); got != tt.want {
				t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got, want := s.ContainsString(tt.in), tt.in != tt.want; got != want {
				t.Errorf("ContainsString(%q) = %v, want %v", tt.in, got, want)
			}
		})
	}
}

func TestScrubSpecialCharacters(t *testing.T) {
	tests := []struct {
		name, key, in, want string
	}{
		{"quote and backslash", `pa"ss\word`, `{"p":"pa\"ss\\word"}`, `{"p":"` + Marker + `"}`},
		{"quote and backslash raw", `pa"ss\word`, `pa"ss\word`, Marker},
		{"space as plus", "Bearer abc123", "auth=Bearer+abc123", "auth=" + Marker},
		{"space as %20", "Bearer abc123", "auth=Bearer%20abc123", "auth=" + Marker},
		{"space as \\u0020", "Bearer abc123", `"Bearer\u0020abc123"`, `"` + Marker + `"`},
		{"tab as \\t", "col1\tcol2x", `"col1\tcol2x"`, `"` + Marker + `"`},
		{"percent raw", "100%pure!", "100%pure!", Marker},
		{"percent encoded", "100%pure!", "100%25pure%21", Marker},
		{"percent as json", "100%pure!", `100\u0025pure!`, Marker},
		{"backslashes", strings.Repeat(`\`, 10), strings.Repeat(`\\`, 10), Marker},
		{"backslashes mixed", strings.Repeat(`\`, 10), `\\\u005c\\\\\\\\\\\\\\\\\\`, Marker},
		{"non-ASCII raw", "clé-secrète", "la clé-secrète!", "la " + Marker + "!"},
		{"non-ASCII json", "clé-secrète", `la cl\u00e9-secr\u00E8te!`, "la " + Marker + "!"},
		{"non-ASCII url", "clé-secrète", "la cl%C3%A9-secr%c3%a8te!", "la " + Marker + "!"},
		{"non-ASCII url half", "clé-secrète", "la cl%C3\xa9-secr\xc3%a8te!", "la " + Marker + "!"},
		{"non-ASCII first raw", "écrou-secret", "<écrou-secret>", "<" + Marker + ">"},
		{"non-ASCII first json", "écrou-secret", `<\u00e9crou-secret>`, "<" + Marker + ">"},
		{"non-ASCII first url", "écrou-secret", "<%c3%A9crou-secret>", "<" + Marker + ">"},
		{"emoji first", "😀secret!", `"\ud83d\ude00secret!" 😀secret! %F0%9F%98%80secret%21`, `"` + Marker + `" ` + Marker + " " + Marker},
		{"replacement character", "\ufffdsecret-key", `"\ufffdsecret-key"`, `"` + Marker + `"`},
		{"surrogate pair", "key-😀-1234", `"key-\ud83d\ude00-1234"`, `"` + Marker + `"`},
		{"surrogate pair upper", "key-😀-1234", `"key-\uD83D\uDE00-1234"`, `"` + Marker + `"`},
		{"lone surrogate kept", "key-😀-1234", `"key-\ud83d-1234"`, `"key-\ud83d-1234"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.key)
			if got := s.ScrubString(tt.in); got != tt.want {
				t.Errorf("ScrubString(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestScrubSeveralSecrets(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"overlapping", []string{"abcdefgh12", "12345678zz"}, "x abcdefgh12345678zz y", "x " + Marker + " y"},
		{"one a prefix of another", []string{"sk-live-1234", "sk-live-1234-extra"}, "k=sk-live-1234-extra;", "k=" + Marker + ";"},
		{"one a prefix of another, short one alone", []string{"sk-live-1234", "sk-live-1234-extra"}, "k=sk-live-1234-other", "k=" + Marker + "-other"},
		{"one inside another", []string{"0123456789abcdef", "56789abc"}, "<0123456789abcdef>", "<" + Marker + ">"},
		{"adjacent", []string{"abcdefgh", "ijklmnop"}, "abcdefghijklmnop", Marker + Marker},
		{"repeated", []string{"abcdefgh"}, "abcdefghabcdefgh abcdefgh", Marker + Marker + " " + Marker},
		{"self-overlapping", []string{"aaaaaaaa"}, "aaaaaaaaaaaa", Marker},
		{"short ignored", []string{"1", "secret", "", "abcdefgh"}, "1 secret abcdefgh", "1 secret " + Marker},
		{"duplicates", []string{"abcdefgh", "abcdefgh"}, "abcdefgh", Marker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.secrets...)
			if got := s.ScrubString(tt.in); got != tt.want {
				t.Errorf("ScrubString(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNewIgnores(t *testing.T) {
	s := New("", "short", "1234567", Marker, "redacted][redac", "12345678")
	if s.Len() != 1 {
		t.Errorf("Len() = %d, want 1 (only 12345678)", s.Len())
	}
	if got := s.ScrubString("a short 1234567 12345678"); got != "a short 1234567 "+Marker {
		t.Errorf("ScrubString = %q", got)
	}
}

// A secret with a bracket can be completed by the marker that replaced
// another occurrence; the scrubber scans again.
func TestScrubMarkerCompletesSecret(t *testing.T) {
	k := "abcdefgh[red"
	s := New(k)
	in := "abcdefgh" + k
	got := s.ScrubString(in)
	if strings.Contains(got, k) || s.ContainsString(got) {
		t.Errorf("ScrubString(%q) = %q, still holds %q", in, got, k)
	}
	if want := Marker + "acted]"; got != want {
		t.Errorf("ScrubString(%q) = %q, want %q", in, got, want)
	}
}

func TestNilAndEmptyScrubber(t *testing.T) {
	for _, s := range []*Scrubber{nil, New(), New("", "short")} {
		b := []byte("abcdefgh")
		if got := s.Scrub(b); &got[0] != &b[0] {
			t.Error("Scrub copied")
		}
		if s.ScrubString("x") != "x" || s.Contains(b) || s.ContainsString("x") || s.Len() != 0 {
			t.Error("empty scrubber changed or found something")
		}
		if got := s.Truncate("abcdé", 4); got != "abcd" {
			t.Errorf("Truncate = %q", got)
		}
	}
}

func TestScrubNoSecretReturnsInput(t *testing.T) {
	s := New(key, "Bearer abc123", "AIzaSyA-1234567")
	body := benchBody(4 << 10)
	allocs := testing.AllocsPerRun(100, func() {
		if out := s.Scrub(body); &out[0] != &body[0] || len(out) != len(body) {
			t.Fatal("Scrub did not return its input")
		}
	})
	if allocs != 0 {
		t.Errorf("Scrub of a clean body: %v allocations, want 0", allocs)
	}
	str := string(body)
	allocs = testing.AllocsPerRun(100, func() {
		if s.ScrubString(str) != str {
			t.Fatal("ScrubString changed a clean body")
		}
	})
	if allocs != 0 {
		t.Errorf("ScrubString of a clean body: %v allocations, want 0", allocs)
	}
}

func TestScrubDoesNotModifyInput(t *testing.T) {
	s := New(key)
	in := []byte("a " + key + " b")
	orig := string(in)
	if out := s.Scrub(in); string(out) != "a "+Marker+" b" {
		t.Errorf("Scrub = %q", out)
	}
	if string(in) != orig {
		t.Errorf("Scrub modified its input: %q", in)
	}
}

// Secrets made of the characters that are both raw and escapes keep the
// search polynomial.
func TestScrubAmbiguousSecretIsFast(t *testing.T) {
	s := New(strings.Repeat(`\`, 64), strings.Repeat("%", 64))
	in := strings.Repeat(`\\`, 2000) + strings.Repeat("%25", 2000) + strings.Repeat(`\`, 63) + "x"
	got := s.ScrubString(in)
	if strings.Contains(got, strings.Repeat(`\`, 64)) || s.ContainsString(got) {
		t.Errorf("left a secret in %.200q", got)
	}
}

func TestScrubConcurrent(t *testing.T) {
	s := New(key)
	in := "x " + key + " y"
	done := make(chan string)
	for range 8 {
		go func() {
			var out string
			for range 200 {
				out = s.ScrubString(in)
			}
			done <- out
		}()
	}
	for range 8 {
		if got := <-done; got != "x "+Marker+" y" {
			t.Errorf("got %q", got)
		}
	}
}
