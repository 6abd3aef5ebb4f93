package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Key identifies a cached answer: the SHA-256 of everything that decides
// it.
type Key [sha256.Size]byte

// String is the key in hex, as the Redis store names it.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Request is what a key is made of.
type Request struct {
	// API is the inbound API's name (openai, anthropic, …).
	API string
	// Op is the operation (the endpoint).
	Op llm.Op
	// Model is the model the client asked for (an alias or a model), as it
	// resolves; Target the target the client forced (X-LLM-Target), if
	// any; Models the body's list of further models to try.
	Model, Target string
	Models        []string
	// KeyName is the name of the client's router key, "" without keys:
	// entries of one key are never served to another.
	KeyName string
	// Credential is the client's own key when the router may forward it
	// upstream (bring your own key, without router keys): an answer is
	// then never served to a client with another key, which the upstream
	// might have refused.
	Credential string
	// Header holds client headers that change the answer (Anthropic's
	// anthropic-version and anthropic-beta), in any order.
	Header map[string][]string
	// Body is the client's JSON body. Its members' order, whitespace and
	// the way its strings are escaped do not change the key, nor do the
	// top-level members `stream`, `stream_options`, `user` and `metadata`;
	// any other difference does.
	Body []byte
}

// ignored are the top-level members that do not change the answer's
// content.
var ignored = [...]string{"stream", "stream_options", "user", "metadata"}

// NewKey returns the key of r.
func NewKey(r *Request) Key {
	c := keyPool.Get().(*canon)
	b := c.b[:0]
	field := func(s string) {
		b = llm.AppendInt(b, int64(len(s)))
		b = append(b, ':')
		b = append(b, s...)
	}
	field(r.API)
	b = append(b, byte(r.Op))
	field(r.Model)
	field(r.Target)
	b = llm.AppendInt(b, int64(len(r.Models)))
	for _, m := range r.Models {
		field(m)
	}
	field(r.KeyName)
	field(r.Credential)
	if len(r.Header) > 0 {
		names := make([]string, 0, len(r.Header))
		for k := range r.Header {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			field(strings.ToLower(k))
			b = llm.AppendInt(b, int64(len(r.Header[k])))
			for _, v := range r.Header[k] {
				field(v)
			}
		}
	}
	b = append(b, '|')
	c.b = b
	c.value(gjson.Parse(llm.BytesString(r.Body)), true)
	k := Key(sha256.Sum256(c.b))
	if cap(c.b) <= 1<<20 {
		c.b = c.b[:0]
		clear(c.members[:cap(c.members)]) // no body kept alive by the pool
		c.members = c.members[:0]
		keyPool.Put(c)
	}
	return k
}

var keyPool = sync.Pool{New: func() any { return &canon{b: make([]byte, 0, 4096)} }}

// canon writes JSON canonically: objects with their members sorted by
// key, no whitespace, strings escaped one way, numbers as written.
type canon struct {
	b       []byte
	members []member // a stack shared by the nested objects
}

type member struct {
	key string
	val gjson.Result
}

func (c *canon) value(v gjson.Result, top bool) {
	switch {
	case v.IsObject():
		c.object(v, top)
	case v.IsArray():
		c.b = append(c.b, '[')
		first := true
		v.ForEach(func(_, e gjson.Result) bool {
			if !first {
				c.b = append(c.b, ',')
			}
			first = false
			c.value(e, false)
			return true
		})
		c.b = append(c.b, ']')
	case v.Type == gjson.String:
		c.b = llm.AppendString(c.b, v.Str)
	case v.Type == gjson.True:
		c.b = append(c.b, "true"...)
	case v.Type == gjson.False:
		c.b = append(c.b, "false"...)
	case v.Type == gjson.Number:
		c.b = append(c.b, v.Raw...)
	default:
		c.b = append(c.b, "null"...)
	}
}

func (c *canon) object(v gjson.Result, top bool) {
	start := len(c.members)
	v.ForEach(func(k, e gjson.Result) bool {
		if top && slices.Contains(ignored[:], k.Str) {
			return true
		}
		c.members = append(c.members, member{k.Str, e})
		return true
	})
	ms := c.members[start:]
	// Stable: a key given twice keeps its members' order.
	slices.SortStableFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	c.b = append(c.b, '{')
	for i := range ms {
		if i > 0 {
			c.b = append(c.b, ',')
		}
		m := c.members[start+i] // re-read: nested objects may grow the stack
		c.b = llm.AppendString(c.b, m.key)
		c.b = append(c.b, ':')
		c.value(m.val, false)
	}
	c.b = append(c.b, '}')
	c.members = c.members[:start]
}
