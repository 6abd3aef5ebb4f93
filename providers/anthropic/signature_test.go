package anthropic

import (
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// nextTurn is a hub request that sends the assistant message back with a
// tool result, as a client's tool loop does.
func nextTurn(t *testing.T, assistant string) []byte {
	t.Helper()
	body := []byte(`{"model":"claude","messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}`)
	body, err := sjson.SetRawBytes(body, "messages.-1", []byte(assistant))
	if err != nil {
		t.Fatal(err)
	}
	id := gjson.Get(assistant, "tool_calls.0.id").Str
	return mustSet(t, body, "messages.-1", `{"role":"tool","tool_call_id":"`+id+`","content":"sunny"}`)
}

func mustSet(t *testing.T, body []byte, path, raw string) []byte {
	t.Helper()
	out, err := sjson.SetRawBytes(body, path, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Claude's thinking blocks, signatures and redacted data included, come
// back to the Messages API unchanged after a trip through the hub: a
// non-streamed answer.
func TestSignatureRoundTripMessage(t *testing.T) {
	msg := `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[` +
		`{"type":"thinking","thinking":"Need the weather.","signature":"EqQBCgIYAhIM1gbc=="},` +
		`{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"},` +
		`{"type":"text","text":"Checking."},` +
		`{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],` +
		`"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":7}}`
	hub, _, e := appendCompletion(nil, []byte(msg), callFor([]byte(`{"model":"claude","messages":[]}`)))
	if e != nil {
		t.Fatal(e)
	}
	assistant := gjson.GetBytes(hub, "choices.0.message").Raw
	out := appendRequest(nil, callFor(nextTurn(t, assistant)), DefaultMaxTokens)
	got := gjson.GetBytes(out, "messages.1.content")
	want := gjson.Get(msg, "content")
	if !jsonEqual(got.Raw, want.Raw) {
		t.Fatalf("assistant blocks\n got %s\nwant %s", got.Raw, want.Raw)
	}
}

// The same for a streamed answer: the signature arrives as its own delta
// and the client (here: a minimal accumulator) keeps it.
func TestSignatureRoundTripStream(t *testing.T) {
	sse := goldenfile.Read(t, "testdata/stream/thinking.sse")
	c := callFor([]byte(`{"model":"claude","messages":[],"stream":true}`))
	rec, _, err := translateStream(t, c, sse)
	if err != nil {
		t.Fatal(err)
	}
	// Accumulate the hub deltas as LiteLLM-style clients do.
	var reasoning, content strings.Builder
	var blocks []string
	for _, data := range checkSSE(t, rec.Body.Bytes()) {
		d := gjson.Get(data, "choices.0.delta")
		reasoning.WriteString(d.Get("reasoning_content").Str)
		content.WriteString(d.Get("content").Str)
		d.Get("thinking_blocks").ForEach(func(_, tb gjson.Result) bool {
			if tb.Get("type").Str == "thinking" {
				// The signature closes the thinking streamed so far.
				tb = gjson.Parse(mustSetStr(t, tb.Raw, "thinking", reasoning.String()))
			}
			blocks = append(blocks, tb.Raw)
			return true
		})
	}
	assistant := `{"role":"assistant","content":` + quote(content.String()) +
		`,"thinking_blocks":[` + strings.Join(blocks, ",") + `],"tool_calls":[{"id":"toolu_9","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}`
	out := appendRequest(nil, callFor(nextTurn(t, assistant)), DefaultMaxTokens)
	got := gjson.GetBytes(out, "messages.1.content")
	if n := len(got.Array()); n != 4 {
		t.Fatalf("%d blocks: %s", n, got.Raw)
	}
	th := got.Get("0")
	if th.Get("type").Str != "thinking" || th.Get("signature").Str != "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..." ||
		th.Get("thinking").Str != "I need to find the GCD of 1071 and 462.\n\n1071 = 2 × 462 + 147" {
		t.Fatalf("thinking block %s", th.Raw)
	}
	if r := got.Get("1"); r.Get("type").Str != "redacted_thinking" || r.Get("data").Str != "EmwKAhgBEgy3va3pzix" {
		t.Fatalf("redacted block %s", r.Raw)
	}
}

func mustSetStr(t *testing.T, obj, path, v string) string {
	t.Helper()
	out, err := sjson.Set(obj, path, v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// quote is s as a JSON string.
func quote(s string) string {
	out, _ := sjson.Set(`{}`, "v", s)
	return gjson.Get(out, "v").Raw
}

// jsonEqual compares two JSON texts after compacting them.
func jsonEqual(a, b string) bool {
	return gjson.Get(a, "@ugly").Raw == gjson.Get(b, "@ugly").Raw
}
