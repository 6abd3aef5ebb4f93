package responses

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// close emits the done events of an item and keeps its final JSON for the
// response's output.
func (t *translator) close(it *item, complete bool) {
	it.open, it.complete = false, complete
	if t.emit {
		switch it.kind {
		case kindReasoning:
			t.event("response.reasoning_summary_text.done")
			t.itemRef(it)
			t.out = append(t.out, `,"summary_index":0,"text":`...)
			t.out = llm.AppendString(t.out, llm.BytesString(it.text))
			t.end()
			t.event("response.reasoning_summary_part.done")
			t.itemRef(it)
			t.out = append(t.out, `,"summary_index":0,"part":{"type":"summary_text","text":`...)
			t.out = llm.AppendString(t.out, llm.BytesString(it.text))
			t.out = append(t.out, '}')
			t.end()
		case kindMessage:
			if it.textPart >= 0 {
				t.event("response.output_text.done")
				t.itemRef(it)
				t.out = append(t.out, `,"content_index":`...)
				t.out = strconv.AppendInt(t.out, int64(it.textPart), 10)
				t.out = append(t.out, `,"text":`...)
				t.out = llm.AppendString(t.out, llm.BytesString(it.text))
				t.out = append(t.out, `,"logprobs":[]`...)
				t.end()
				t.partDone(it, it.textPart)
			}
			if it.refPart >= 0 {
				t.event("response.refusal.done")
				t.itemRef(it)
				t.out = append(t.out, `,"content_index":`...)
				t.out = strconv.AppendInt(t.out, int64(it.refPart), 10)
				t.out = append(t.out, `,"refusal":`...)
				t.out = llm.AppendString(t.out, llm.BytesString(it.refusal))
				t.end()
				t.partDone(it, it.refPart)
			}
		case kindFunction:
			t.event("response.function_call_arguments.done")
			t.itemRef(it)
			t.out = append(t.out, `,"arguments":`...)
			t.out = llm.AppendString(t.out, llm.BytesString(it.text))
			t.end()
		case kindCustom:
			input := customInput(it.text)
			t.event("response.custom_tool_call_input.delta")
			t.itemRef(it)
			t.out = append(t.out, `,"delta":`...)
			t.out = llm.AppendString(t.out, input)
			t.end()
			t.event("response.custom_tool_call_input.done")
			t.itemRef(it)
			t.out = append(t.out, `,"input":`...)
			t.out = llm.AppendString(t.out, input)
			t.end()
		}
		t.event("response.output_item.done")
		t.out = append(t.out, `,"output_index":`...)
		t.out = strconv.AppendInt(t.out, int64(it.index), 10)
		t.out = append(t.out, `,"item":`...)
		t.out = t.appendItem(t.out, it, true)
		t.end()
	}
	if len(t.output) > 0 {
		t.output = append(t.output, ',')
	}
	t.output = t.appendItem(t.output, it, true)
}

// partDone emits response.content_part.done for a message part.
func (t *translator) partDone(it *item, index int) {
	t.event("response.content_part.done")
	t.itemRef(it)
	t.out = append(t.out, `,"content_index":`...)
	t.out = strconv.AppendInt(t.out, int64(index), 10)
	t.out = append(t.out, `,"part":`...)
	t.out = t.appendPart(t.out, it, index)
	t.end()
}

// appendPart appends message content part index.
func (t *translator) appendPart(b []byte, it *item, index int) []byte {
	if index == it.refPart {
		b = append(b, `{"type":"refusal","refusal":`...)
		b = llm.AppendString(b, llm.BytesString(it.refusal))
		return append(b, '}')
	}
	b = append(b, `{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
	b = llm.AppendString(b, llm.BytesString(it.text))
	return append(b, '}')
}

// customInput is the input of a custom tool call: the `input` argument of
// the function it was declared as, or the arguments as they came when the
// model did not give one.
func customInput(args []byte) string {
	if v := gjson.GetBytes(args, "input"); v.Type == gjson.String {
		return v.Str
	}
	return string(args)
}

// appendItem appends the item's JSON: final (done) or as it starts.
func (t *translator) appendItem(b []byte, it *item, final bool) []byte {
	status := `"in_progress"`
	if final {
		status = `"completed"`
		if !it.complete {
			status = `"incomplete"`
		}
	}
	switch it.kind {
	case kindReasoning:
		b = append(b, `{"id":"`...)
		b = append(b, it.id...)
		b = append(b, `","type":"reasoning","summary":[`...)
		if final {
			b = append(b, `{"type":"summary_text","text":`...)
			b = llm.AppendString(b, llm.BytesString(it.text))
			b = append(b, '}')
		}
		return append(b, "]}"...)
	case kindMessage:
		b = append(b, `{"id":"`...)
		b = append(b, it.id...)
		b = append(b, `","type":"message","status":`...)
		b = append(b, status...)
		b = append(b, `,"content":[`...)
		if final {
			for k := 0; k < it.parts; k++ {
				if k > 0 {
					b = append(b, ',')
				}
				b = t.appendPart(b, it, k)
			}
		}
		return append(b, `],"role":"assistant"}`...)
	case kindFunction:
		b = append(b, `{"id":"`...)
		b = append(b, it.id...)
		b = append(b, `","type":"function_call","status":`...)
		b = append(b, status...)
		b = append(b, `,"arguments":`...)
		if final {
			b = llm.AppendString(b, llm.BytesString(it.text))
		} else {
			b = append(b, `""`...)
		}
	default:
		b = append(b, `{"id":"`...)
		b = append(b, it.id...)
		b = append(b, `","type":"custom_tool_call","status":`...)
		b = append(b, status...)
		b = append(b, `,"input":`...)
		if final {
			b = llm.AppendString(b, customInput(it.text))
		} else {
			b = append(b, `""`...)
		}
	}
	b = append(b, `,"call_id":`...)
	b = llm.AppendString(b, it.callID)
	b = append(b, `,"name":`...)
	b = llm.AppendString(b, it.name)
	if it.ns != "" {
		b = append(b, `,"namespace":`...)
		b = llm.AppendString(b, it.ns)
	}
	return append(b, '}')
}
