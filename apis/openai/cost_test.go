package openai

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/apis/internal/costtest"
	"github.com/llmrouter/caddy-llm-router/llm"
	anthropicprovider "github.com/llmrouter/caddy-llm-router/providers/anthropic"
	geminiprovider "github.com/llmrouter/caddy-llm-router/providers/gemini"
	openaiprovider "github.com/llmrouter/caddy-llm-router/providers/openai"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// OpenAI answers as OpenAI sends them: nested usage details, `"usage":
// null` in every chunk but the last of a stream with include_usage, and
// "usage" inside content and tool arguments.
const (
	chatAnswer = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"\"usage\": {\"prompt_tokens\": 1}","tool_calls":[{"id":"call_1","type":"function","function":{"name":"report","arguments":"{\"usage\":{\"total\":3}}"}}],"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_1"}`

	chatStream = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n" +
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"\"usage\":{}"},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n" +
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}` + "\n\n" +
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":64,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}` + "\n\n" +
		"data: [DONE]\n\n"

	embeddingsAnswer = `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,-0.0028842222]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}`

	completionAnswer = `{"id":"cmpl-1","object":"text_completion","created":1,"model":"gpt-3.5-turbo-instruct","choices":[{"text":"\n\nusage","index":0,"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`

	// OpenRouter reports its own cost: the router's takes its place.
	openRouterAnswer = `{"id":"gen-1","object":"chat.completion","created":1,"model":"openai/gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"cost":0.00005,"is_byok":false,"cost_details":{"upstream_inference_cost":null}}}`
)

// Anthropic and Gemini upstream answers, which their providers translate
// to the hub (this API's format).
const (
	anthropicStream = "event: message_start\n" +
		`data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":2}}}` + "\n\n" +
		"event: content_block_start\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
		"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}` + "\n\n" +
		"event: content_block_stop\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n" +
		"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":89}}` + "\n\n" +
		"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n"

	geminiStream = `data: {"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":1200,"totalTokenCount":1200},"modelVersion":"gemini-2.5-flash","responseId":"r1"}` + "\r\n\r\n" +
		`data: {"candidates":[{"content":{"parts":[{"text":" there"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1200,"candidatesTokenCount":40,"totalTokenCount":1290,"cachedContentTokenCount":1000,"thoughtsTokenCount":50,"promptTokensDetails":[{"modality":"TEXT","tokenCount":1200}]},"modelVersion":"gemini-2.5-flash","responseId":"r1"}` + "\r\n\r\n"
)

func costPath(string, []byte) string { return "usage" }

type relayFunc = func(llm.ResponseWriter, *http.Response, *llm.Call) (llm.Usage, error)

// check relays body with and without the filter and checks that the
// usage the relay counted is what the filter priced, spliced and nothing
// else changed.
func check(t *testing.T, relay relayFunc, c *llm.Call, ct, body string, budget bool) string {
	t.Helper()
	plain, u, err := costtest.Relay(relay, c, ct, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &costtest.Pricer{Budget: budget}
	out, _, err := costtest.Relay(relay, c, ct, body, API{}.CostFilter(&apis.Request{Op: c.Op}, false, p.Func()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Stream {
		err = costtest.CheckStream(plain, out, p, costPath)
	} else {
		err = costtest.CheckAnswer(plain, out, p, "usage")
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Seen) != 1 || p.Seen[0] != costtest.Tokens(u) {
		t.Fatalf("priced %+v, the relay counted %+v", p.Seen, u)
	}
	return string(out)
}

func TestCostAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   llm.Op
		body string
		want string // a piece of the answer
	}{
		{"chat", llm.OpChat, chatAnswer, `"rejected_prediction_tokens":0},"cost":` + costtest.USD(costtest.Price.Cost(llm.Usage{PromptTokens: 2006, CompletionTokens: 300, CacheReadTokens: 1920})) + `,"budget_remaining":`},
		{"embeddings", llm.OpEmbeddings, embeddingsAnswer, `"usage":{"prompt_tokens":8,"total_tokens":8,"cost":0.000024,"budget_remaining":9.999976}}`},
		{"completions", llm.OpCompletions, completionAnswer, `"total_tokens":12,"cost":0.00012,"budget_remaining":9.99988}}`},
		{"upstream cost", llm.OpChat, openRouterAnswer, `"total_tokens":12,"cost":0.00006,"is_byok":false,"cost_details":{"upstream_inference_cost":null},"budget_remaining":9.99994}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &llm.Call{Op: tc.op, Model: "m", Upstream: &llm.Upstream{Name: "openai"}}
			if out := check(t, openaiprovider.Relay, c, "application/json", tc.body, true); !strings.Contains(out, tc.want) {
				t.Fatalf("no %s in\n%s", tc.want, out)
			}
		})
	}
}

// The final usage chunk of a stream gets the cost; the chunks with
// `"usage":null` do not; written in any pieces, the stream comes out the
// same.
func TestCostStream(t *testing.T) {
	c := &llm.Call{Op: llm.OpChat, Stream: true, IncludeUsage: true, Model: "m", Upstream: &llm.Upstream{Name: "openai"}}
	out := check(t, openaiprovider.Relay, c, stream.ContentType, chatStream, false)
	if strings.Count(out, `"cost":`) != 1 || strings.Count(out, `"usage":null`) != 3 {
		t.Fatalf("stream:\n%s", out)
	}
	plain, _, _ := costtest.Relay(openaiprovider.Relay, c, stream.ContentType, chatStream, nil)
	for cut := 1; cut < len(plain); cut += 13 {
		f := API{}.CostFilter(&apis.Request{Op: llm.OpChat}, false, (&costtest.Pricer{}).Func())
		if got := costtest.Run(f, plain[:cut], plain[cut:]); string(got) != out {
			t.Fatalf("cut at %d:\n%s", cut, got)
		}
	}
}

// Answers the anthropic and gemini providers translate into this API's
// format carry the cost of the usage they count, cache figures included.
func TestCostTranslated(t *testing.T) {
	hubBody := []byte(`{"model":"m","messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}}`)
	c := &llm.Call{Op: llm.OpChat, Stream: true, IncludeUsage: true, Body: hubBody, Model: "claude-sonnet-4-5", Upstream: &llm.Upstream{Name: "anthropic"}}
	out := check(t, anthropicprovider.Provider{}.WriteResponse, c, stream.ContentType, anthropicStream, true)
	if !strings.Contains(out, `"cached_tokens":2000,"cache_creation_tokens":100},"cost":`) {
		t.Fatalf("anthropic:\n%s", out)
	}
	c = &llm.Call{Op: llm.OpChat, Stream: true, IncludeUsage: true, Body: hubBody, Model: "gemini-2.5-flash", Upstream: &llm.Upstream{Name: "gemini"}}
	out = check(t, geminiprovider.Provider{}.WriteResponse, c, stream.ContentType, geminiStream, true)
	if !strings.Contains(out, `"cost":`) {
		t.Fatalf("gemini:\n%s", out)
	}
}

// Any chunk among a stream's, written in any pieces, and any JSON answer:
// the output differs from the input only in the top-level usage object.
func FuzzCostFilter(f *testing.F) {
	for _, ev := range costtest.Events([]byte(chatStream)) {
		data, _ := costtest.Data(ev)
		f.Add(data, 7, 50, true)
	}
	for _, a := range []string{chatAnswer, embeddingsAnswer, completionAnswer, openRouterAnswer, `{"usage":{}}`, `{"usage":[1]}`} {
		f.Add([]byte(a), 1, 90, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, a, b int, budget bool) {
		if !gjson.ValidBytes(data) || strings.ContainsAny(string(data), "\r\n") {
			return
		}
		in := []byte(strings.Replace(chatStream, "data: [DONE]", "data: "+string(data)+"\n\ndata: [DONE]", 1))
		p := &costtest.Pricer{Budget: budget}
		out := costtest.Run(API{}.CostFilter(&apis.Request{Op: llm.OpChat}, false, p.Func()), costtest.Split(in, a, b, a*b)...)
		if err := costtest.CheckStream(in, out, p, costPath); err != nil {
			t.Fatal(err)
		}
		if d := strings.TrimSpace(string(data)); d == "" || d[0] != '{' && d[0] != '[' {
			return
		}
		p = &costtest.Pricer{Budget: budget}
		out = costtest.Run(API{}.CostFilter(&apis.Request{Op: llm.OpChat}, false, p.Func()), costtest.Split(data, a, b)...)
		if err := costtest.CheckAnswer(data, out, p, "usage"); err != nil {
			t.Fatal(err)
		}
	})
}
