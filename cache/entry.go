package cache

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Entry is one stored answer: complete, status 200, as its first client
// received it.
type Entry struct {
	// Stream reports whether Body is an event stream (the first request
	// was streamed) rather than a whole answer.
	Stream bool
	// ContentType is the answer's Content-Type.
	ContentType string
	// Target and Model are the target that answered and its upstream
	// model (X-LLM-Target, X-LLM-Model).
	Target, Model string
	// Usage is the answer's token usage.
	Usage llm.Usage
	// Stored is when the answer was stored.
	Stored time.Time
	// Body is the answer's body.
	Body []byte
}

// entryOverhead approximates what an entry costs besides its body and
// strings: the Entry, its list element and map slot, the key.
const entryOverhead = 256

// Size is what the entry counts against a memory store's max_size.
func (e *Entry) Size() int64 {
	return int64(len(e.Body)+len(e.ContentType)+len(e.Target)+len(e.Model)) + entryOverhead
}

// entryVersion starts an encoded entry; another version is not read.
const entryVersion = 1

// MarshalBinary encodes the entry (for the Redis store).
func (e *Entry) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, len(e.Body)+len(e.ContentType)+len(e.Target)+len(e.Model)+64)
	b = append(b, entryVersion)
	flags := byte(0)
	if e.Stream {
		flags = 1
	}
	b = append(b, flags)
	for _, s := range [...]string{e.ContentType, e.Target, e.Model, e.Usage.FinishReason} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, n := range [...]int64{e.Usage.PromptTokens, e.Usage.CompletionTokens, e.Usage.CacheReadTokens,
		e.Usage.CacheWriteTokens, e.Usage.ReasoningTokens, e.Stored.UnixMilli()} {
		b = binary.AppendVarint(b, n)
	}
	return append(b, e.Body...), nil
}

var errBadEntry = errors.New("cache: malformed entry")

// UnmarshalBinary decodes what MarshalBinary encoded. Body is a copy of
// the rest of b.
func (e *Entry) UnmarshalBinary(b []byte) error {
	if len(b) < 2 || b[0] != entryVersion {
		return errBadEntry
	}
	e.Stream = b[1]&1 != 0
	b = b[2:]
	var strs [4]string
	for i := range strs {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return errBadEntry
		}
		strs[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	var nums [6]int64
	for i := range nums {
		n, k := binary.Varint(b)
		if k <= 0 {
			return errBadEntry
		}
		nums[i] = n
		b = b[k:]
	}
	e.ContentType, e.Target, e.Model = strs[0], strs[1], strs[2]
	e.Usage = llm.Usage{PromptTokens: nums[0], CompletionTokens: nums[1], CacheReadTokens: nums[2],
		CacheWriteTokens: nums[3], ReasoningTokens: nums[4], FinishReason: strs[3]}
	e.Stored = time.UnixMilli(nums[5])
	e.Body = append([]byte(nil), b...)
	return nil
}
