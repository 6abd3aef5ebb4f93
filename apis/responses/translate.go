package responses

import (
	"strconv"
	"strings"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Kinds of output items.
const (
	kindReasoning = iota
	kindMessage
	kindFunction
	kindCustom
)

// item is one output item of a response.
type item struct {
	kind     int
	index    int
	id       string
	text     []byte // reasoning or message text; a call's arguments
	refusal  []byte
	callID   string
	name     string
	ns       string // the namespace of a namespaced function
	hubIndex int64  // the hub tool call's index
	parts    int    // message content parts opened (text, refusal)
	textPart int    // content index of the output_text part, -1 when none
	refPart  int    // content index of the refusal part, -1 when none
	open     bool
	complete bool // closed with status completed (else incomplete)
}

// translator turns a hub answer, as a sequence of deltas, into Responses
// output items: the events of a Responses stream when emit is set, and the
// final `response` object either way. Items are opened as their first
// delta arrives; opening one closes the open one (the Responses API
// streams one item at a time).
type translator struct {
	emit    bool
	out     []byte // events or the response object, not yet written
	seq     int64
	id      string // response id, without "resp_"
	created int64
	body    []byte // the request body, for the echoed fields
	echo    *echo
	tools   toolKinds

	started  bool
	items    []*item
	output   []byte // JSON of the closed items, comma-separated
	finish   string // hub finish reason: stop, length or content_filter
	usage    usage
	finished bool // the terminal event was written
}

// start begins the response: response.created and response.in_progress.
func (t *translator) start(model string) {
	if t.started {
		return
	}
	t.started = true
	t.id = newID()
	t.created = now().Unix()
	t.echo = newEcho(t.body, model)
	if !t.emit {
		return
	}
	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		t.event(typ)
		t.out = append(t.out, `,"response":`...)
		t.appendResponse("in_progress", false, nil)
		t.end()
	}
}

// event starts an event of type typ: the `event:` line and the data up to
// the sequence number. The caller appends fields and calls end.
func (t *translator) event(typ string) {
	b := append(t.out, "event: "...)
	b = append(b, typ...)
	b = append(b, "\ndata: {\"type\":\""...)
	b = append(b, typ...)
	b = append(b, `","sequence_number":`...)
	b = strconv.AppendInt(b, t.seq, 10)
	t.seq++
	t.out = b
}

func (t *translator) end() { t.out = append(t.out, "}\n\n"...) }

// itemRef appends `"item_id":…,"output_index":…`.
func (t *translator) itemRef(it *item) {
	t.out = append(t.out, `,"item_id":"`...)
	t.out = append(t.out, it.id...)
	t.out = append(t.out, `","output_index":`...)
	t.out = strconv.AppendInt(t.out, int64(it.index), 10)
}

// newItem opens an item of kind, closing the open ones.
func (t *translator) newItem(kind int) *item {
	t.closeAll(true)
	it := &item{kind: kind, index: len(t.items), textPart: -1, refPart: -1, open: true}
	prefix := [...]string{"rs_", "msg_", "fc_", "ctc_"}[kind]
	it.id = prefix + t.id + strconv.Itoa(it.index)
	t.items = append(t.items, it)
	return it
}

// last returns the open item of kind that was opened last, or nil.
func (t *translator) last(kind int) *item {
	if n := len(t.items); n > 0 {
		if it := t.items[n-1]; it.open && it.kind == kind {
			return it
		}
	}
	return nil
}

// added emits response.output_item.added for it.
func (t *translator) added(it *item) {
	if !t.emit {
		return
	}
	t.event("response.output_item.added")
	t.out = append(t.out, `,"output_index":`...)
	t.out = strconv.AppendInt(t.out, int64(it.index), 10)
	t.out = append(t.out, `,"item":`...)
	t.out = t.appendItem(t.out, it, false)
	t.end()
}

// reasoning adds reasoning text, as a reasoning summary.
func (t *translator) reasoning(text string) {
	if text == "" {
		return
	}
	it := t.last(kindReasoning)
	if it == nil {
		it = t.newItem(kindReasoning)
		t.added(it)
		if t.emit {
			t.event("response.reasoning_summary_part.added")
			t.itemRef(it)
			t.out = append(t.out, `,"summary_index":0,"part":{"type":"summary_text","text":""}`...)
			t.end()
		}
	}
	it.text = append(it.text, text...)
	if t.emit {
		t.event("response.reasoning_summary_text.delta")
		t.itemRef(it)
		t.out = append(t.out, `,"summary_index":0,"delta":`...)
		t.out = llm.AppendString(t.out, text)
		t.end()
	}
}

// message returns the open message item, opening one when needed.
func (t *translator) message() *item {
	it := t.last(kindMessage)
	if it == nil {
		it = t.newItem(kindMessage)
		t.added(it)
	}
	return it
}

// text adds message text.
func (t *translator) text(text string) {
	if text == "" {
		return
	}
	it := t.message()
	if it.textPart < 0 {
		it.textPart = it.parts
		it.parts++
		if t.emit {
			t.event("response.content_part.added")
			t.itemRef(it)
			t.out = append(t.out, `,"content_index":`...)
			t.out = strconv.AppendInt(t.out, int64(it.textPart), 10)
			t.out = append(t.out, `,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`...)
			t.end()
		}
	}
	it.text = append(it.text, text...)
	if t.emit {
		t.event("response.output_text.delta")
		t.itemRef(it)
		t.out = append(t.out, `,"content_index":`...)
		t.out = strconv.AppendInt(t.out, int64(it.textPart), 10)
		t.out = append(t.out, `,"delta":`...)
		t.out = llm.AppendString(t.out, text)
		t.out = append(t.out, `,"logprobs":[]`...)
		t.end()
	}
}

// refusal adds refusal text to the message.
func (t *translator) refusal(text string) {
	if text == "" {
		return
	}
	it := t.message()
	if it.refPart < 0 {
		it.refPart = it.parts
		it.parts++
		if t.emit {
			t.event("response.content_part.added")
			t.itemRef(it)
			t.out = append(t.out, `,"content_index":`...)
			t.out = strconv.AppendInt(t.out, int64(it.refPart), 10)
			t.out = append(t.out, `,"part":{"type":"refusal","refusal":""}`...)
			t.end()
		}
	}
	it.refusal = append(it.refusal, text...)
	if t.emit {
		t.event("response.refusal.delta")
		t.itemRef(it)
		t.out = append(t.out, `,"content_index":`...)
		t.out = strconv.AppendInt(t.out, int64(it.refPart), 10)
		t.out = append(t.out, `,"delta":`...)
		t.out = llm.AppendString(t.out, text)
		t.end()
	}
}

// toolCall adds a hub tool call delta: a new call when index is new (with
// its id and name), else more of its arguments. As in OpenAI's streams, a
// call is done before the next one is added; arguments that a hub stream
// sent for an earlier call after the next one began (no provider does)
// would still be streamed as deltas, but miss from its done events.
func (t *translator) toolCall(index int64, id, name, args string) {
	var it *item
	for i := len(t.items) - 1; i >= 0; i-- {
		if c := t.items[i]; (c.kind == kindFunction || c.kind == kindCustom) && c.hubIndex == index {
			it = c
			break
		}
	}
	if it == nil || (id != "" && it.callID != id && it.callID != "") {
		kind := kindFunction
		tool := t.tools.lookup(t.echo.tools, name)
		if tool.custom {
			kind = kindCustom
		}
		it = t.newItem(kind)
		it.hubIndex = index
		// Cloned: the strings view the hub chunk's buffer.
		it.callID, it.name, it.ns = strings.Clone(id), strings.Clone(name), tool.namespace
		if it.callID == "" {
			it.callID = "call_" + t.id + strconv.Itoa(it.index)
		}
		t.added(it)
	}
	if args == "" {
		return
	}
	it.text = append(it.text, args...)
	if t.emit && it.kind == kindFunction {
		t.event("response.function_call_arguments.delta")
		t.itemRef(it)
		t.out = append(t.out, `,"delta":`...)
		t.out = llm.AppendString(t.out, args)
		t.end()
	}
}

// setFinish records the hub finish reason and closes the items.
func (t *translator) setFinish(reason string) {
	switch reason { // constants: reason views the hub chunk's buffer
	case "length":
		t.finish = "length"
	case "content_filter":
		t.finish = "content_filter"
	default:
		t.finish = "stop"
	}
	t.closeAll(t.status() == "completed")
}

// status is the response's status for the hub finish reason.
func (t *translator) status() string {
	switch t.finish {
	case "length", "content_filter":
		return "incomplete"
	}
	return "completed"
}

// closeAll closes every open item, completed or incomplete.
func (t *translator) closeAll(complete bool) {
	for _, it := range t.items {
		if it.open {
			t.close(it, complete)
		}
	}
}

// complete closes every item and ends the response: the terminal event
// (response.completed, or response.incomplete for a length or content
// filter stop), or the final `response` object when not emitting.
func (t *translator) complete() {
	t.closeAll(t.status() == "completed")
	status := t.status()
	t.finished = true
	if !t.emit {
		t.appendResponse(status, true, nil)
		return
	}
	t.event("response." + status)
	t.out = append(t.out, `,"response":`...)
	t.appendResponse(status, true, nil)
	t.end()
}

// fail ends a started stream with response.failed.
func (t *translator) fail(e *llm.Error) {
	t.finished = true
	t.event("response.failed")
	t.out = append(t.out, `,"response":`...)
	t.appendResponse("failed", true, e)
	t.end()
}
