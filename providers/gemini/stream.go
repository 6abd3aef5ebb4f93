package gemini

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// ErrStreamCut is returned when Gemini's event stream ends before any
// candidate finished (Gemini sends no terminator: the stream is complete
// once a finishReason arrived and the connection closed).
var ErrStreamCut = errors.New("gemini closed the stream before it finished")

var noCache = []string{"no-cache"}

// writeStream translates a streamGenerateContent?alt=sse answer event by
// event (see streamTranslator), flushing whenever no further upstream bytes
// are already waiting, and ends it with `data: [DONE]`, which Gemini does
// not send.
func writeStream(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (usage llm.Usage, err error) {
	r := stream.NewReader(resp.Body, c.MaxResponseBody)
	defer r.Release()
	t := newStreamTranslator(c)
	defer func() {
		usage = t.usage()
		// Gemini's usageMetadata before the last frame may not count the
		// candidates yet: a stream that failed counts at least a token
		// per chunk delivered.
		if err != nil && usage.CompletionTokens < t.chunks {
			usage.CompletionTokens = t.chunks
		}
	}()
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return usage, err
		}
		if !ev.HasData {
			continue
		}
		out, perr := t.frame(ev.Data)
		if perr != nil {
			return usage, perr
		}
		if len(out) == 0 {
			continue
		}
		if err := t.write(w, out); err != nil {
			return usage, err
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return usage, err
			}
		}
	}
	if !t.finished {
		return usage, ErrStreamCut
	}
	if c.IncludeUsage {
		if err := t.write(w, t.usageChunk()); err != nil {
			return usage, err
		}
	}
	if err := llm.WriteDone(w); err != nil {
		return usage, err
	}
	return usage, w.Flush()
}

// streamTranslator turns Gemini stream frames (each a whole
// GenerateContentResponse) into chat.completion.chunk events, one chunk per
// frame: the first delta of each choice carries the role, functionCall
// parts become tool-call deltas with their index (Gemini sends each call
// whole, so one delta holds its name and all of its arguments), and a
// finishReason ends its choice. Usage is the last usageMetadata seen.
type streamTranslator struct {
	call     *llm.Call
	head     []byte // `{"id":…,"object":…,"created":…,"model":…,` of every chunk
	choices  []choiceState
	meta     []byte // the last usageMetadata, raw
	sawUsage bool
	finished bool
	chunks   int64
	out      []byte
}

type choiceState struct {
	index   int64
	started bool // the role was sent
	calls   int  // tool calls sent so far
}

func newStreamTranslator(c *llm.Call) *streamTranslator {
	return &streamTranslator{call: c}
}

// write sends one chunk, setting the headers before the first.
func (t *streamTranslator) write(w llm.ResponseWriter, data []byte) error {
	if !w.Committed() {
		h := w.Header()
		h["Content-Type"] = eventStreamValue
		h["Cache-Control"] = noCache
	}
	return stream.WriteData(w, data)
}

// frame translates one event's data; it returns nil when the frame carries
// nothing for the client (e.g. usage only). The returned slice is valid
// until the next call.
func (t *streamTranslator) frame(data []byte) ([]byte, *llm.Error) {
	src := llm.BytesString(data)
	if !gjson.Valid(src) {
		return nil, unreadable("stream event")
	}
	doc := gjson.Parse(src)
	if doc.IsArray() {
		doc = doc.Get("0")
	}
	if !doc.IsObject() {
		return nil, unreadable("stream event")
	}
	if e := doc.Get("error"); e.Exists() && e.Type != gjson.Null {
		if !e.IsObject() {
			return nil, &llm.Error{Status: http.StatusBadGateway, Kind: llm.KindStream,
				Message: strings.Clone(e.String()), Type: "upstream_error", Code: "upstream_error"}
		}
		return nil, streamError(e)
	}
	if u := doc.Get("usageMetadata"); u.IsObject() {
		t.meta = append(t.meta[:0], u.Raw...)
		t.sawUsage = true
	}
	if t.head == nil {
		t.head = append(t.head, `{"id":`...)
		t.head = llm.AppendString(t.head, responseID(doc))
		t.head = append(t.head, `,"object":"chat.completion.chunk","created":`...)
		t.head = strconv.AppendInt(t.head, now().Unix(), 10)
		t.head = append(t.head, `,"model":`...)
		t.head = llm.AppendString(t.head, t.call.Model)
		t.head = append(t.head, ',')
	}
	b := append(t.out[:0], t.head...)
	b = append(b, `"choices":[`...)
	open := len(b)
	pos := 0
	doc.Get("candidates").ForEach(func(_, cand gjson.Result) bool {
		b = t.appendChoiceDelta(b, cand, pos, open)
		pos++
		return true
	})
	if pos == 0 && doc.Get("promptFeedback.blockReason").Exists() {
		cs := t.choice(0)
		if len(b) > open {
			b = append(b, ',')
		}
		b = append(b, `{"index":0,"delta":{`...)
		if !cs.started {
			b = append(b, `"role":"assistant","content":""`...)
			cs.started = true
		}
		b = append(b, `},"logprobs":null,"finish_reason":"content_filter"}`...)
		t.finished = true
	}
	t.out = b
	if len(b) == open {
		return nil, nil
	}
	t.chunks++
	b = append(b, "]}"...)
	t.out = b
	return b, nil
}

// choice returns the state of the choice with index i.
func (t *streamTranslator) choice(i int64) *choiceState {
	for k := range t.choices {
		if t.choices[k].index == i {
			return &t.choices[k]
		}
	}
	t.choices = append(t.choices, choiceState{index: i})
	return &t.choices[len(t.choices)-1]
}

// appendChoiceDelta appends one candidate's delta, or nothing when it
// carries nothing new.
func (t *streamTranslator) appendChoiceDelta(b []byte, cand gjson.Result, pos, open int) []byte {
	idx := candidateIndex(cand, pos)
	cs := t.choice(idx)
	start := len(b)
	if start > open {
		b = append(b, ',')
	}
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, idx, 10)
	b = append(b, `,"delta":{`...)
	fields := len(b)
	field := func(name string) {
		if len(b) > fields {
			b = append(b, ',')
		}
		b = append(b, name...)
	}
	if !cs.started {
		field(`"role":"assistant"`)
	}
	parts := cand.Get("content.parts")
	var text, reasoning []byte
	hasText, calls := false, 0
	parts.ForEach(func(_, p gjson.Result) bool {
		tx := p.Get("text")
		switch {
		case tx.Type == gjson.String && p.Get("thought").Type == gjson.True:
			reasoning = append(reasoning, tx.Str...)
		case tx.Type == gjson.String:
			text = append(text, tx.Str...)
			hasText = hasText || tx.Str != ""
		case p.Get("functionCall").IsObject():
			calls++
		}
		return true
	})
	if hasText || !cs.started {
		field(`"content":`)
		b = llm.AppendString(b, llm.BytesString(text))
	}
	if len(reasoning) > 0 {
		field(`"reasoning_content":`)
		b = llm.AppendString(b, llm.BytesString(reasoning))
	}
	if calls > 0 {
		field(`"tool_calls":[`)
		k := 0
		parts.ForEach(func(_, p gjson.Result) bool {
			if fc := p.Get("functionCall"); fc.IsObject() {
				if k > 0 {
					b = append(b, ',')
				}
				k++
				b = appendToolCall(b, cs.calls, fc, p.Get("thoughtSignature").Str)
				cs.calls++
			}
			return true
		})
		b = append(b, ']')
	}
	hasDelta := len(b) > fields
	cs.started = true
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	reason := finishReason(cand.Get("finishReason").Str, cs.calls > 0)
	if reason == "" {
		if !hasDelta {
			return b[:start] // nothing new for this choice
		}
		b = append(b, "null"...)
	} else {
		t.finished = true
		b = append(b, '"')
		b = append(b, reason...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// usage is what the stream counted: the last usageMetadata, else an
// estimate (the prompt at about four bytes per token, one token per chunk)
// for a stream that failed before Gemini sent any.
func (t *streamTranslator) usage() llm.Usage {
	if t.sawUsage {
		_, u := appendUsage(nil, gjson.ParseBytes(t.meta))
		return u
	}
	prompt := gjson.Get(llm.BytesString(t.call.Body), "messages")
	return llm.Usage{PromptTokens: int64(len(prompt.Raw)+3) / 4, CompletionTokens: t.chunks}
}

// usageChunk is the chunk with `choices: []` and the usage, sent last when
// the client asked with stream_options.include_usage.
func (t *streamTranslator) usageChunk() []byte {
	b := append(t.out[:0], t.head...)
	if t.head == nil {
		b = append(b, `{"object":"chat.completion.chunk",`...)
	}
	b = append(b, `"choices":[],`...)
	b, _ = appendUsage(b, gjson.ParseBytes(t.meta))
	t.out = append(b, '}')
	return t.out
}
