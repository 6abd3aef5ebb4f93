package gemini

import (
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// appendInner appends the escaped characters of a JSON string value,
// without its quotes. A value that needs no unescaping (base64 data, most
// text) is copied as it came, without decoding it.
func appendInner(b []byte, v gjson.Result) []byte {
	if v.Type != gjson.String {
		return b
	}
	if raw := v.Raw; plainString(raw) {
		return append(b, raw[1:len(raw)-1]...)
	}
	start := len(b)
	b = llm.AppendString(b, v.Str)
	n := copy(b[start:], b[start+1:len(b)-1])
	return b[:start+n]
}

// plainString reports whether raw is a JSON string literal whose bytes can
// be copied as they are: no escapes, no control characters, valid UTF-8.
func plainString(raw string) bool {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false
	}
	for i := 1; i < len(raw)-1; i++ {
		if c := raw[i]; c < 0x20 || c == '\\' || c == '"' {
			return false
		}
	}
	return utf8.ValidString(raw)
}

// appendJoined appends the string values joined, as one JSON string:
// Gemini splits text into parts anywhere, so they join without a
// separator.
func appendJoined(b []byte, texts []gjson.Result) []byte {
	b = append(b, '"')
	for _, t := range texts {
		b = appendInner(b, t)
	}
	return append(b, '"')
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
