package gemini

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// streamState is what the encoder keeps of a hub stream: the answer's id
// and model, each choice's tool calls still being assembled, the parts of
// finished choices (sent with the final chunk, which also carries the
// finish reasons and the usage), and the usage.
type streamState struct {
	id, model string
	started   bool
	choices   []choiceState
	usage     []byte // the hub's usage object
	argBytes  int64  // tool-call arguments being assembled, bounded
	parts     []byte // scratch: the parts of one choice
	chunk     []byte // scratch: the Gemini chunk
}

type choiceState struct {
	index  int64
	calls  []callState
	held   []byte // parts of the choice's finishing chunk
	finish string // Gemini's finishReason once the choice finished
}

// callState is one tool call of a choice, assembled from its deltas.
type callState struct {
	index    int64
	id, name string
	args     []byte
	sent     bool
}

// event handles one hub event: a chunk, or `[DONE]`.
func (e *encoder) event(data []byte) error {
	if e.ended {
		return nil
	}
	if llm.IsDone(data) {
		return e.final()
	}
	return e.chunk(data)
}

// chunk translates one chat.completion.chunk. Text and reasoning deltas
// become text and thought parts at once; a tool call becomes one
// functionCall part when its arguments are complete (a later call started,
// or its choice finished); a choice's finishing chunk is held for the final
// chunk, which is written as soon as every choice finished and the usage
// is known (or at `[DONE]`). A chunk with nothing for the client writes
// nothing.
func (e *encoder) chunk(data []byte) error {
	doc := gjson.Parse(llm.BytesString(data))
	if !doc.IsObject() {
		return nil
	}
	st := &e.st
	if !st.started {
		st.started = true
		st.id = strings.Clone(doc.Get("id").Str)
		st.model = strings.Clone(doc.Get("model").Str)
	}
	if u := doc.Get("usage"); u.IsObject() {
		st.usage = append(st.usage[:0], u.Raw...)
	}
	b := append(st.chunk[:0], `{"candidates":[`...)
	n := 0
	doc.Get("choices").ForEach(func(_, c gjson.Result) bool {
		cs := st.choice(c.Get("index").Int())
		if cs.finish != "" {
			return true
		}
		parts := st.deltaParts(st.parts[:0], cs, c.Get("delta"))
		if fr := c.Get("finish_reason").Str; fr != "" {
			parts = cs.flushCalls(parts, true)
			cs.finish = finishReason(fr)
			cs.held = append(cs.held[:0], parts...)
		} else if len(parts) > 0 {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			var mark int
			b, mark = openCandidate(b)
			b = append(b, parts...)
			b = closeCandidate(b, mark, "", cs.index)
		}
		st.parts = parts
		return true
	})
	if n > 0 {
		b = append(b, ']')
		b = appendTail(b, gjson.Result{}, st.model, st.id)
		b = append(b, '}')
		if err := e.writeEvent(b); err != nil {
			st.chunk = b
			return err
		}
	}
	st.chunk = b
	if st.argBytes > llm.DefaultMaxResponseBody {
		// Gemini needs a call's arguments whole: they are held, within
		// the bound of any answer.
		return llm.ErrTooLarge
	}
	if st.usage != nil && st.allFinished() {
		return e.final()
	}
	return nil
}

// final writes the last chunk: every choice with its held parts (a choice
// the hub never finished ends with its pending calls and STOP), its
// finishReason, and usageMetadata.
func (e *encoder) final() error {
	if e.ended {
		return nil
	}
	e.ended = true
	st := &e.st
	b := append(st.chunk[:0], `{"candidates":[`...)
	var mark int
	if len(st.choices) == 0 {
		b, mark = openCandidate(b)
		b = closeCandidate(b, mark, "STOP", 0)
	}
	for i := range st.choices {
		cs := &st.choices[i]
		if cs.finish == "" {
			cs.held = cs.flushCalls(cs.held[:0], true)
			cs.finish = "STOP"
		}
		if i > 0 {
			b = append(b, ',')
		}
		b, mark = openCandidate(b)
		b = append(b, cs.held...)
		b = closeCandidate(b, mark, cs.finish, cs.index)
	}
	b = append(b, ']')
	b = appendTail(b, gjson.Parse(llm.BytesString(st.usage)), st.model, st.id)
	b = append(b, '}')
	st.chunk = b
	return e.writeEvent(b)
}

// choice returns the state of the choice with index i.
func (st *streamState) choice(i int64) *choiceState {
	for k := range st.choices {
		if st.choices[k].index == i {
			return &st.choices[k]
		}
	}
	st.choices = append(st.choices, choiceState{index: i})
	return &st.choices[len(st.choices)-1]
}

func (st *streamState) allFinished() bool {
	for i := range st.choices {
		if st.choices[i].finish == "" {
			return false
		}
	}
	return len(st.choices) > 0
}

// deltaParts appends the parts of one delta: reasoning, text (or a
// refusal), and the tool calls it completes.
func (st *streamState) deltaParts(parts []byte, cs *choiceState, delta gjson.Result) []byte {
	if r := delta.Get("reasoning_content"); r.Type == gjson.String && r.Str != "" {
		parts = appendTextPart(parts, r, true)
	}
	t := delta.Get("content")
	if t.Type != gjson.String || t.Str == "" {
		t = delta.Get("refusal")
	}
	if t.Type == gjson.String && t.Str != "" {
		if len(parts) > 0 {
			parts = append(parts, ',')
		}
		parts = appendTextPart(parts, t, false)
	}
	delta.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		idx := int64(len(cs.calls))
		if i := tc.Get("index"); i.Type == gjson.Number {
			idx = i.Int()
		} else if tc.Get("id").Str == "" && len(cs.calls) > 0 {
			idx = cs.calls[len(cs.calls)-1].index // a continuation
		}
		c := cs.call(idx)
		if c == nil {
			// A new call: the ones before it are complete.
			parts = cs.flushCalls(parts, false)
			cs.calls = append(cs.calls, callState{index: idx})
			c = &cs.calls[len(cs.calls)-1]
		}
		if id := tc.Get("id").Str; id != "" {
			c.id = strings.Clone(id)
		}
		if name := tc.Get("function.name").Str; name != "" {
			c.name = strings.Clone(name)
		}
		piece := tc.Get("function.arguments").Str
		c.args = append(c.args, piece...)
		st.argBytes += int64(len(piece))
		return true
	})
	return parts
}

func (cs *choiceState) call(idx int64) *callState {
	for i := range cs.calls {
		if cs.calls[i].index == idx {
			return &cs.calls[i]
		}
	}
	return nil
}

// flushCalls appends a functionCall part for each call not sent yet whose
// arguments are complete JSON, or for all of them.
func (cs *choiceState) flushCalls(parts []byte, all bool) []byte {
	for i := range cs.calls {
		c := &cs.calls[i]
		if c.sent || !all && !gjson.ValidBytes(c.args) {
			continue
		}
		c.sent = true
		if len(parts) > 0 {
			parts = append(parts, ',')
		}
		parts = appendCallPart(parts, c.id, c.name, llm.BytesString(c.args))
	}
	return parts
}
