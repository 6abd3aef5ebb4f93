package gemini

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"time"
)

// now is the clock for `created`, replaceable in tests.
var now = time.Now

// randomHex returns n random bytes in hex; replaceable in tests so that
// golden files are stable.
var randomHex = func(n int) string {
	var buf [32]byte
	b := buf[:n]
	for i := 0; i < n; i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return hex.EncodeToString(b)
}

// signatureSep separates a tool-call id from the thought signature it
// carries. It is in neither base64 alphabet, so it cannot occur in a
// signature.
const signatureSep = "."

// toolCallID makes up an OpenAI tool-call id for a Gemini functionCall,
// which has none of its own that clients could rely on. Gemini needs the
// function's name, not an id, to match a result to its call, and the
// router recovers the name from the assistant message that carried the
// call. Gemini 3 also requires a call's thoughtSignature to come back with
// it in the next request; as the router keeps no state, the signature
// rides in the id: `call_<24 hex>.<signature>`.
func toolCallID(signature string) string {
	id := "call_" + randomHex(12)
	if signature != "" {
		id += signatureSep + signature
	}
	return id
}

// signatureOf returns the thought signature carried in a tool-call id made
// by toolCallID, or "".
func signatureOf(id string) string {
	rest, ok := strings.CutPrefix(id, "call_")
	if !ok {
		return ""
	}
	_, sig, _ := strings.Cut(rest, signatureSep)
	return sig
}
