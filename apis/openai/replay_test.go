package openai

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
)

func dataOf(t *testing.T, events []byte) []string {
	t.Helper()
	var out []string
	if err := apis.EachEvent(events, func(_, d []byte) bool { out = append(out, string(d)); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

const replayAnswer = `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-x",
"choices":[{"index":0,"message":{"role":"assistant","content":"Hello \"there\"","reasoning_content":"thinking…",
"thinking_blocks":[{"type":"thinking","thinking":"thinking…","signature":"sig=="}],
"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"a\":1}"}},{"id":"call_2","type":"function","function":{"name":"put","arguments":"{}"}}]},
"logprobs":null,"finish_reason":"tool_calls"},
{"index":1,"message":{"role":"assistant","content":"second"},"logprobs":null,"finish_reason":"stop"}],
"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":2}}}`

func TestChatAnswerToEventsAndBack(t *testing.T) {
	req := &apis.Request{Op: llm.OpChat, Stream: true, IncludeUsage: true}
	var indented bytes.Buffer
	_ = json.Indent(&indented, []byte(replayAnswer), "", "  ")
	events, err := API{}.AnswerToEvents(req, indented.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	data := dataOf(t, events)
	if data[len(data)-1] != "[DONE]" {
		t.Errorf("the stream does not end with [DONE]: %q", data[len(data)-1])
	}
	usage := gjson.Get(data[len(data)-2], "usage")
	if !usage.IsObject() || gjson.Get(data[len(data)-2], "choices.#").Int() != 0 {
		t.Errorf("no usage chunk before [DONE]: %s", data[len(data)-2])
	}
	for _, d := range data[:len(data)-1] {
		if o := gjson.Get(d, "object").Str; o != "chat.completion.chunk" {
			t.Errorf("a chunk's object is %q", o)
		}
	}
	indexed := false
	for _, d := range data {
		if tc := gjson.Get(d, "choices.0.delta.tool_calls.0"); tc.Get("id").Str == "call_2" {
			indexed = tc.Get("index").Type == gjson.Number && tc.Get("index").Int() == 1
		}
	}
	if !indexed {
		t.Errorf("the second tool call lacks its index:\n%s", events)
	}
	back, err := API{}.EventsToAnswer(&apis.Request{Op: llm.OpChat}, events, llm.Usage{})
	if err != nil {
		t.Fatal(err)
	}
	if !goldenfile.SameJSON(t, back, []byte(replayAnswer)) {
		t.Errorf("round trip:\n got %s\nwant %s", back, replayAnswer)
	}
	// Without include_usage, no usage chunk.
	events, _ = API{}.AnswerToEvents(&apis.Request{Op: llm.OpChat, Stream: true}, []byte(replayAnswer))
	if strings.Contains(string(events), `"usage"`) {
		t.Error("a usage chunk for a client that did not ask for it")
	}
}

// A stream as an upstream sends it: pieces of text, reasoning with the
// signature at the end, tool-call arguments in pieces.
const replayStream = `data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"hm"},"finish_reason":null}]}

data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"m."},"finish_reason":null}]}

data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"thinking_blocks":[{"type":"thinking","thinking":"","signature":"S"}]},"finish_reason":null}]}

data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}

data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}

data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_9","type":"function","function":{"name":"f","arguments":"{\"x\""}}]},"finish_reason":null}]}

data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":2}"}}]},"finish_reason":null}]}

data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: [DONE]

`

func TestChatEventsToAnswer(t *testing.T) {
	got, err := API{}.EventsToAnswer(&apis.Request{Op: llm.OpChat}, []byte(replayStream), llm.Usage{PromptTokens: 3, CompletionTokens: 4, ReasoningTokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"c2","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello",
"reasoning_content":"hmm.","thinking_blocks":[{"type":"thinking","thinking":"hmm.","signature":"S"}],
"tool_calls":[{"id":"call_9","type":"function","function":{"name":"f","arguments":"{\"x\":2}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"completion_tokens_details":{"reasoning_tokens":1}}}`
	if !goldenfile.SameJSON(t, got, []byte(want)) {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestTextCompletionRoundTrip(t *testing.T) {
	answer := `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"text":"once upon","index":0,"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`
	events, err := API{}.AnswerToEvents(&apis.Request{Op: llm.OpCompletions, Stream: true, IncludeUsage: true}, []byte(answer))
	if err != nil {
		t.Fatal(err)
	}
	if o := gjson.Get(dataOf(t, events)[0], "object").Str; o != "text_completion" {
		t.Errorf("a legacy completion chunk's object is %q", o)
	}
	back, err := API{}.EventsToAnswer(&apis.Request{Op: llm.OpCompletions}, events, llm.Usage{})
	if err != nil {
		t.Fatal(err)
	}
	if !goldenfile.SameJSON(t, back, []byte(answer)) {
		t.Errorf("round trip:\n got %s\nwant %s", back, answer)
	}
}

func TestReplayEventsUsageChunk(t *testing.T) {
	withUsage := strings.Replace(replayStream, "data: [DONE]", `data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}

data: [DONE]`, 1)
	u := llm.Usage{PromptTokens: 3, CompletionTokens: 4}
	asks := &apis.Request{Op: llm.OpChat, Stream: true, IncludeUsage: true}
	doesNot := &apis.Request{Op: llm.OpChat, Stream: true}
	if got := (API{}).ReplayEvents(asks, []byte(withUsage), u); string(got) != withUsage {
		t.Error("a stream with its usage chunk changed for a client that asks for it")
	}
	if got := (API{}).ReplayEvents(doesNot, []byte(replayStream), u); string(got) != replayStream {
		t.Error("a stream without a usage chunk changed for a client that does not ask for it")
	}
	if got := (API{}).ReplayEvents(doesNot, []byte(withUsage), u); string(got) != replayStream {
		t.Errorf("the usage chunk was not left out:\n%s", got)
	}
	got := API{}.ReplayEvents(asks, []byte(replayStream), u)
	data := dataOf(t, got)
	last := data[len(data)-2]
	if data[len(data)-1] != "[DONE]" || gjson.Get(last, "usage.total_tokens").Int() != 7 || gjson.Get(last, "id").Str != "c2" {
		t.Errorf("no usage chunk made from the stored usage:\n%s", got)
	}
}
