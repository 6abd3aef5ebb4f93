package anthropic

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/apis/internal/costtest"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	provider "github.com/llmrouter/caddy-llm-router/providers/anthropic"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// A native stream as Anthropic sends it: input figures in message_start,
// cumulative output in message_delta; "usage" also inside content.
const nativeStream = "event: message_start\n" +
	`data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":0},"output_tokens":2,"service_tier":"standard"}}}` + "\n\n" +
	"event: content_block_start\n" +
	`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
	"event: ping\n" +
	`data: {"type": "ping"}` + "\n\n" +
	"event: content_block_delta\n" +
	`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"The \"usage\":{} key"}}` + "\n\n" +
	"event: content_block_stop\n" +
	`data: {"type":"content_block_stop","index":0}` + "\n\n" +
	"event: content_block_start\n" +
	`data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"report","input":{}}}` + "\n\n" +
	"event: content_block_delta\n" +
	`data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"usage\": {\"n\": 1}}"}}` + "\n\n" +
	"event: content_block_stop\n" +
	`data: {"type":"content_block_stop","index":1}` + "\n\n" +
	"event: message_delta\n" +
	`data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}` + "\n\n" +
	"event: message_stop\n" +
	`data: {"type":"message_stop"}` + "\n\n"

// A native message, with nested usage details and a tool input that has a
// usage key of its own.
const nativeMessage = `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"usage"},{"type":"tool_use","id":"toolu_01","name":"report","input":{"usage":{"input_tokens":1}}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":0},"output_tokens":89,"server_tool_use":{"web_search_requests":0},"service_tier":"standard"}}`

// costPath is where the filter may edit an event of a Messages stream.
func costPath(name string, data []byte) string {
	if name == "" {
		name = gjson.GetBytes(data, "type").Str
	}
	if name == "message_delta" {
		return "usage"
	}
	return ""
}

func nativeCall(stream bool) *llm.Call {
	return &llm.Call{Op: llm.OpMessages, Stream: stream, Model: "claude-sonnet-4-5", Upstream: &llm.Upstream{Name: "anthropic"}}
}

func relay(t *testing.T, stream bool, ct, body string, f *apis.CostFilter) ([]byte, llm.Usage) {
	t.Helper()
	out, u, err := costtest.Relay(provider.Provider{}.RelayNative, nativeCall(stream), ct, body, f)
	if err != nil {
		t.Fatal(err)
	}
	return out, costtest.Tokens(u)
}

// A native stream: message_delta's usage gets the cost of message_start's
// input figures and message_delta's output — the usage the relay counts —
// and nothing else changes, however the stream is written.
func TestCostNativeStream(t *testing.T) {
	for _, delta := range []string{
		`{"output_tokens":89}`,
		// Newer streams repeat every figure in message_delta.
		`{"input_tokens":472,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":89,"server_tool_use":{"web_search_requests":1}}`,
	} {
		body := strings.Replace(nativeStream, `{"output_tokens":89}`, delta, 1)
		for _, budget := range []bool{false, true} {
			plain, u := relay(t, true, stream.ContentType, body, nil)
			p := &costtest.Pricer{Budget: budget}
			out, u2 := relay(t, true, stream.ContentType, body, API{}.CostFilter(streamReq(t), true, p.Func()))
			if u2 != u || u.PromptTokens != 2572 || u.CompletionTokens != 89 || u.CacheReadTokens != 2000 || u.CacheWriteTokens != 100 {
				t.Fatalf("relay usage %+v / %+v", u, u2)
			}
			if err := costtest.CheckStream(plain, out, p, costPath); err != nil {
				t.Fatal(err)
			}
			if len(p.Seen) != 1 || p.Seen[0] != u {
				t.Fatalf("priced %+v, relay counted %+v", p.Seen, u)
			}
			want := `"cost":` + costtest.USD(costtest.Price.Cost(u))
			if !strings.Contains(string(out), want) {
				t.Fatalf("no %s in\n%s", want, out)
			}
			// Written in any two pieces, the stream comes out the same.
			for cut := 1; cut < len(plain); cut += 37 {
				f := API{}.CostFilter(streamReq(t), true, (&costtest.Pricer{Budget: budget}).Func())
				if got := costtest.Run(f, plain[:cut], plain[cut:]); string(got) != string(out) {
					t.Fatalf("cut at %d:\n%s", cut, got)
				}
			}
		}
	}
}

// A native message: its top-level usage gets the cost, not the tool
// input's.
func TestCostNativeMessage(t *testing.T) {
	req := streamReq(t)
	req.Stream = false
	plain, u := relay(t, false, "application/json", nativeMessage, nil)
	p := &costtest.Pricer{Budget: true}
	out, _ := relay(t, false, "application/json", nativeMessage, API{}.CostFilter(req, true, p.Func()))
	if err := costtest.CheckAnswer(plain, out, p, "usage"); err != nil {
		t.Fatal(err)
	}
	if p.Seen[0] != u {
		t.Fatalf("priced %+v, relay counted %+v", p.Seen[0], u)
	}
	if !strings.Contains(string(out), `"service_tier":"standard","cost":`) {
		t.Fatalf("cost not at the end of usage:\n%s", out)
	}
}

// Translated answers: the message's usage and message_delta's get the
// cost of the hub's usage (what the router counts), message_start's
// estimate is not priced, and nothing else changes — also when the hub
// comes in small pieces.
func TestCostTranslated(t *testing.T) {
	for _, path := range fixtures(t, "stream", ".sse") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			hub := goldenfile.Read(t, path)
			for _, n := range []int{0, 7} {
				plain, err := costtest.Encode(API{}, streamReq(t), stream.ContentType, hub, n, nil)
				p := &costtest.Pricer{Budget: true}
				out, err2 := costtest.Encode(API{}, streamReq(t), stream.ContentType, hub, n, API{}.CostFilter(streamReq(t), false, p.Func()))
				if (err == nil) != (err2 == nil) {
					t.Fatalf("errors %v / %v", err, err2)
				}
				if err := costtest.CheckStream(plain, out, p, costPath); err != nil {
					t.Fatal(err)
				}
				if err == nil && (len(p.Seen) != 1 || p.Seen[0] != costtest.HubUsage(hub)) {
					t.Fatalf("priced %+v, hub usage %+v", p.Seen, costtest.HubUsage(hub))
				}
			}
		})
	}
	for _, path := range fixtures(t, "message", ".json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			hub := goldenfile.Read(t, path)
			req := streamReq(t)
			req.Stream = false
			plain, err := costtest.Encode(API{}, req, "application/json", hub, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := &costtest.Pricer{}
			out, _ := costtest.Encode(API{}, req, "application/json", hub, 0, API{}.CostFilter(req, false, p.Func()))
			if err := costtest.CheckAnswer(plain, out, p, "usage"); err != nil {
				t.Fatal(err)
			}
			if p.Seen[0] != costtest.HubUsage(hub) {
				t.Fatalf("priced %+v, hub usage %+v", p.Seen[0], costtest.HubUsage(hub))
			}
			// A streamed request answered whole: the replayed events.
			req.Stream = true
			plain, _ = costtest.Encode(API{}, req, "application/json", hub, 0, nil)
			p = &costtest.Pricer{}
			out, _ = costtest.Encode(API{}, req, "application/json", hub, 0, API{}.CostFilter(req, false, p.Func()))
			if err := costtest.CheckStream(plain, out, p, costPath); err != nil {
				t.Fatal(err)
			}
			if len(p.Seen) != 1 || p.Seen[0] != costtest.HubUsage(hub) {
				t.Fatalf("priced %+v, hub usage %+v", p.Seen, costtest.HubUsage(hub))
			}
		})
	}
}

// Token counting has no usage: no filter.
func TestCostCountTokens(t *testing.T) {
	req := &apis.Request{Op: llm.OpCountTokens}
	if f := (API{}).CostFilter(req, true, (&costtest.Pricer{}).Func()); f != nil {
		t.Fatal("a filter for count_tokens")
	}
}

// Any event among a native stream's, written in any pieces: the output
// is valid and differs from the input only in message_delta's usage; any
// JSON as a whole answer differs only in its usage.
func FuzzCostFilter(f *testing.F) {
	for _, ev := range costtest.Events([]byte(nativeStream)) {
		data, _ := costtest.Data(ev)
		f.Add(gjson.GetBytes(data, "type").Str, data, 5, 40, true)
	}
	f.Add("message_delta", []byte(`{"type":"message_delta","usage":{}}`), 3, 9, false)
	f.Add("", []byte(`{"type":"message_delta","usage":{"output_tokens":null,"cost":1}}`), 0, 1, true)
	f.Add("message_start", []byte(`{"type":"message_start","message":{"usage":{"input_tokens":"x"}}}`), 0, 1, true)
	f.Fuzz(func(t *testing.T, name string, data []byte, a, b int, native bool) {
		if !gjson.ValidBytes(data) || strings.ContainsAny(string(data), "\r\n") || strings.ContainsAny(name, "\r\n") {
			return
		}
		ev := "data: " + string(data) + "\n\n"
		if name != "" {
			ev = "event: " + name + "\n" + ev
		}
		at := strings.Index(nativeStream, "event: message_delta")
		in := []byte(nativeStream[:at] + ev + nativeStream[at:])
		p := &costtest.Pricer{Budget: native}
		out := costtest.Run(API{}.CostFilter(streamReq(t), native, p.Func()), costtest.Split(in, a, b, a*b)...)
		if err := costtest.CheckStream(in, out, p, costPath); err != nil {
			t.Fatal(err)
		}
		if d := strings.TrimSpace(string(data)); d == "" || d[0] != '{' {
			return
		}
		p = &costtest.Pricer{Budget: native}
		out = costtest.Run(API{}.CostFilter(streamReq(t), true, p.Func()), costtest.Split(data, a, b)...)
		if err := costtest.CheckAnswer(data, out, p, "usage"); err != nil {
			t.Fatal(err)
		}
	})
}
