package anthropic

import (
	"encoding/base64"
	"net/url"
	"strings"
	"sync"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// turns writes OpenAI messages as Messages API turns. Blocks are written
// as they come; a turn is opened by its first block, so a message that
// yields no block (empty text) opens none, and consecutive messages of one
// role (after mapping: tool results are user content) share one turn, as
// the API wants roles to alternate.
type turns struct {
	b     []byte // the request body, from `"messages":` on
	sys   []byte // the `system` blocks, comma-separated
	role  string // role of the open turn, "" before the first
	n     int    // blocks in the open turn
	count int    // turns opened
}

// messageFields are the fields of one OpenAI message that are translated.
type messageFields struct {
	role, content, toolCalls, toolCallID, cacheControl, thinkingBlocks gjson.Result
}

func (f *messageFields) read(m gjson.Result) {
	m.ForEach(func(key, v gjson.Result) bool {
		var p *gjson.Result
		switch key.Str {
		case "role":
			p = &f.role
		case "content":
			p = &f.content
		case "tool_calls":
			p = &f.toolCalls
		case "tool_call_id":
			p = &f.toolCallID
		case "cache_control":
			p = &f.cacheControl
		case "thinking_blocks":
			p = &f.thinkingBlocks
		default:
			return true
		}
		if !p.Exists() {
			*p = v
		}
		return true
	})
}

// messages writes the `messages` array and collects the system blocks.
func (t *turns) messages(msgs gjson.Result) {
	t.b = append(t.b, '[')
	msgs.ForEach(func(_, m gjson.Result) bool {
		var f messageFields
		f.read(m)
		switch f.role.Str {
		case "system", "developer":
			t.system(f.content, f.cacheControl)
		case "assistant":
			t.thinking(f.thinkingBlocks)
			t.content("assistant", f.content, f.cacheControl)
			t.toolUses(f.toolCalls)
		case "tool":
			t.toolResult(f.toolCallID, f.content, f.cacheControl)
		default:
			t.content("user", f.content, f.cacheControl)
		}
		return true
	})
	if t.count > 0 {
		t.b = append(t.b, "]}"...)
	}
	t.b = append(t.b, ']')
}

// block starts a block of role, opening a turn when the role changes.
func (t *turns) block(role string) {
	if t.role != role {
		if t.count > 0 {
			t.b = append(t.b, "]},"...)
		}
		t.b = append(t.b, `{"role":"`...)
		t.b = append(t.b, role...)
		t.b = append(t.b, `","content":[`...)
		t.role, t.n = role, 0
		t.count++
	}
	if t.n > 0 {
		t.b = append(t.b, ',')
	}
	t.n++
}

// system adds a system or developer message's text to `system`.
func (t *turns) system(content, cacheControl gjson.Result) {
	add := func(text, cc gjson.Result) {
		if isBlank(text.Str) {
			return
		}
		if len(t.sys) > 0 {
			t.sys = append(t.sys, ',')
		}
		t.sys = appendText(t.sys, text.Str, cc)
	}
	if content.IsArray() {
		content.ForEach(func(_, part gjson.Result) bool {
			var f [4]gjson.Result // type, text, image_url, cache_control
			pick(part, partKeys, f[:])
			if f[0].Str == "text" {
				add(f[1], f[3])
			}
			return true
		})
		return
	}
	add(content, cacheControl)
}

// content writes a user or assistant message's content: a string, or an
// array of text, image_url, file and refusal parts. A string's block takes
// the message's own cache_control, if any; parts keep theirs.
func (t *turns) content(role string, content, cacheControl gjson.Result) {
	if !content.IsArray() {
		if content.Type == gjson.String && !isBlank(content.Str) {
			t.block(role)
			t.b = appendText(t.b, content.Str, cacheControl)
		}
		return
	}
	content.ForEach(func(_, part gjson.Result) bool {
		t.part(role, part)
		return true
	})
}

// part writes one content part.
func (t *turns) part(role string, part gjson.Result) {
	var typ, text, refusal, image, file, cc gjson.Result
	part.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "type":
			typ = v
		case "text":
			text = v
		case "refusal":
			refusal = v
		case "image_url":
			image = v
		case "file":
			file = v
		case "cache_control":
			cc = v
		}
		return true
	})
	switch typ.Str {
	case "text":
		if !isBlank(text.Str) {
			t.block(role)
			t.b = appendText(t.b, text.Str, cc)
		}
	case "refusal":
		if !isBlank(refusal.Str) {
			t.block(role)
			t.b = appendText(t.b, refusal.Str, cc)
		}
	case "image_url":
		if u := imageURL(image); u != "" {
			t.block(role)
			t.b = appendImage(t.b, u, cc)
		}
	case "file":
		if data, ok := pdfData(file.Get("file_data").Str); ok {
			t.block(role)
			t.b = appendDocument(t.b, data, file.Get("filename").Str, cc)
		}
	}
}

// thinking writes an assistant message's thinking_blocks (the hub's record
// of earlier Claude thinking) as thinking and redacted_thinking blocks, which
// the Messages API wants back, before the text and tool_use blocks, when
// the turn continues with tools. A thinking block without a signature did
// not come from Claude and would be refused: it is left out.
func (t *turns) thinking(blocks gjson.Result) {
	blocks.ForEach(func(_, tb gjson.Result) bool {
		switch tb.Get("type").Str {
		case "thinking":
			sig := tb.Get("signature")
			if sig.Type != gjson.String || sig.Str == "" {
				return true
			}
			t.block("assistant")
			t.b = append(t.b, `{"type":"thinking","thinking":`...)
			t.b = llm.AppendString(t.b, tb.Get("thinking").Str)
			t.b = append(t.b, `,"signature":`...)
			t.b = llm.AppendString(t.b, sig.Str)
			t.b = append(t.b, '}')
		case "redacted_thinking":
			data := tb.Get("data")
			if data.Type != gjson.String || data.Str == "" {
				return true
			}
			t.block("assistant")
			t.b = append(t.b, `{"type":"redacted_thinking","data":`...)
			t.b = llm.AppendString(t.b, data.Str)
			t.b = append(t.b, '}')
		}
		return true
	})
}

// toolUses writes an assistant message's tool_calls as tool_use blocks.
func (t *turns) toolUses(calls gjson.Result) {
	calls.ForEach(func(_, call gjson.Result) bool {
		var c, fn [2]gjson.Result
		pick(call, idFunctionKeys, c[:])
		pick(c[1], nameArgumentsKeys, fn[:])
		t.block("assistant")
		t.b = append(t.b, `{"type":"tool_use","id":`...)
		t.b = appendID(t.b, c[0].Str)
		t.b = append(t.b, `,"name":`...)
		t.b = llm.AppendString(t.b, fn[0].Str)
		t.b = append(t.b, `,"input":`...)
		t.b = appendInput(t.b, fn[1])
		t.b = append(t.b, '}')
		return true
	})
}

var (
	idFunctionKeys    = []string{"id", "function"}
	nameArgumentsKeys = []string{"name", "arguments"}
	partKeys          = []string{"type", "text", "image_url", "cache_control"}
)

// pick reads the values of keys from obj in one pass into out (as long as
// keys); a key given twice counts once, the first time, as gjson.Get
// reads it.
func pick(obj gjson.Result, keys []string, out []gjson.Result) {
	obj.ForEach(func(k, v gjson.Result) bool {
		for i, key := range keys {
			if k.Str == key && !out[i].Exists() {
				out[i] = v
			}
		}
		return true
	})
}

// imageURL is the URL of an image_url value: {"url":…} or, as some
// clients send it, the URL itself.
func imageURL(v gjson.Result) string {
	if v.IsObject() {
		return v.Get("url").Str
	}
	return v.Str
}

// toolResult writes a tool message as a tool_result block of a user turn;
// consecutive tool messages share that turn.
func (t *turns) toolResult(id, content, cacheControl gjson.Result) {
	t.block("user")
	t.b = append(t.b, `{"type":"tool_result","tool_use_id":`...)
	t.b = appendID(t.b, id.Str)
	switch {
	case content.IsArray():
		mark := len(t.b)
		t.b = append(t.b, `,"content":[`...)
		n := 0
		content.ForEach(func(_, part gjson.Result) bool {
			var f [4]gjson.Result // type, text, image_url, cache_control
			pick(part, partKeys, f[:])
			switch f[0].Str {
			case "text":
				if isBlank(f[1].Str) {
					return true
				}
				if n > 0 {
					t.b = append(t.b, ',')
				}
				t.b = appendText(t.b, f[1].Str, f[3])
				n++
			case "image_url":
				if u := imageURL(f[2]); u != "" {
					if n > 0 {
						t.b = append(t.b, ',')
					}
					t.b = appendImage(t.b, u, f[3])
					n++
				}
			}
			return true
		})
		if n == 0 {
			t.b = t.b[:mark]
		} else {
			t.b = append(t.b, ']')
		}
	case content.Type == gjson.String && content.Str != "":
		t.b = append(t.b, `,"content":`...)
		t.b = llm.AppendString(t.b, content.Str)
	}
	t.b = appendCacheControl(t.b, cacheControl)
	t.b = append(t.b, '}')
}

// appendText writes a text block.
func appendText(b []byte, text string, cc gjson.Result) []byte {
	b = append(b, `{"type":"text","text":`...)
	b = llm.AppendString(b, text)
	b = appendCacheControl(b, cc)
	return append(b, '}')
}

// appendImage writes an image block: a data URL as a base64 source, any
// other URL as a url source.
func appendImage(b []byte, u string, cc gjson.Result) []byte {
	b = append(b, `{"type":"image","source":`...)
	if media, data, isB64, ok := parseDataURL(u); ok {
		b = append(b, `{"type":"base64","media_type":`...)
		b = llm.AppendString(b, media)
		b = append(b, `,"data":"`...)
		if isB64 {
			b = appendBase64Text(b, data)
		} else {
			raw, err := url.PathUnescape(data)
			if err != nil {
				raw = data
			}
			b = base64.StdEncoding.AppendEncode(b, []byte(raw))
		}
		b = append(b, `"}`...)
	} else {
		b = append(b, `{"type":"url","url":`...)
		b = llm.AppendString(b, u)
		b = append(b, '}')
	}
	b = appendCacheControl(b, cc)
	return append(b, '}')
}

// appendBase64Text copies base64 text, dropping what cannot be part of it
// (whitespace that some encoders wrap lines with, or anything worse), so it
// never needs escaping.
func appendBase64Text(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_' {
			b = append(b, c)
		}
	}
	return b
}

// appendDocument writes a PDF as a base64 document block.
func appendDocument(b []byte, data, title string, cc gjson.Result) []byte {
	b = append(b, `{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"`...)
	b = appendBase64Text(b, data)
	b = append(b, `"}`...)
	if title != "" {
		b = append(b, `,"title":`...)
		b = llm.AppendString(b, title)
	}
	b = appendCacheControl(b, cc)
	return append(b, '}')
}

// appendCacheControl keeps a part's cache_control marker as it is.
func appendCacheControl(b []byte, cc gjson.Result) []byte {
	if !cc.IsObject() {
		return b
	}
	b = append(b, `,"cache_control":`...)
	return append(b, cc.Raw...)
}

// appendInput writes tool-call arguments (a JSON string holding an object)
// as a tool_use input object; arguments that are not an object become {}.
func appendInput(b []byte, args gjson.Result) []byte {
	switch {
	case args.IsObject():
		return append(b, args.Raw...)
	case args.Type == gjson.String:
		s := strings.TrimSpace(args.Str)
		if len(s) > 0 && s[0] == '{' && gjson.Valid(s) {
			return append(b, s...)
		}
	}
	return append(b, "{}"...)
}

// appendID writes a tool-call id as the API accepts it
// (^[a-zA-Z0-9_-]+$): other characters become '_', and an empty id "call".
// The same id maps to the same result, so tool_use and tool_result match.
func appendID(b []byte, id string) []byte {
	if id == "" {
		return append(b, `"call"`...)
	}
	b = append(b, '"')
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return append(b, '"')
}

// isBlank reports whether s has nothing but whitespace: the API rejects
// such text blocks.
func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// getScratch returns an empty byte slice from a pool; give it back with
// putScratch.
func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

func putScratch(p *[]byte) {
	if cap(*p) > 1<<20 {
		return
	}
	*p = (*p)[:0]
	scratchPool.Put(p)
}
