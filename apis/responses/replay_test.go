package responses

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

const response = `{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"gpt-x",
"output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello","annotations":[]}]},
{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{\"a\":1}","status":"completed"}],
"usage":{"input_tokens":3,"output_tokens":4,"total_tokens":7,"output_tokens_details":{"reasoning_tokens":0}}}`

func TestResponseToEventsAndBack(t *testing.T) {
	events, err := API{}.AnswerToEvents(&apis.Request{Op: llm.OpResponses, Stream: true}, []byte(response))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	seq := int64(0)
	_ = apis.EachEvent(events, func(name, data []byte) bool {
		types = append(types, string(name))
		if n := gjson.GetBytes(data, "sequence_number").Int(); n != seq {
			t.Errorf("sequence_number %d, want %d", n, seq)
		}
		seq++
		return true
	})
	if types[0] != "response.created" || types[len(types)-1] != "response.completed" {
		t.Errorf("events %q", types)
	}
	back, err := API{}.EventsToAnswer(&apis.Request{Op: llm.OpResponses}, events, llm.Usage{})
	if err != nil {
		t.Fatal(err)
	}
	var x, y any
	_ = json.Unmarshal(back, &x)
	_ = json.Unmarshal([]byte(response), &y)
	if !reflect.DeepEqual(x, y) {
		t.Errorf("round trip:\n got %s\nwant %s", back, response)
	}
	if _, err := (API{}).EventsToAnswer(nil, []byte("event: response.created\ndata: {\"type\":\"response.created\"}\n\n"), llm.Usage{}); err == nil {
		t.Error("a stream without its terminal event was assembled")
	}
}
