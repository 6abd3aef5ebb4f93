package responses

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/apis/internal/costtest"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	openaiprovider "github.com/llmrouter/caddy-llm-router/providers/openai"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// A native Responses stream as OpenAI sends it: `"usage":null` until the
// terminal event; "usage" also in the echoed instructions and metadata
// and in the output text.
const (
	nativeResponse = `{"id":"resp_1","object":"response","created_at":1741476542,"status":"completed","error":null,"incomplete_details":null,"instructions":"Answer with {\"usage\":{}}","max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"\"usage\": {}","annotations":[]}]}],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":{"input_tokens":2006,"input_tokens_details":{"cached_tokens":1920},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":2306},"user":null,"metadata":{"usage":"team-a"}}`

	nativeStream = "event: response.created\n" +
		`data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1741476542,"status":"in_progress","error":null,"incomplete_details":null,"instructions":"Answer with {\"usage\":{}}","model":"gpt-4.1-2025-04-14","output":[],"usage":null,"metadata":{"usage":"team-a"}}}` + "\n\n" +
		"event: response.in_progress\n" +
		`data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","object":"response","created_at":1741476542,"status":"in_progress","error":null,"incomplete_details":null,"instructions":"Answer with {\"usage\":{}}","model":"gpt-4.1-2025-04-14","output":[],"usage":null,"metadata":{"usage":"team-a"}}}` + "\n\n" +
		"event: response.output_item.added\n" +
		`data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","content":[],"role":"assistant"}}` + "\n\n" +
		"event: response.output_text.delta\n" +
		`data: {"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"\"usage\": {}","logprobs":[]}` + "\n\n" +
		"event: response.completed\n" +
		`data: {"type":"response.completed","sequence_number":4,"response":{"id":"resp_1","object":"response","created_at":1741476542,"status":"completed","error":null,"incomplete_details":null,"instructions":"Answer with {\"usage\":{}}","model":"gpt-4.1-2025-04-14","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"\"usage\": {}","annotations":[]}]}],"usage":{"input_tokens":2006,"input_tokens_details":{"cached_tokens":1920},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":2306},"metadata":{"usage":"team-a"}}}` + "\n\n"
)

// costPath is where the filter may edit a Responses event.
func costPath(name string, data []byte) string {
	if name == "" {
		name = gjson.GetBytes(data, "type").Str
	}
	if terminal(name) {
		return "response.usage"
	}
	return ""
}

const nativeRequest = `{"model":"gpt-4.1","input":"Hi","stream":true}`

func relay(t *testing.T, stream bool, ct, body string, p *costtest.Pricer) ([]byte, llm.Usage) {
	t.Helper()
	c := &llm.Call{Op: llm.OpResponses, Stream: stream, Body: []byte(nativeRequest), Model: "gpt-4.1", Upstream: &llm.Upstream{Name: "openai"}}
	req := parse(t, []byte(nativeRequest))
	req.Stream = stream
	var f *apis.CostFilter
	if p != nil {
		f = API{}.CostFilter(req, true, p.Func())
	}
	out, u, err := costtest.Relay(openaiprovider.RelayResponses, c, ct, body, f)
	if err != nil {
		t.Fatal(err)
	}
	return out, u
}

// Native answers: the terminal event's response usage, or the response
// object's, gets the cost of the usage the relay counts; nothing else
// changes.
func TestCostNative(t *testing.T) {
	incomplete := strings.NewReplacer("response.completed", "response.incomplete", `"status":"completed","error":null,"incomplete_details":null`, `"status":"incomplete","error":null,"incomplete_details":{"reason":"max_output_tokens"}`).Replace(nativeStream)
	for _, body := range []string{nativeStream, incomplete} {
		plain, u := relay(t, true, stream.ContentType, body, nil)
		p := &costtest.Pricer{Budget: true}
		out, _ := relay(t, true, stream.ContentType, body, p)
		if err := costtest.CheckStream(plain, out, p, costPath); err != nil {
			t.Fatal(err)
		}
		if len(p.Seen) != 1 || p.Seen[0] != costtest.Tokens(u) || u.CacheReadTokens != 1920 {
			t.Fatalf("priced %+v, the relay counted %+v", p.Seen, u)
		}
		if !strings.Contains(string(out), `"total_tokens":2306,"cost":`) {
			t.Fatalf("no cost:\n%s", out)
		}
		for cut := 1; cut < len(plain); cut += 41 {
			f := API{}.CostFilter(parse(t, []byte(nativeRequest)), true, (&costtest.Pricer{Budget: true}).Func())
			if got := costtest.Run(f, plain[:cut], plain[cut:]); string(got) != string(out) {
				t.Fatalf("cut at %d:\n%s", cut, got)
			}
		}
	}
	plain, u := relay(t, false, "application/json", nativeResponse, nil)
	p := &costtest.Pricer{}
	out, _ := relay(t, false, "application/json", nativeResponse, p)
	if err := costtest.CheckAnswer(plain, out, p, "usage"); err != nil {
		t.Fatal(err)
	}
	if p.Seen[0] != costtest.Tokens(u) || !strings.Contains(string(out), `"metadata":{"usage":"team-a"}}`) {
		t.Fatalf("priced %+v, the relay counted %+v\n%s", p.Seen, u, out)
	}
	// A streamed request answered with a response object: the relay sends
	// it as events, and response.completed gets the cost.
	plain, u = relay(t, true, "application/json", nativeResponse, nil)
	p = &costtest.Pricer{}
	out, _ = relay(t, true, "application/json", nativeResponse, p)
	if err := costtest.CheckStream(plain, out, p, costPath); err != nil {
		t.Fatal(err)
	}
	if len(p.Seen) != 1 || p.Seen[0] != costtest.Tokens(u) {
		t.Fatalf("priced %+v, the relay counted %+v", p.Seen, u)
	}
}

// Translated answers carry the cost of the hub's usage — what the router
// counts, prompt tokens written to a cache included — and nothing else
// changes.
func TestCostTranslated(t *testing.T) {
	for _, dir := range []string{"stream", "answer"} {
		ext := ".sse"
		if dir == "answer" {
			ext = ".json"
		}
		for _, path := range fixtures(t, dir, ext) {
			t.Run(filepath.Base(path), func(t *testing.T) {
				hub := goldenfile.Read(t, path)
				ct := stream.ContentType
				if dir == "answer" {
					ct = "application/json"
				}
				for _, n := range []int{0, 7} {
					req := parse(t, requestFor(t, path))
					plain, err := costtest.Encode(API{}, req, ct, hub, n, nil)
					p := &costtest.Pricer{Budget: true}
					req = parse(t, requestFor(t, path))
					out, err2 := costtest.Encode(API{}, req, ct, hub, n, API{}.CostFilter(req, false, p.Func()))
					if (err == nil) != (err2 == nil) {
						t.Fatalf("errors %v / %v", err, err2)
					}
					if req.Stream {
						err = costtest.CheckStream(plain, out, p, costPath)
					} else {
						err = costtest.CheckAnswer(plain, out, p, "usage")
					}
					if err != nil {
						t.Fatal(err)
					}
					if hu := costtest.HubUsage(hub); len(p.Seen) > 0 && p.Seen[len(p.Seen)-1] != hu {
						t.Fatalf("priced %+v, hub usage %+v", p.Seen, hu)
					}
				}
			})
		}
	}
	// Prompt tokens an upstream wrote to its cache are priced as such.
	hub := []byte(`{"id":"c","object":"chat.completion","created":1,"model":"claude","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2572,"completion_tokens":89,"total_tokens":2661,"prompt_tokens_details":{"cached_tokens":2000,"cache_creation_tokens":100}}}`)
	req := parse(t, []byte(`{"model":"claude","input":"Hi"}`))
	p := &costtest.Pricer{}
	out, err := costtest.Encode(API{}, req, "application/json", hub, 0, API{}.CostFilter(req, false, p.Func()))
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Usage{PromptTokens: 2572, CompletionTokens: 89, CacheReadTokens: 2000, CacheWriteTokens: 100}
	if len(p.Seen) != 1 || p.Seen[0] != want || gjson.GetBytes(out, "usage.cost").Float() != costtest.Price.Cost(want) {
		t.Fatalf("priced %+v\n%s", p.Seen, out)
	}
}

// Any event among a native stream's, written in any pieces, and any JSON
// answer: the output differs from the input only in the response's usage.
func FuzzCostFilter(f *testing.F) {
	for _, ev := range costtest.Events([]byte(nativeStream)) {
		data, _ := costtest.Data(ev)
		f.Add(gjson.GetBytes(data, "type").Str, data, 7, 50, true)
	}
	f.Add("", []byte(nativeResponse), 1, 90, false)
	f.Add("response.failed", []byte(`{"type":"response.failed","response":{"usage":{"cost":1,"input_tokens":"1"}}}`), 1, 9, true)
	f.Fuzz(func(t *testing.T, name string, data []byte, a, b int, budget bool) {
		if !gjson.ValidBytes(data) || strings.ContainsAny(string(data), "\r\n") || strings.ContainsAny(name, "\r\n") {
			return
		}
		ev := "data: " + string(data) + "\n\n"
		if name != "" {
			ev = "event: " + name + "\n" + ev
		}
		in := []byte(nativeStream + ev)
		p := &costtest.Pricer{Budget: budget}
		out := costtest.Run(API{}.CostFilter(parse(t, []byte(nativeRequest)), true, p.Func()), costtest.Split(in, a, b, a*b)...)
		if err := costtest.CheckStream(in, out, p, costPath); err != nil {
			t.Fatal(err)
		}
		if d := strings.TrimSpace(string(data)); d == "" || d[0] != '{' && d[0] != '[' {
			return
		}
		p = &costtest.Pricer{Budget: budget}
		out = costtest.Run(API{}.CostFilter(parse(t, []byte(nativeRequest)), true, p.Func()), costtest.Split(data, a, b)...)
		if err := costtest.CheckAnswer(data, out, p, "usage"); err != nil {
			t.Fatal(err)
		}
	})
}
