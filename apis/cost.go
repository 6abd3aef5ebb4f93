package apis

import (
	"bytes"
	"math"
	"strconv"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// UsageFinder finds the usage object in one JSON document of an API's
// answers, for a CostFilter.
type UsageFinder interface {
	// FindUsage looks at doc, valid JSON: a whole answer (event false) or
	// the data of one event (name is its `event:` field, empty when it has
	// none). It returns the usage object to splice the cost into, as
	// gjson.Get on doc found it (so that its Index is its offset in doc),
	// and the usage to price; ok false leaves doc as it is. It may keep
	// figures for later events (Anthropic's message_start).
	FindUsage(doc, name string, event bool) (obj gjson.Result, u llm.Usage, ok bool)
}

// CostFilter is a stream.Writer Filter for `usage_cost`: it splices
// `"cost":<usd>` (and `"budget_remaining":<usd>`) into the usage objects
// of an answer as it is written, in the answer's own format, and never
// touches a byte outside them. Only documents that contain the usage key
// are parsed.
//
// The first bytes decide what the answer is: `{` or `[` a JSON answer
// (edited once it is whole valid JSON), anything else an event stream
// (edited event by event). A write that ends inside an event (or a JSON
// answer) is held until the rest arrives; an empty write releases what is
// held, unedited, at the end of an attempt. A usage object that already
// has a `cost` (an upstream's own, OpenRouter's) gets the router's value
// in its place. Numbers are written without exponent.
//
// A CostFilter serves one attempt and is not safe for concurrent use.
type CostFilter struct {
	fn   func(p []byte) []byte // f.Filter
	find UsageFinder
	cost CostFunc
	key  []byte
	mode int
	held []byte // an incomplete event or JSON answer
	out  []byte // the last edited write
	data []byte // the joined data of a multi-line event
	text []byte // the text of one object's edits
	ed   []edit // one object's edits
	// per event: its data lines, as offsets into the write
	lines []dataLine
}

// Blank lines that end an event (the Reader splits lines at "\n").
var (
	blankLF   = []byte("\n\n")
	blankCRLF = []byte("\n\r\n")
)

// Modes of a CostFilter.
const (
	costUnknown = iota
	costJSON
	costSSE
)

// dataLine is one `data:` line of an event: its value at raw[start:end]
// of the write, at offset off of the event's joined data.
type dataLine struct{ start, end, off int }

// NewCostFilter returns a filter that finds usage objects with find in
// the documents that contain key (`"usage"`, `"usageMetadata"`) and
// prices them with cost. Release gives it back when the attempt is over.
func NewCostFilter(find UsageFinder, key string, cost CostFunc) *CostFilter {
	f := costFilters.Get().(*CostFilter)
	f.find, f.cost, f.key = find, cost, append(f.key[:0], key...)
	return f
}

var costFilters = sync.Pool{New: func() any {
	f := new(CostFilter)
	f.fn = f.Filter
	return f
}}

// maxPooled bounds the buffers a released filter keeps.
const maxPooled = 64 << 10

// Release resets the filter for another attempt; neither it nor what it
// returned may be used afterwards.
func (f *CostFilter) Release() {
	if cap(f.out) > maxPooled || cap(f.held) > maxPooled || cap(f.data) > maxPooled {
		return
	}
	*f = CostFilter{
		fn: f.fn, key: f.key[:0], held: f.held[:0], out: f.out[:0], data: f.data[:0],
		text: f.text[:0], ed: f.ed[:0], lines: f.lines[:0],
	}
	costFilters.Put(f)
}

// Func is Filter as a func value, for stream.Writer's Filter (made once
// per pooled filter, so installing it costs nothing).
func (f *CostFilter) Func() func(p []byte) []byte { return f.fn }

// Filter edits one write (see CostFilter). The slice it returns is valid
// until the next call.
func (f *CostFilter) Filter(p []byte) []byte {
	if len(p) == 0 {
		if len(f.held) == 0 {
			return p
		}
		f.out, f.held = f.held, f.out[:0]
		return f.out
	}
	if f.mode == costUnknown {
		t := bytes.TrimLeft(p, " \t\r\n")
		switch {
		case len(t) == 0:
			return p
		case t[0] == '{' || t[0] == '[':
			f.mode = costJSON
		default:
			f.mode = costSSE
		}
	}
	if f.mode == costJSON {
		return f.json(p)
	}
	return f.sse(p)
}

// Pending reports whether the filter holds bytes of an incomplete write.
func (f *CostFilter) Pending() bool { return len(f.held) > 0 }

// json edits a JSON answer once it is whole.
func (f *CostFilter) json(p []byte) []byte {
	doc := p
	if len(f.held) > 0 {
		f.held = append(f.held, p...)
		doc = f.held
	} else if len(bytes.TrimSpace(p)) == 0 {
		return p // whitespace after the answer
	}
	if !gjson.ValidBytes(doc) {
		if len(f.held) == 0 {
			f.held = append(f.held, p...)
		}
		return nil
	}
	out := doc
	if bytes.Contains(doc, f.key) {
		out = f.editJSON(doc)
	}
	if len(f.held) > 0 {
		if &out[0] == &f.held[0] {
			f.out, f.held = f.held, f.out[:0]
			return f.out
		}
		f.held = f.held[:0]
	}
	return out
}

// editJSON splices the cost into a whole JSON answer; it returns doc
// itself when nothing changes.
func (f *CostFilter) editJSON(doc []byte) []byte {
	src := llm.BytesString(doc)
	obj, u, ok := f.find.FindUsage(src, "", false)
	if !ok {
		return doc
	}
	edits := f.edits(src, obj, u)
	if len(edits) == 0 {
		return doc
	}
	out := f.out[:0]
	copied := 0
	for _, e := range edits {
		out = append(out, doc[copied:e.start]...)
		out = append(out, f.text[e.from:e.to]...)
		copied = e.end
	}
	out = append(out, doc[copied:]...)
	f.out = out
	return out
}

// sse edits the complete events of a write and holds an incomplete one.
func (f *CostFilter) sse(p []byte) []byte {
	if len(f.held) == 0 {
		end := eventsEnd(p)
		out := p[:end]
		if bytes.Contains(out, f.key) {
			out = f.editEvents(out)
		}
		f.held = append(f.held, p[end:]...)
		return out
	}
	f.held = append(f.held, p...)
	end := eventsEnd(f.held)
	if end == 0 {
		return nil
	}
	out := f.held[:end]
	if bytes.Contains(out, f.key) {
		out = f.editEvents(out)
	}
	if len(out) > 0 && &out[0] == &f.held[0] {
		f.out = append(f.out[:0], out...)
		out = f.out
	}
	f.held = f.held[:copy(f.held, f.held[end:])]
	return out
}

// eventsEnd is the length of the longest prefix of b made of whole events:
// up to and including its last blank line.
func eventsEnd(b []byte) int {
	end := 0
	if i := bytes.LastIndex(b, blankLF); i >= 0 {
		end = i + len(blankLF)
	}
	if i := bytes.LastIndex(b, blankCRLF); i >= 0 && i+len(blankCRLF) > end {
		end = i + len(blankCRLF)
	}
	if end == 0 {
		// A blank line first: the end of an event written before.
		switch {
		case len(b) > 0 && b[0] == '\n':
			end = 1
		case len(b) > 1 && b[0] == '\r' && b[1] == '\n':
			end = 2
		}
	}
	return end
}

// editEvents splices the cost into the events of b, whole events; it
// returns b itself when nothing changes.
func (f *CostFilter) editEvents(b []byte) []byte {
	var out []byte
	changed := false
	copied := 0
	for pos := 0; pos < len(b); {
		// One event: its lines up to a blank line.
		start := pos
		var name []byte
		f.lines = f.lines[:0]
		off := 0
		for pos < len(b) {
			i := bytes.IndexByte(b[pos:], '\n')
			lineEnd := len(b)
			next := len(b)
			if i >= 0 {
				lineEnd, next = pos+i, pos+i+1
			}
			line := b[pos:lineEnd]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			lineStart := pos
			pos = next
			if len(line) == 0 {
				break
			}
			colon := bytes.IndexByte(line, ':')
			if colon < 0 {
				continue
			}
			field, value := line[:colon], line[colon+1:]
			vs := lineStart + colon + 1
			if len(value) > 0 && value[0] == ' ' {
				vs++
				value = value[1:]
			}
			switch string(field) {
			case "data":
				f.lines = append(f.lines, dataLine{start: vs, end: vs + len(value), off: off})
				off += len(value) + 1
			case "event":
				name = value
			}
		}
		if len(f.lines) == 0 || !bytes.Contains(b[start:pos], f.key) {
			continue
		}
		data := b[f.lines[0].start:f.lines[0].end]
		if len(f.lines) > 1 {
			f.data = f.data[:0]
			for i, l := range f.lines {
				if i > 0 {
					f.data = append(f.data, '\n')
				}
				f.data = append(f.data, b[l.start:l.end]...)
			}
			data = f.data
		}
		if !gjson.ValidBytes(data) {
			continue
		}
		src := llm.BytesString(data)
		obj, u, ok := f.find.FindUsage(src, llm.BytesString(name), true)
		if !ok {
			continue
		}
		for _, e := range f.edits(src, obj, u) {
			if !changed {
				changed = true
				out = f.out[:0]
			}
			s, end := f.rawOffset(e.start), f.rawOffset(e.end)
			out = append(out, b[copied:s]...)
			out = append(out, f.text[e.from:e.to]...)
			copied = end
		}
	}
	if !changed {
		return b
	}
	out = append(out, b[copied:]...)
	f.out = out
	return out
}

// rawOffset maps an offset of the current event's joined data to the
// write: data lines are joined by "\n", which is JSON whitespace, so an
// edit (at a value or a closing brace) never spans two lines.
func (f *CostFilter) rawOffset(k int) int {
	for i := len(f.lines) - 1; i >= 0; i-- {
		if l := f.lines[i]; k >= l.off {
			return l.start + k - l.off
		}
	}
	return f.lines[0].start
}

// edit replaces doc[start:end] with text[from:to] of the filter's text.
type edit struct{ start, end, from, to int }

// edits returns the edits that put the cost of u into obj, an object of
// src, in ascending order; their text is in f.text.
func (f *CostFilter) edits(src string, obj gjson.Result, u llm.Usage) []edit {
	if !obj.IsObject() || !located(src, obj) {
		return nil
	}
	c := f.cost(u)
	if !c.Priced && !c.HasBudget {
		return nil
	}
	f.text, f.ed = f.text[:0], f.ed[:0]
	var hasCost, hasBudget bool
	last := -1 // where the last member's value ends
	obj.ForEach(func(k, v gjson.Result) bool {
		if !located(src, v) {
			last = -2
			return false
		}
		last = v.Index + len(v.Raw)
		var val float64
		switch {
		case k.Str == "cost" && c.Priced:
			hasCost, val = true, c.USD
		case k.Str == "budget_remaining" && c.HasBudget:
			hasBudget, val = true, c.Remaining
		default:
			return true
		}
		from := len(f.text)
		f.text = appendUSD(f.text, val)
		f.ed = append(f.ed, edit{start: v.Index, end: last, from: from, to: len(f.text)})
		return true
	})
	if last == -2 {
		return nil
	}
	from := len(f.text)
	pos := last
	if last < 0 {
		// An empty object: the members go after its `{`.
		pos = obj.Index + 1
	}
	sep := last >= 0
	if c.Priced && !hasCost {
		f.text = appendMember(f.text, sep, `"cost":`, c.USD)
		sep = true
	}
	if c.HasBudget && !hasBudget {
		f.text = appendMember(f.text, sep, `"budget_remaining":`, c.Remaining)
	}
	if to := len(f.text); to > from {
		f.ed = append(f.ed, edit{start: pos, end: pos, from: from, to: to})
	}
	return f.ed
}

// located reports whether r's Index is its offset in src.
func located(src string, r gjson.Result) bool {
	return r.Index > 0 && r.Index+len(r.Raw) <= len(src) && src[r.Index:r.Index+len(r.Raw)] == r.Raw
}

func appendMember(b []byte, comma bool, key string, v float64) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, key...)
	return appendUSD(b, v)
}

// appendUSD writes an amount as a JSON number without exponent.
func appendUSD(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}
