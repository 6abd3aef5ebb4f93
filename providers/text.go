package providers

import (
	"bytes"
	"unicode/utf8"
)

// SnippetLimit bounds what Snippet keeps of a body. The router scrubs
// secrets from the whole snippet first and only then cuts the message
// short (see llmrouter's scrub), so a key that crosses this limit is cut
// off, never shown in part: the message the client gets is far shorter.
const SnippetLimit = 8 << 10

// Snippet is a printable excerpt of a non-JSON error body, for error
// messages: whitespace runs squeezed, at most SnippetLimit bytes.
func Snippet(b []byte) string {
	if len(b) > SnippetLimit {
		b = b[:SnippetLimit]
	}
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return string(bytes.Join(bytes.Fields(b), []byte(" ")))
}
