package responses

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// messages writes the hub messages of `instructions` and `input`. The items
// of one assistant turn — reasoning, message text, function calls, which
// the Responses API lists as separate items — become one assistant
// message.
func (h *hub) messages(instructions, input gjson.Result) *llm.Error {
	m := msgs{h: h}
	switch instructions.Type {
	case gjson.String:
		if instructions.Str != "" {
			m.open()
			h.b = append(h.b, `{"role":"system","content":`...)
			h.b = append(h.b, instructions.Raw...)
			h.b = append(h.b, '}')
		}
	case gjson.Null:
	default:
		if instructions.Exists() {
			return apis.Invalid("instructions", "'instructions' must be a string")
		}
	}
	switch {
	case input.Type == gjson.String:
		m.open()
		h.b = append(h.b, `{"role":"user","content":`...)
		h.b = append(h.b, input.Raw...)
		h.b = append(h.b, '}')
	case input.IsArray():
		var e *llm.Error
		i := 0
		input.ForEach(func(_, item gjson.Result) bool {
			e = m.item(i, item)
			i++
			return e == nil
		})
		if e != nil {
			return e
		}
		m.flush()
	}
	if m.n == 0 {
		return apis.Invalid("input", "'input' holds no message the model could answer")
	}
	return nil
}

// msgs writes messages, merging the items of an assistant turn.
type msgs struct {
	h *hub
	n int // messages written

	// The pending assistant message.
	reasoning []byte // raw text of reasoning items, unescaped
	text      []byte // its text, unescaped
	hasText   bool
	calls     []byte // its tool_calls, comma-separated
}

// open starts a message, after a comma when one was written.
func (m *msgs) open() {
	if m.n > 0 {
		m.h.b = append(m.h.b, ',')
	}
	m.n++
}

// itemFields are the fields of one input item that are translated.
type itemFields struct {
	typ, role, content, callID, name, arguments, input, output, summary gjson.Result
}

func (f *itemFields) read(item gjson.Result) {
	item.ForEach(func(key, v gjson.Result) bool {
		var p *gjson.Result
		switch key.Str {
		case "type":
			p = &f.typ
		case "role":
			p = &f.role
		case "content":
			p = &f.content
		case "call_id":
			p = &f.callID
		case "name":
			p = &f.name
		case "arguments":
			p = &f.arguments
		case "input":
			p = &f.input
		case "output":
			p = &f.output
		case "summary":
			p = &f.summary
		default:
			return true
		}
		if !p.Exists() {
			*p = v
		}
		return true
	})
}

// item translates input item i.
func (m *msgs) item(i int, item gjson.Result) *llm.Error {
	if !item.IsObject() {
		return apis.Invalid(itemParam(i, ""), "input items must be objects")
	}
	var f itemFields
	f.read(item)
	typ := f.typ.Str
	if typ == "" && f.role.Exists() {
		typ = "message"
	}
	switch typ {
	case "message":
		return m.message(i, &f)
	case "function_call":
		return m.call(i, &f, f.arguments.Raw, false)
	case "custom_tool_call":
		return m.call(i, &f, "", true)
	case "function_call_output", "custom_tool_call_output":
		return m.output(i, &f)
	case "reasoning":
		m.reasoningItem(&f)
	}
	// item_reference, built-in tool calls and their outputs, compaction
	// and unknown items have no stateless hub equivalent: dropped.
	return nil
}

func itemParam(i int, field string) string {
	p := "input[" + strconv.Itoa(i) + "]"
	if field != "" {
		p += "." + field
	}
	return p
}

// message translates a message item.
func (m *msgs) message(i int, f *itemFields) *llm.Error {
	role := f.role.Str
	switch role {
	case "assistant":
		if len(m.calls) > 0 {
			m.flush() // text after tool calls starts a new message
		}
		if f.content.Type == gjson.String {
			m.text = append(m.text, f.content.Str...)
			m.hasText = true
			return nil
		}
		var e *llm.Error
		j := 0
		f.content.ForEach(func(_, part gjson.Result) bool {
			switch typ := part.Get("type").Str; typ {
			case "output_text", "input_text", "text":
				m.text = append(m.text, part.Get("text").Str...)
				m.hasText = true
			case "refusal":
				m.text = append(m.text, part.Get("refusal").Str...)
				m.hasText = true
			default:
				e = unsupported(itemParam(i, "content["+strconv.Itoa(j)+"]"), "assistant content parts of type "+quote(typ))
			}
			j++
			return e == nil
		})
		return e
	case "user", "system", "developer":
	default:
		return apis.Invalid(itemParam(i, "role"), "role must be user, assistant, system or developer, not %s", quote(role))
	}
	m.flush()
	m.open()
	b := append(m.h.b, `{"role":"`...)
	b = append(b, role...)
	b = append(b, `","content":`...)
	m.h.b = b
	if f.content.Type == gjson.String {
		m.h.b = append(m.h.b, f.content.Raw...)
		m.h.b = append(m.h.b, '}')
		return nil
	}
	if !f.content.IsArray() {
		return apis.Invalid(itemParam(i, "content"), "content must be a string or an array of content parts")
	}
	if e := m.parts(i, f.content, role == "user", false); e != nil {
		return e
	}
	m.h.b = append(m.h.b, '}')
	return nil
}

// parts writes content parts as hub parts; only user messages carry
// images and files (media). With mediaOnly, text parts are left out.
func (m *msgs) parts(i int, content gjson.Result, media, mediaOnly bool) *llm.Error {
	b := append(m.h.b, '[')
	var e *llm.Error
	j, n := 0, 0
	content.ForEach(func(_, part gjson.Result) bool {
		k := j
		param := func(field string) string {
			return itemParam(i, "content["+strconv.Itoa(k)+"]"+field)
		}
		j++
		typ := part.Get("type").Str
		text := typ == "input_text" || typ == "output_text" || typ == "text" || typ == "refusal"
		if text && mediaOnly {
			return true
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		switch {
		case typ == "refusal":
			b = append(b, `{"type":"text","text":`...)
			b = appendRawString(b, part.Get("refusal"))
			b = append(b, '}')
		case text:
			b = append(b, `{"type":"text","text":`...)
			b = appendRawString(b, part.Get("text"))
			b = append(b, '}')
		case typ == "input_image" && media:
			url := part.Get("image_url")
			if url.Type != gjson.String || url.Str == "" {
				e = unsupported(param(".file_id"), "images are translated when given by image_url (a URL or a data URL), not by file id")
				return false
			}
			b = append(b, `{"type":"image_url","image_url":{"url":`...)
			b = append(b, url.Raw...)
			if d := part.Get("detail"); d.Type == gjson.String {
				b = append(b, `,"detail":`...)
				b = append(b, d.Raw...)
			}
			b = append(b, "}}"...)
		case typ == "input_file" && media:
			data := part.Get("file_data")
			if data.Type != gjson.String || data.Str == "" {
				e = unsupported(param(".file_id"), "files are translated when given inline by file_data, not by file id or file_url")
				return false
			}
			b = append(b, `{"type":"file","file":{"file_data":`...)
			b = append(b, data.Raw...)
			if fn := part.Get("filename"); fn.Type == gjson.String {
				b = append(b, `,"filename":`...)
				b = append(b, fn.Raw...)
			}
			b = append(b, "}}"...)
		default:
			e = unsupported(param(".type"), "content parts of type "+quote(typ)+" in this message")
			return false
		}
		return true
	})
	m.h.b = append(b, ']')
	return e
}

// appendRawString appends a string value as it was written, or "" when it
// is not a string.
func appendRawString(b []byte, v gjson.Result) []byte {
	if v.Type == gjson.String {
		return append(b, v.Raw...)
	}
	return append(b, `""`...)
}

// call adds a function_call or custom_tool_call item to the pending
// assistant message. A custom tool's input becomes the argument `input`
// of the function it is declared as.
func (m *msgs) call(i int, f *itemFields, args string, custom bool) *llm.Error {
	if f.callID.Type != gjson.String || f.callID.Str == "" {
		return apis.Invalid(itemParam(i, "call_id"), "a %s item needs a call_id", f.typ.Str)
	}
	if f.name.Type != gjson.String || f.name.Str == "" {
		return apis.Invalid(itemParam(i, "name"), "a %s item needs a name", f.typ.Str)
	}
	if len(m.calls) > 0 {
		m.calls = append(m.calls, ',')
	}
	m.calls = append(m.calls, `{"id":`...)
	m.calls = append(m.calls, f.callID.Raw...)
	m.calls = append(m.calls, `,"type":"function","function":{"name":`...)
	m.calls = append(m.calls, f.name.Raw...)
	m.calls = append(m.calls, `,"arguments":`...)
	switch {
	case custom:
		obj := llm.AppendString(append(make([]byte, 0, len(f.input.Raw)+16), `{"input":`...), f.input.Str)
		obj = append(obj, '}')
		m.calls = llm.AppendString(m.calls, llm.BytesString(obj))
	case f.arguments.Type == gjson.String:
		m.calls = append(m.calls, args...)
	default:
		m.calls = append(m.calls, `"{}"`...)
	}
	m.calls = append(m.calls, "}}"...)
	return nil
}

// output writes a tool result. Text parts of an array output are joined;
// images follow in a user message, since hub tool messages carry text.
func (m *msgs) output(i int, f *itemFields) *llm.Error {
	if f.callID.Type != gjson.String || f.callID.Str == "" {
		return apis.Invalid(itemParam(i, "call_id"), "a %s item needs a call_id", f.typ.Str)
	}
	m.flush()
	m.open()
	b := append(m.h.b, `{"role":"tool","tool_call_id":`...)
	b = append(b, f.callID.Raw...)
	b = append(b, `,"content":`...)
	hasMedia := false
	switch {
	case f.output.Type == gjson.String:
		b = append(b, f.output.Raw...)
	case f.output.IsArray():
		sp := llm.GetBuffer()
		f.output.ForEach(func(_, part gjson.Result) bool {
			switch part.Get("type").Str {
			case "input_text", "output_text", "text":
				sp.WriteString(part.Get("text").Str)
			case "input_image", "input_file":
				hasMedia = true
			}
			return true
		})
		b = llm.AppendString(b, llm.BytesString(sp.Bytes()))
		llm.PutBuffer(sp)
	default:
		b = append(b, `""`...)
	}
	m.h.b = append(b, '}')
	if !hasMedia {
		return nil
	}
	m.open()
	m.h.b = append(m.h.b, `{"role":"user","content":`...)
	if e := m.parts(i, f.output, true, true); e != nil {
		return e
	}
	m.h.b = append(m.h.b, '}')
	return nil
}

// reasoningItem keeps the readable text of a reasoning item (its
// reasoning_text content, else its summary) for the next assistant
// message; encrypted reasoning is dropped.
func (m *msgs) reasoningItem(f *itemFields) {
	if m.hasText || len(m.calls) > 0 {
		m.flush()
	}
	add := func(parts gjson.Result, typ string) bool {
		added := false
		parts.ForEach(func(_, p gjson.Result) bool {
			if p.Get("type").Str != typ {
				return true
			}
			if t := p.Get("text").Str; t != "" {
				if len(m.reasoning) > 0 {
					m.reasoning = append(m.reasoning, "\n\n"...)
				}
				m.reasoning = append(m.reasoning, t...)
				added = true
			}
			return true
		})
		return added
	}
	if !add(f.content, "reasoning_text") {
		add(f.summary, "summary_text")
	}
}

// flush writes the pending assistant message, if it has text or tool
// calls (reasoning alone is dropped).
func (m *msgs) flush() {
	if !m.hasText && len(m.calls) == 0 {
		m.reasoning = m.reasoning[:0]
		return
	}
	m.open()
	b := append(m.h.b, `{"role":"assistant","content":`...)
	if m.hasText {
		b = llm.AppendString(b, llm.BytesString(m.text))
	} else {
		b = append(b, "null"...)
	}
	if len(m.reasoning) > 0 {
		b = append(b, `,"reasoning_content":`...)
		b = llm.AppendString(b, llm.BytesString(m.reasoning))
	}
	if len(m.calls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		b = append(b, m.calls...)
		b = append(b, ']')
	}
	m.h.b = append(b, '}')
	m.reasoning, m.text, m.calls, m.hasText = m.reasoning[:0], m.text[:0], m.calls[:0], false
}
