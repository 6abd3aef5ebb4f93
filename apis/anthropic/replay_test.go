package anthropic

import (
	"reflect"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
)

const message = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[
{"type":"thinking","thinking":"Let me see.","signature":"c2ln"},
{"type":"redacted_thinking","data":"opaque"},
{"type":"text","text":"The answer is \"42\".","citations":[{"type":"char_location","cited_text":"42","document_index":0,"start_char_index":0,"end_char_index":2}]},
{"type":"tool_use","id":"toolu_1","name":"calc","input":{"expr":"6*7","nested":{"a":[1,2]}}}],
"stop_reason":"tool_use","stop_sequence":null,
"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":3,"output_tokens":40}}`

func TestMessageToEventsAndBack(t *testing.T) {
	events, err := API{}.AnswerToEvents(&apis.Request{Op: llm.OpMessages, Stream: true}, []byte(message))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	_ = apis.EachEvent(events, func(name, data []byte) bool {
		if string(name) != gjson.GetBytes(data, "type").Str {
			t.Errorf("event %q carries type %q", name, gjson.GetBytes(data, "type").Str)
		}
		names = append(names, string(name))
		return true
	})
	want := []string{"message_start",
		"content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
		"content_block_start", "content_block_stop",
		"content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta", "content_block_stop",
		"message_delta", "message_stop"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("events %q\nwant %q", names, want)
	}
	back, err := API{}.EventsToAnswer(&apis.Request{Op: llm.OpMessages}, events, llm.Usage{})
	if err != nil {
		t.Fatal(err)
	}
	if !goldenfile.SameJSON(t, back, []byte(message)) {
		t.Errorf("round trip:\n got %s\nwant %s", back, message)
	}
}

// A stream as Anthropic sends it, input usage at the start, output at the
// end, a tool's input in pieces.
const messageStream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
	"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"there\"}}\n\n" +
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{}}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\": \"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"x\\\"}\"}}\n\n" +
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":9}}\n\n" +
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

func TestEventsToMessage(t *testing.T) {
	got, err := API{}.EventsToAnswer(&apis.Request{Op: llm.OpMessages}, []byte(messageStream), llm.Usage{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"msg_2","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":"Hi there"},
{"type":"tool_use","id":"t1","name":"f","input":{"q":"x"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":9}}`
	if !goldenfile.SameJSON(t, got, []byte(want)) {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
