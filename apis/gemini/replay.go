package gemini

import (
	"errors"
	"slices"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// The response cache's conversions (apis.Replayer) between a
// GenerateContentResponse and a stream of them.

var errNotAnswer = errors.New("gemini: the stored answer is not a GenerateContentResponse")

// AnswerToEvents renders a whole answer as a stream of one event, as the
// encoder does for a provider that answered a streamed request whole.
func (API) AnswerToEvents(_ *apis.Request, answer []byte) ([]byte, error) {
	doc := gjson.ParseBytes(answer)
	if !doc.IsObject() {
		return nil, errNotAnswer
	}
	compact := gjson.Get(doc.Raw, "@ugly").Raw // an event is one line
	out := make([]byte, 0, len(compact)+len(eventPrefix)+len(eventEnd))
	out = append(out, eventPrefix...)
	out = append(out, compact...)
	return append(out, eventEnd...), nil
}

// fields are JSON members by name, in the order first seen, each with its
// latest value.
type fields struct {
	names []string
	vals  map[string]string
}

func (f *fields) set(k, v string) {
	if f.vals == nil {
		f.vals = make(map[string]string)
	}
	if _, ok := f.vals[k]; !ok {
		f.names = append(f.names, k)
	}
	f.vals[k] = v
}

func (f *fields) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, k := range f.names {
		if i > 0 {
			b = append(b, ',')
		}
		b = llm.AppendString(b, k)
		b = append(b, ':')
		b = append(b, f.vals[k]...)
	}
	return append(b, '}')
}

// candidate is one candidate assembled from its chunks.
type candidate struct {
	index   int64
	fields  fields // but content
	content fields // but parts
	parts   []string
}

// EventsToAnswer assembles a stream of GenerateContentResponse chunks into
// one: per candidate, its parts in order with adjacent text parts of the
// same kind (thought or not) joined, and the latest value of every other
// member (finishReason, safetyRatings, …); at the top, the latest value of
// each member (usageMetadata, modelVersion, responseId, …).
func (API) EventsToAnswer(_ *apis.Request, events []byte, _ llm.Usage) ([]byte, error) {
	var (
		top   fields
		cands []*candidate
	)
	find := func(i int64) *candidate {
		for _, c := range cands {
			if c.index == i {
				return c
			}
		}
		c := &candidate{index: i}
		cands = append(cands, c)
		return c
	}
	err := apis.EachEvent(events, func(_, data []byte) bool {
		doc := gjson.ParseBytes(data)
		doc.ForEach(func(k, v gjson.Result) bool {
			if k.Str != "candidates" {
				top.set(k.Str, v.Raw)
				return true
			}
			top.set("candidates", "")
			pos := int64(0)
			v.ForEach(func(_, cv gjson.Result) bool {
				i := pos
				if iv := cv.Get("index"); iv.Type == gjson.Number {
					i = iv.Int()
				}
				pos++
				find(i).add(cv)
				return true
			})
			return true
		})
		return true
	})
	if err != nil {
		return nil, err
	}
	if len(top.names) == 0 {
		return nil, errNotAnswer
	}
	slices.SortFunc(cands, func(a, b *candidate) int { return int(a.index - b.index) })
	list := []byte{'['}
	for i, c := range cands {
		if i > 0 {
			list = append(list, ',')
		}
		list = c.appendJSON(list)
	}
	if _, ok := top.vals["candidates"]; ok {
		top.set("candidates", string(append(list, ']')))
	}
	return top.appendJSON(nil), nil
}

// add takes one chunk's candidate.
func (c *candidate) add(cv gjson.Result) {
	cv.ForEach(func(k, v gjson.Result) bool {
		if k.Str != "content" {
			c.fields.set(k.Str, v.Raw)
			return true
		}
		c.fields.set("content", "")
		v.ForEach(func(ck, cval gjson.Result) bool {
			if ck.Str != "parts" {
				c.content.set(ck.Str, cval.Raw)
				return true
			}
			c.content.set("parts", "")
			cval.ForEach(func(_, p gjson.Result) bool {
				c.part(p)
				return true
			})
			return true
		})
		return true
	})
}

// part adds a part, joining a text part to the text part before it when
// both are thoughts or neither is.
func (c *candidate) part(p gjson.Result) {
	text := p.Get("text")
	if n := len(c.parts); n > 0 && text.Type == gjson.String {
		prev := gjson.Parse(c.parts[n-1])
		if pt := prev.Get("text"); pt.Type == gjson.String && prev.Get("thought").Bool() == p.Get("thought").Bool() {
			joined, _ := sjson.Set(prev.Raw, "text", pt.Str+text.Str)
			p.ForEach(func(k, v gjson.Result) bool {
				if k.Str != "text" {
					joined, _ = sjson.SetRaw(joined, k.Str, v.Raw)
				}
				return true
			})
			c.parts[n-1] = joined
			return
		}
	}
	c.parts = append(c.parts, p.Raw)
}

func (c *candidate) appendJSON(b []byte) []byte {
	if _, ok := c.fields.vals["content"]; ok {
		parts := []byte{'['}
		for i, p := range c.parts {
			if i > 0 {
				parts = append(parts, ',')
			}
			parts = append(parts, p...)
		}
		if _, ok := c.content.vals["parts"]; ok {
			c.content.set("parts", string(append(parts, ']')))
		}
		c.fields.set("content", string(c.content.appendJSON(nil)))
	}
	return c.fields.appendJSON(b)
}

// ReplayEvents returns the stream as it was.
func (API) ReplayEvents(_ *apis.Request, events []byte, _ llm.Usage) []byte { return events }

// Interface guards
var _ apis.Replayer = API{}
