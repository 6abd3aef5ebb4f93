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
	d := caddyfile.NewTestDispenser("mock_response \"hi there\"\nmock_delay 25ms\nother 1")
	for _, want := range []bool{true, true, false} {
		d.Next()
		handled, err := p.UnmarshalTargetOption(d)
		if err != nil || handled != want {
			t.Fatalf("%s: handled %v err %v", d.Val(), handled, err)
		}
		for d.NextArg() {
		}
	}
	if p.Response != "hi there" || time.Duration(p.Delay) != 25*time.Millisecond {
		t.Fatalf("%+v", p)
	}
}
