package openaiwire

import (
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// ResponseEvents renders a whole `response` object, the answer of a server
// that ignored `stream`, as the event stream a streamed request expects
// (SPEC 5.3): response.created and .in_progress, each output item added
// with its content or arguments as one delta and done, then the terminal
// event of its status, sequence numbers from 0. Rare, so it favours
// clarity over speed.
func ResponseEvents(body []byte) []byte {
	doc := gjson.ParseBytes(body)
	var (
		out []byte
		seq int64
	)
	event := func(typ string, fields ...string) {
		out = append(out, "event: "...)
		out = append(out, typ...)
		out = append(out, "\ndata: {\"type\":\""...)
		out = append(out, typ...)
		out = append(out, `","sequence_number":`...)
		out = strconv.AppendInt(out, seq, 10)
		seq++
		for i := 0; i+1 < len(fields); i += 2 {
			out = append(out, ',')
			out = llm.AppendString(out, fields[i])
			out = append(out, ':')
			out = append(out, fields[i+1]...)
		}
		out = append(out, "}\n\n"...)
	}
	str := func(s string) string { return string(llm.AppendString(nil, s)) }

	started, err := sjson.SetBytes(append([]byte(nil), body...), "status", "in_progress")
	if err == nil {
		started, err = sjson.SetRawBytes(started, "output", []byte("[]"))
	}
	if err != nil {
		started = body // not an object: the caller checked `output`
	}
	event("response.created", "response", string(started))
	event("response.in_progress", "response", string(started))
	doc.Get("output").ForEach(func(k, item gjson.Result) bool {
		index := strconv.FormatInt(k.Int(), 10)
		ref := []string{"item_id", str(item.Get("id").Str), "output_index", index}
		event("response.output_item.added", "output_index", index, "item", item.Raw)
		switch item.Get("type").Str {
		case "message":
			item.Get("content").ForEach(func(j, part gjson.Result) bool {
				at := append(ref[:4:4], "content_index", strconv.FormatInt(j.Int(), 10))
				switch part.Get("type").Str {
				case "output_text":
					empty, _ := sjson.Set(part.Raw, "text", "")
					text := part.Get("text").Str
					event("response.content_part.added", append(at, "part", empty)...)
					event("response.output_text.delta", append(at, "delta", str(text), "logprobs", "[]")...)
					event("response.output_text.done", append(at, "text", str(text), "logprobs", "[]")...)
				case "refusal":
					empty, _ := sjson.Set(part.Raw, "refusal", "")
					text := part.Get("refusal").Str
					event("response.content_part.added", append(at, "part", empty)...)
					event("response.refusal.delta", append(at, "delta", str(text))...)
					event("response.refusal.done", append(at, "refusal", str(text))...)
				default:
					event("response.content_part.added", append(at, "part", part.Raw)...)
				}
				event("response.content_part.done", append(at, "part", part.Raw)...)
				return true
			})
		case "function_call":
			args := str(item.Get("arguments").Str)
			event("response.function_call_arguments.delta", append(ref, "delta", args)...)
			event("response.function_call_arguments.done", append(ref, "arguments", args)...)
		}
		event("response.output_item.done", "output_index", index, "item", item.Raw)
		return true
	})
	switch doc.Get("status").Str {
	case "incomplete":
		event("response.incomplete", "response", doc.Raw)
	case "failed":
		event("response.failed", "response", doc.Raw)
	default:
		event("response.completed", "response", doc.Raw)
	}
	return out
}
