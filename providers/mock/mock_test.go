package mock

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

func call(ep llm.Op, body string, stream bool) *llm.Call {
	return &llm.Call{Op: ep, Body: []byte(body), Model: "mock-1", Stream: stream}
}

const chatBody = `{"model":"x","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"first question"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"  Hello,\n  mock world! "},{"type":"image_url","image_url":{"url":"data:x"}}]}]}`

func TestChatEcho(t *testing.T) {
	resp, err := (&Provider{}).Send(context.Background(), call(llm.OpChat, chatBody, false))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	doc := gjson.ParseBytes(b)
	if doc.Get("choices.0.message.content").Str != "  Hello,\n  mock world! " || doc.Get("model").Str != "mock-1" || doc.Get("object").Str != "chat.completion" {
		t.Fatalf("%s", b)
	}
	// prompt: be brief (2) + first question (2) + ok (1) + Hello, mock world! (3) = 8
	if doc.Get("usage.prompt_tokens").Int() != 8 || doc.Get("usage.completion_tokens").Int() != 3 || doc.Get("usage.total_tokens").Int() != 11 {
		t.Fatalf("usage %s", doc.Get("usage").Raw)
	}
	resp, _ = (&Provider{Response: "fixed text"}).Send(context.Background(), call(llm.OpChat, chatBody, false))
	b, _ = io.ReadAll(resp.Body)
	if gjson.GetBytes(b, "choices.0.message.content").Str != "fixed text" {
		t.Fatalf("%s", b)
	}
}

// Streamed pieces add up to exactly the text, one word per chunk, then the
// finish chunk, the usage chunk and [DONE].
func TestChatStream(t *testing.T) {
	resp, _ := (&Provider{}).Send(context.Background(), call(llm.OpChat, chatBody, true))
	b, _ := io.ReadAll(resp.Body)
	var text strings.Builder
	var datas []string
	for _, ev := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
		data := strings.TrimPrefix(ev, "data: ")
		datas = append(datas, data)
		text.WriteString(gjson.Get(data, "choices.0.delta.content").Str)
	}
	if text.String() != "  Hello,\n  mock world! " {
		t.Fatalf("pieces add up to %q", text.String())
	}
	// role + 3 words + finish + usage + [DONE]
	if len(datas) != 7 || gjson.Get(datas[0], "choices.0.delta.role").Str != "assistant" ||
		gjson.Get(datas[4], "choices.0.finish_reason").Str != "stop" || gjson.Get(datas[5], "usage.completion_tokens").Int() != 3 || datas[6] != "[DONE]" {
		t.Fatalf("events %q", datas)
	}
}

// mock_delay separates the words, and a cancelled client stops the stream
// at once.
func TestStreamDelayAndCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Provider{Response: "a b c d", Delay: 1 << 62}
	resp, _ := p.Send(ctx, call(llm.OpChat, chatBody, true))
	buf := make([]byte, 4096)
	if _, err := resp.Body.Read(buf); err != nil { // role
		t.Fatal(err)
	}
	if _, err := resp.Body.Read(buf); err != nil { // first word, no delay
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := resp.Body.Read(buf); done <- err }()
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("err %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the delay did not end on cancel")
	}
}

func TestCompletions(t *testing.T) {
	resp, _ := (&Provider{}).Send(context.Background(), call(llm.OpCompletions, `{"model":"x","prompt":["say this"]}`, false))
	b, _ := io.ReadAll(resp.Body)
	if gjson.GetBytes(b, "choices.0.text").Str != "say this" || gjson.GetBytes(b, "object").Str != "text_completion" {
		t.Fatalf("%s", b)
	}
}

func TestEmbeddings(t *testing.T) {
	get := func(body string) gjson.Result {
		resp, _ := (&Provider{}).Send(context.Background(), call(llm.OpEmbeddings, body, false))
		b, _ := io.ReadAll(resp.Body)
		return gjson.ParseBytes(b)
	}
	a := get(`{"model":"e","input":["same text","other"]}`)
	b := get(`{"model":"e","input":"same text"}`)
	if len(a.Get("data").Array()) != 2 || len(a.Get("data.0.embedding").Array()) != 256 {
		t.Fatalf("%s", a.Raw[:200])
	}
	if a.Get("data.0.embedding").Raw != b.Get("data.0.embedding").Raw || a.Get("data.0.embedding").Raw == a.Get("data.1.embedding").Raw {
		t.Fatal("not deterministic per input")
	}
	var norm float64
	for _, v := range a.Get("data.0.embedding").Array() {
		norm += v.Float() * v.Float()
	}
	if math.Abs(norm-1) > 1e-4 {
		t.Fatalf("norm² %f", norm)
	}
	d := get(`{"model":"e","input":"x","dimensions":8,"encoding_format":"base64"}`)
	raw, err := base64.StdEncoding.DecodeString(d.Get("data.0.embedding").Str)
	if err != nil || len(raw) != 32 || math.IsNaN(float64(math.Float32frombits(binary.LittleEndian.Uint32(raw)))) {
		t.Fatalf("base64 embedding: %v %d", err, len(raw))
	}
	bad := get(`{"model":"e","input":[]}`)
	if bad.Get("error.code").Str != "invalid_request" {
		t.Fatalf("%s", bad.Raw)
	}
}

func TestCaddyfileOptions(t *testing.T) {
	p := &Provider{}
	d := caddyfile.NewTestDispenser("mock {\n response \"hi there\"\n delay 25ms\n tool_call get_weather {\"city\":\"Paris\"}\n tool_call now\n}")
	if err := p.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	if p.Response != "hi there" || time.Duration(p.Delay) != 25*time.Millisecond || len(p.ToolCalls) != 2 ||
		p.ToolCalls[0] != (ToolCall{Tool: "get_weather", Arguments: `{"city":"Paris"}`}) || p.ToolCalls[1].Tool != "now" {
		t.Fatalf("%+v", p)
	}
	for _, bad := range []string{"mock {\n nope 1\n}", "mock {\n delay soon\n}", "mock {\n tool_call x [1]\n}", "mock {\n response a b\n}"} {
		if err := (&Provider{}).UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

const toolBody = `{"model":"x","tools":[{"type":"function","function":{"name":"get_weather","parameters":{}}},{"type":"function","function":{"name":"now"}}],"messages":[{"role":"user","content":"weather?"}]}`

// With tools offered, the configured tool calls are the answer, as
// parallel calls; after the tool results, the answer is their text.
func TestToolCalls(t *testing.T) {
	p := &Provider{ToolCalls: []ToolCall{{Tool: "get_weather", Arguments: `{"city":"Paris"}`}, {Tool: "now"}, {Tool: "not_offered"}}}
	resp, _ := p.Send(context.Background(), call(llm.OpChat, toolBody, false))
	b, _ := io.ReadAll(resp.Body)
	doc := gjson.ParseBytes(b)
	calls := doc.Get("choices.0.message.tool_calls").Array()
	if doc.Get("choices.0.finish_reason").Str != "tool_calls" || len(calls) != 2 ||
		calls[0].Get("function.name").Str != "get_weather" || calls[0].Get("function.arguments").Str != `{"city":"Paris"}` ||
		calls[1].Get("function.arguments").Str != "{}" || calls[0].Get("id").Str == calls[1].Get("id").Str ||
		doc.Get("choices.0.message.content").Type != gjson.Null {
		t.Fatalf("%s", b)
	}

	// Streamed: opening deltas with index and id, arguments in pieces.
	resp, _ = p.Send(context.Background(), call(llm.OpChat, toolBody, true))
	b, _ = io.ReadAll(resp.Body)
	args := map[int64]string{}
	ids := map[int64]string{}
	finish := ""
	for _, line := range strings.Split(string(b), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		for _, tc := range gjson.Get(data, "choices.0.delta.tool_calls").Array() {
			i := tc.Get("index").Int()
			args[i] += tc.Get("function.arguments").Str
			if id := tc.Get("id").Str; id != "" {
				ids[i] = id
			}
		}
		if f := gjson.Get(data, "choices.0.finish_reason").Str; f != "" {
			finish = f
		}
	}
	if args[0] != `{"city":"Paris"}` || args[1] != "{}" || ids[0] == "" || ids[1] == "" || finish != "tool_calls" {
		t.Fatalf("args %v ids %v finish %q\n%s", args, ids, finish, b)
	}

	// After the tool results: their text.
	after := strings.Replace(toolBody, `"content":"weather?"}]`, `"content":"weather?"},{"role":"assistant","tool_calls":[]},{"role":"tool","tool_call_id":"c1","content":"sunny, 21C"}]`, 1)
	resp, _ = p.Send(context.Background(), call(llm.OpChat, after, false))
	b, _ = io.ReadAll(resp.Body)
	if got := gjson.GetBytes(b, "choices.0.message.content").Str; got != "sunny, 21C" {
		t.Fatalf("%s", b)
	}
	// Without tools in the request: the usual echo.
	resp, _ = p.Send(context.Background(), call(llm.OpChat, chatBody, false))
	b, _ = io.ReadAll(resp.Body)
	if gjson.GetBytes(b, "choices.0.message.tool_calls").Exists() {
		t.Fatalf("%s", b)
	}
}
