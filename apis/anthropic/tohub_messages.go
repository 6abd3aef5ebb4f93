package anthropic

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// converter writes Messages API turns as hub messages into b.
type converter struct {
	b []byte
	n int // hub messages written
}

// open starts a hub message.
func (c *converter) open(role string) {
	if c.n > 0 {
		c.b = append(c.b, ',')
	}
	c.n++
	c.b = append(c.b, `{"role":"`...)
	c.b = append(c.b, role...)
	c.b = append(c.b, '"')
}

// blockFields are the fields of a content block that are translated.
type blockFields struct {
	typ, text, source, id, name, input, toolUseID, content, isError gjson.Result
	thinking, signature, data, cacheControl, title                  gjson.Result
}

func (f *blockFields) read(block gjson.Result) {
	block.ForEach(func(key, v gjson.Result) bool {
		var p *gjson.Result
		switch key.Str {
		case "type":
			p = &f.typ
		case "text":
			p = &f.text
		case "source":
			p = &f.source
		case "id":
			p = &f.id
		case "name":
			p = &f.name
		case "input":
			p = &f.input
		case "tool_use_id":
			p = &f.toolUseID
		case "content":
			p = &f.content
		case "is_error":
			p = &f.isError
		case "thinking":
			p = &f.thinking
		case "signature":
			p = &f.signature
		case "data":
			p = &f.data
		case "cache_control":
			p = &f.cacheControl
		case "title":
			p = &f.title
		default:
			return true
		}
		if !p.Exists() {
			*p = v
		}
		return true
	})
}

// system writes `system` as the first message: a string as it is, text
// blocks as text parts (one block without cache_control as a string).
func (c *converter) system(sys gjson.Result) {
	switch {
	case sys.Type == gjson.String:
		if sys.Str == "" {
			return
		}
		c.open("system")
		c.b = append(c.b, `,"content":`...)
		c.b = appendStr(c.b, sys)
		c.b = append(c.b, '}')
	case sys.IsArray():
		mark, n := len(c.b), c.n
		c.open("system")
		c.b = append(c.b, `,"content":`...)
		if c.textParts(sys) == 0 {
			c.b, c.n = c.b[:mark], n
			return
		}
		c.b = append(c.b, '}')
	}
}

// textParts writes the text blocks of blocks as the content of a message:
// a string when there is one without cache_control, else an array of text
// parts keeping their cache_control. It returns how many it wrote.
func (c *converter) textParts(blocks gjson.Result) int {
	var only blockFields
	count, marked := 0, false
	blocks.ForEach(func(_, bl gjson.Result) bool {
		var f blockFields
		f.read(bl)
		if f.typ.Str == "text" {
			count++
			only = f
			marked = marked || f.cacheControl.IsObject()
		}
		return true
	})
	switch {
	case count == 0:
		return 0
	case count == 1 && !marked:
		c.b = appendStr(c.b, only.text)
		return 1
	}
	c.b = append(c.b, '[')
	n := 0
	blocks.ForEach(func(_, bl gjson.Result) bool {
		var f blockFields
		f.read(bl)
		if f.typ.Str == "text" {
			if n > 0 {
				c.b = append(c.b, ',')
			}
			n++
			c.b = appendTextPart(c.b, f.text, f.cacheControl)
		}
		return true
	})
	c.b = append(c.b, ']')
	return n
}

// messages writes every turn.
func (c *converter) messages(msgs gjson.Result) *llm.Error {
	var e *llm.Error
	i := 0
	msgs.ForEach(func(_, m gjson.Result) bool {
		var role, content gjson.Result
		m.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "role":
				if !role.Exists() {
					role = v
				}
			case "content":
				if !content.Exists() {
					content = v
				}
			}
			return true
		})
		switch {
		case role.Str != "user" && role.Str != "assistant" && role.Str != "system":
			e = apis.Invalid("messages", "messages.%d.role: Input should be 'user' or 'assistant'", i)
		case content.Type != gjson.String && !content.IsArray():
			e = apis.Invalid("messages", "messages.%d.content: Input should be a valid string or list of content blocks", i)
		case role.Str == "system":
			// A system turn inside the conversation (Claude Code sends
			// them with a beta): a hub system message in its place.
			c.system(content)
		case role.Str == "user":
			e = c.user(i, content)
		default:
			e = c.assistant(i, content)
		}
		i++
		return e == nil
	})
	return e
}

// user writes a user turn: first one `tool` message per tool_result block
// (the hub wants tool results right after the assistant's tool calls), then
// one user message with the other blocks and the images of the tool
// results (a hub tool message holds text only).
func (c *converter) user(i int, content gjson.Result) *llm.Error {
	if content.Type == gjson.String {
		c.open("user")
		c.b = append(c.b, `,"content":`...)
		c.b = appendStr(c.b, content)
		c.b = append(c.b, '}')
		return nil
	}
	var (
		e                        *llm.Error
		others, images, texts, j int
		marked                   bool
	)
	content.ForEach(func(_, bl gjson.Result) bool {
		var f blockFields
		f.read(bl)
		switch f.typ.Str {
		case "tool_result":
			images += c.toolResult(&f)
		case "text":
			texts++
			others++
			marked = marked || f.cacheControl.IsObject()
		case "image", "document":
			others++
		default:
			e = unsupported(blockParam(i, j), "content blocks of type "+strconv.Quote(f.typ.Str))
		}
		j++
		return e == nil
	})
	if e != nil || others+images == 0 {
		return e
	}
	c.open("user")
	c.b = append(c.b, `,"content":`...)
	if texts == 1 && others == 1 && images == 0 && !marked {
		c.textParts(content)
		c.b = append(c.b, '}')
		return nil
	}
	c.b = append(c.b, '[')
	n := 0
	sep := func() {
		if n > 0 {
			c.b = append(c.b, ',')
		}
		n++
	}
	j = 0
	content.ForEach(func(_, bl gjson.Result) bool {
		var f blockFields
		f.read(bl)
		switch f.typ.Str {
		case "tool_result":
			if f.content.IsArray() {
				f.content.ForEach(func(_, inner gjson.Result) bool {
					var g blockFields
					g.read(inner)
					if g.typ.Str == "image" {
						sep()
						c.b, e = appendImage(c.b, &g, blockParam(i, j))
					}
					return e == nil
				})
			}
		case "text":
			sep()
			c.b = appendTextPart(c.b, f.text, f.cacheControl)
		case "image":
			sep()
			c.b, e = appendImage(c.b, &f, blockParam(i, j))
		case "document":
			sep()
			c.b, e = appendDocument(c.b, &f, blockParam(i, j))
		}
		j++
		return e == nil
	})
	c.b = append(c.b, "]}"...)
	return e
}

// blockParam names content block j of message i.
func blockParam(i, j int) string {
	return "messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j)
}

// toolResult writes a tool_result block as a `tool` message: its text
// (a string, or its text blocks joined by blank lines), prefixed with
// "Error: " when is_error is set, and its cache_control on the message. It
// returns how many images the result holds, which go to the user message.
func (c *converter) toolResult(f *blockFields) (images int) {
	c.open("tool")
	c.b = append(c.b, `,"tool_call_id":`...)
	c.b = appendStr(c.b, f.toolUseID)
	c.b = append(c.b, `,"content":"`...)
	if f.isError.Type == gjson.True {
		c.b = append(c.b, "Error: "...)
	}
	switch {
	case f.content.Type == gjson.String:
		c.b = appendStrInner(c.b, f.content)
	case f.content.IsArray():
		n := 0
		f.content.ForEach(func(_, bl gjson.Result) bool {
			var g blockFields
			g.read(bl)
			switch g.typ.Str {
			case "text":
				if n > 0 {
					c.b = append(c.b, `\n\n`...)
				}
				n++
				c.b = appendStrInner(c.b, g.text)
			case "image":
				images++
			case "document":
				if s := g.source; s.Get("type").Str == "text" {
					if n > 0 {
						c.b = append(c.b, `\n\n`...)
					}
					n++
					c.b = appendStrInner(c.b, s.Get("data"))
				}
			}
			return true
		})
	}
	c.b = append(c.b, '"')
	if f.cacheControl.IsObject() {
		c.b = append(c.b, `,"cache_control":`...)
		c.b = append(c.b, f.cacheControl.Raw...)
	}
	c.b = append(c.b, '}')
	return images
}

// appendStr writes a JSON string value as the client wrote it (it is valid
// JSON: copying beats unescaping and escaping again), "" for any other
// value.
func appendStr(b []byte, v gjson.Result) []byte {
	if v.Type != gjson.String || len(v.Raw) < 2 {
		return append(b, `""`...)
	}
	return append(b, v.Raw...)
}

// appendStrInner writes a JSON string value as the client wrote it, without
// its quotes (to join several into one string).
func appendStrInner(b []byte, v gjson.Result) []byte {
	if v.Type != gjson.String || len(v.Raw) < 2 {
		return b
	}
	return append(b, v.Raw[1:len(v.Raw)-1]...)
}

// appendInner appends s JSON-escaped, without the surrounding quotes.
func appendInner(b []byte, s string) []byte {
	start := len(b)
	b = llm.AppendString(b, s)
	n := copy(b[start:], b[start+1:len(b)-1])
	return b[:start+n]
}

// assistant writes an assistant turn as one message: its text blocks as
// `content`, its thinking and redacted_thinking blocks as `thinking_blocks`
// (signatures kept) with the thinking text joined as `reasoning_content`,
// and its tool_use blocks as `tool_calls` with the input as a JSON string.
func (c *converter) assistant(i int, content gjson.Result) *llm.Error {
	c.open("assistant")
	c.b = append(c.b, `,"content":`...)
	if content.Type == gjson.String {
		c.b = appendStr(c.b, content)
		c.b = append(c.b, '}')
		return nil
	}
	var (
		e                      *llm.Error
		thinks, tools, reasons int
		j                      int
	)
	content.ForEach(func(_, bl gjson.Result) bool {
		switch bl.Get("type").Str {
		case "text":
		case "thinking":
			thinks++
			reasons++
		case "redacted_thinking":
			thinks++
		case "tool_use":
			tools++
		default:
			e = unsupported(blockParam(i, j), "content blocks of type "+strconv.Quote(bl.Get("type").Str))
		}
		j++
		return e == nil
	})
	if e != nil {
		return e
	}
	if c.textParts(content) == 0 {
		c.b = append(c.b, "null"...)
	}
	if reasons > 0 {
		c.b = append(c.b, `,"reasoning_content":"`...)
		content.ForEach(func(_, bl gjson.Result) bool {
			if bl.Get("type").Str == "thinking" {
				c.b = appendStrInner(c.b, bl.Get("thinking"))
			}
			return true
		})
		c.b = append(c.b, '"')
	}
	if thinks > 0 {
		c.b = append(c.b, `,"thinking_blocks":[`...)
		n := 0
		content.ForEach(func(_, bl gjson.Result) bool {
			var f blockFields
			f.read(bl)
			switch f.typ.Str {
			case "thinking":
				if n > 0 {
					c.b = append(c.b, ',')
				}
				n++
				c.b = append(c.b, `{"type":"thinking","thinking":`...)
				c.b = appendStr(c.b, f.thinking)
				c.b = append(c.b, `,"signature":`...)
				c.b = appendStr(c.b, f.signature)
				c.b = append(c.b, '}')
			case "redacted_thinking":
				if n > 0 {
					c.b = append(c.b, ',')
				}
				n++
				c.b = append(c.b, `{"type":"redacted_thinking","data":`...)
				c.b = appendStr(c.b, f.data)
				c.b = append(c.b, '}')
			}
			return true
		})
		c.b = append(c.b, ']')
	}
	if tools > 0 {
		c.b = append(c.b, `,"tool_calls":[`...)
		n := 0
		content.ForEach(func(_, bl gjson.Result) bool {
			var f blockFields
			f.read(bl)
			if f.typ.Str != "tool_use" {
				return true
			}
			if n > 0 {
				c.b = append(c.b, ',')
			}
			n++
			c.b = append(c.b, `{"id":`...)
			c.b = appendStr(c.b, f.id)
			c.b = append(c.b, `,"type":"function","function":{"name":`...)
			c.b = appendStr(c.b, f.name)
			c.b = append(c.b, `,"arguments":`...)
			if f.input.IsObject() {
				c.b = llm.AppendString(c.b, f.input.Raw)
			} else {
				c.b = append(c.b, `"{}"`...)
			}
			c.b = append(c.b, "}}"...)
			return true
		})
		c.b = append(c.b, ']')
	}
	c.b = append(c.b, '}')
	return nil
}

// appendTextPart writes a hub text part.
func appendTextPart(b []byte, text, cc gjson.Result) []byte {
	b = append(b, `{"type":"text","text":`...)
	b = appendStr(b, text)
	if cc.IsObject() {
		b = append(b, `,"cache_control":`...)
		b = append(b, cc.Raw...)
	}
	return append(b, '}')
}

// appendImage writes an image block as an image_url part: a base64 source
// as a data: URL, a url source as its URL.
func appendImage(b []byte, f *blockFields, param string) ([]byte, *llm.Error) {
	src := f.source
	var url string
	switch src.Get("type").Str {
	case "base64":
		b = append(b, `{"type":"image_url","image_url":{"url":"data:`...)
		b = appendStrInner(b, src.Get("media_type"))
		b = append(b, ";base64,"...)
		b = appendStrInner(b, src.Get("data"))
		b = append(b, `"}`...)
	case "url":
		url = src.Get("url").Str
		b = append(b, `{"type":"image_url","image_url":{"url":`...)
		b = llm.AppendString(b, url)
		b = append(b, '}')
	default:
		return b, unsupported(param, "image sources of type "+strconv.Quote(src.Get("type").Str))
	}
	if f.cacheControl.IsObject() {
		b = append(b, `,"cache_control":`...)
		b = append(b, f.cacheControl.Raw...)
	}
	return append(b, '}'), nil
}

// appendDocument writes a document block: a base64 PDF as a file part, a
// plain-text document as a text part.
func appendDocument(b []byte, f *blockFields, param string) ([]byte, *llm.Error) {
	src := f.source
	switch typ := src.Get("type").Str; {
	case typ == "base64" && src.Get("media_type").Str == "application/pdf":
		b = append(b, `{"type":"file","file":{"file_data":"data:application/pdf;base64,`...)
		b = appendStrInner(b, src.Get("data"))
		b = append(b, '"')
		if f.title.Type == gjson.String && f.title.Str != "" {
			b = append(b, `,"filename":`...)
			b = appendStr(b, f.title)
		}
		b = append(b, '}')
		if f.cacheControl.IsObject() {
			b = append(b, `,"cache_control":`...)
			b = append(b, f.cacheControl.Raw...)
		}
		return append(b, '}'), nil
	case typ == "text":
		return appendTextPart(b, src.Get("data"), f.cacheControl), nil
	}
	return b, unsupported(param, "document sources other than base64 PDF and plain text")
}
