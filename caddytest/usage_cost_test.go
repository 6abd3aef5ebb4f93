package integration

// SPEC 8 `usage_cost`: through a real Caddy, the usage object of every
// answer — non-streamed, and the final usage chunk or event of a stream —
// of each inbound API, passed through natively or translated, gains the
// request's cost (what the access log says) and, for a key with a budget,
// what the admin API says remains of it. Without usage_cost the answers
// are unchanged, byte for byte.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// Upstream answers with cache figures, as each provider sends them.
const (
	costOpenAIChat = `{"id":"chatcmpl-cost","object":"chat.completion","created":1741476542,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"The \"usage\" key.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_cost"}`

	costOpenAIEmbeddings = `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,-0.0028842222]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}`

	costAnthropicMessage = `{"id":"msg_cost","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"The \"usage\" key."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":0},"output_tokens":89,"service_tier":"standard"}}`

	costResponse = `{"id":"resp_cost","object":"response","created_at":1741476542,"status":"completed","error":null,"incomplete_details":null,"instructions":null,"model":"gpt-4o-2024-08-06","output":[{"type":"message","id":"msg_cost","status":"completed","role":"assistant","content":[{"type":"output_text","text":"The \"usage\" key.","annotations":[]}]}],"parallel_tool_calls":true,"usage":{"input_tokens":2006,"input_tokens_details":{"cached_tokens":1920},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":2306},"metadata":{}}`

	costGeminiAnswer = `{
  "candidates": [
    {
      "content": {
        "parts": [
          {
            "text": "The \"usageMetadata\" key."
          }
        ],
        "role": "model"
      },
      "finishReason": "STOP",
      "index": 0
    }
  ],
  "usageMetadata": {
    "promptTokenCount": 1200,
    "candidatesTokenCount": 40,
    "totalTokenCount": 1290,
    "cachedContentTokenCount": 1000,
    "thoughtsTokenCount": 50
  },
  "modelVersion": "gemini-2.5-flash",
  "responseId": "r-cost"
}
`
)

var (
	costOpenAIStream = []string{
		`data: {"id":"chatcmpl-cost","object":"chat.completion.chunk","created":1741476542,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"The \"usage\" key."},"finish_reason":null}],"usage":null}` + "\n\n",
		`data: {"id":"chatcmpl-cost","object":"chat.completion.chunk","created":1741476542,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n",
		`data: {"id":"chatcmpl-cost","object":"chat.completion.chunk","created":1741476542,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}` + "\n\n",
		"data: [DONE]\n\n",
	}
	costAnthropicStream = []string{
		"event: message_start\n" + `data: {"type":"message_start","message":{"id":"msg_cost","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":0},"output_tokens":2,"service_tier":"standard"}}}` + "\n\n" +
			"event: content_block_start\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n",
		"event: ping\n" + `data: {"type": "ping"}` + "\n\n",
		"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"The \"usage\" key."}}` + "\n\n",
		"event: content_block_stop\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n",
		"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":89}}` + "\n\n",
		"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n",
	}
	costResponsesStream = []string{
		"event: response.created\n" + `data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_cost","object":"response","created_at":1741476542,"status":"in_progress","error":null,"model":"gpt-4o-2024-08-06","output":[],"usage":null}}` + "\n\n",
		"event: response.output_item.added\n" + `data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_cost","type":"message","status":"in_progress","content":[],"role":"assistant"}}` + "\n\n",
		"event: response.output_text.delta\n" + `data: {"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_cost","output_index":0,"content_index":0,"delta":"The \"usage\" key.","logprobs":[]}` + "\n\n",
		"event: response.completed\n" + `data: {"type":"response.completed","sequence_number":3,"response":{"id":"resp_cost","object":"response","created_at":1741476542,"status":"completed","error":null,"model":"gpt-4o-2024-08-06","output":[{"type":"message","id":"msg_cost","status":"completed","role":"assistant","content":[{"type":"output_text","text":"The \"usage\" key.","annotations":[]}]}],"usage":{"input_tokens":2006,"input_tokens_details":{"cached_tokens":1920},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":2306}}}` + "\n\n",
	}
	costGeminiStream = []string{
		`data: {"candidates": [{"content": {"parts": [{"text": "The \"usageMetadata\""}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 1200,"totalTokenCount": 1200},"modelVersion": "gemini-2.5-flash","responseId": "r-cost"}` + "\r\n\r\n",
		`data: {"candidates": [{"content": {"parts": [{"text": " key."}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 1200,"candidatesTokenCount": 40,"totalTokenCount": 1290,"cachedContentTokenCount": 1000,"thoughtsTokenCount": 50},"modelVersion": "gemini-2.5-flash","responseId": "r-cost"}` + "\r\n\r\n",
	}
)

// The usage each upstream answer reports, as the router counts it, and the
// targets' prices (cache reads and writes at their own rates).
var (
	costOpenAIUsage    = llm.Usage{PromptTokens: 2006, CompletionTokens: 300, CacheReadTokens: 1920}
	costAnthropicUsage = llm.Usage{PromptTokens: 2572, CompletionTokens: 89, CacheReadTokens: 2000, CacheWriteTokens: 100}
	costGeminiUsage    = llm.Usage{PromptTokens: 1200, CompletionTokens: 90, CacheReadTokens: 1000}
	costEmbedUsage     = llm.Usage{PromptTokens: 8}

	costOpenAIPrice    = llm.Price{Input: 2.5, Output: 10, CacheRead: 1.25, CacheWrite: 3}
	costAnthropicPrice = llm.Price{Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75}
	costGeminiPrice    = llm.Price{Input: 0.3, Output: 2.5, CacheRead: 0.075, CacheWrite: 0.3}
)

// costRouter routes gpt-* and text-embedding-* to an openai target,
// claude-* to an anthropic one and gemini-* to a gemini one, each with a
// price; two keys, one with a budget.
func costRouter(oa, an, ge *fakeupstream.Server, logFile, budgetKey, plainKey string, usageCost bool) string {
	opt := ""
	if usageCost {
		opt = "usage_cost"
	}
	return `
		log {
			output file ` + logFile + `
			format json
		}
		log_append llm_cost_placeholder {http.llm_router.cost}
		` + router(fmt.Sprintf(`
		%s
		retries 0
		target oa {
			base_url %s
			api_key sk-oa-secret
			models gpt-* text-embedding-*
			price gpt-* 2.5 10 cache_read 1.25 cache_write 3
			price text-embedding-* 2.5 10 cache_read 1.25 cache_write 3
		}
		target an {
			provider anthropic
			base_url %s
			api_key sk-ant-secret
			models claude-*
			price claude-* 3 15 cache_read 0.3 cache_write 3.75
		}
		target ge {
			provider gemini
			base_url %s
			api_key AIza-ge-secret
			models gemini-*
			price gemini-* 0.3 2.5 cache_read 0.075
		}
		key %s {
			name %s
			budget 100 total
		}
		key %s {
			name %s
		}`, opt, oa.BaseURL(), an.URL, ge.URL, keyAlice, budgetKey, keyBob, plainKey))
}

// costCase is one request through one inbound API to one target.
type costCase struct {
	name   string
	path   string
	body   string
	up     *fakeupstream.Server
	step   fakeupstream.Step
	usage  llm.Usage
	price  llm.Price
	native bool
	// usageAt finds the usage object the cost of the request goes into:
	// in the answer, or in the last event that has one.
	usageAt func(t *testing.T, body []byte) gjson.Result
}

// Every inbound API, streamed and not, native and translated: the final
// usage object carries the cost the access log records and, for the key
// with a budget, what the admin API reports remaining; without usage_cost
// the answers are the same but for those members — native ones byte for
// byte the upstream's.
func TestUsageCostEveryAPI(t *testing.T) {
	oa := fakeupstream.NewOpenAI(t, "oa")
	an := fakeupstream.NewAnthropic(t, "an")
	ge := fakeupstream.NewGemini(t, "ge")
	budgetKey, plainKey := keyName(t, "budget"), keyName(t, "plain")
	logFile := filepath.Join(t.TempDir(), "access.log")
	load(t, costRouter(oa, an, ge, logFile, budgetKey, plainKey, true))

	anthropicBody := func(model string, stream bool) string {
		return fmt.Sprintf(`{"model":%q,"max_tokens":1024,"stream":%t,"messages":[{"role":"user","content":"Hi"}]}`, model, stream)
	}
	responsesBody := func(model string, stream bool) string {
		return fmt.Sprintf(`{"model":%q,"input":"Hi","stream":%t}`, model, stream)
	}
	const geminiBody = `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}`

	cases := []costCase{
		{"openai chat native", "/v1/chat/completions", chat("gpt-4o"), oa, fakeupstream.Step{Body: costOpenAIChat}, costOpenAIUsage, costOpenAIPrice, true, topUsage("usage")},
		{"openai chat native stream", "/v1/chat/completions", chat("gpt-4o", `"stream":true,"stream_options":{"include_usage":true}`), oa, fakeupstream.Step{SSE: costOpenAIStream}, costOpenAIUsage, costOpenAIPrice, true, lastEventUsage("usage")},
		{"openai embeddings native", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"Hi"}`, oa, fakeupstream.Step{Body: costOpenAIEmbeddings}, costEmbedUsage, costOpenAIPrice, true, topUsage("usage")},
		{"openai chat translated", "/v1/chat/completions", chat("claude-sonnet-4-5", `"max_tokens":1024`), an, fakeupstream.Step{Body: costAnthropicMessage}, costAnthropicUsage, costAnthropicPrice, false, topUsage("usage")},
		{"openai chat translated stream", "/v1/chat/completions", chat("claude-sonnet-4-5", `"max_tokens":1024,"stream":true,"stream_options":{"include_usage":true}`), an, fakeupstream.Step{SSE: costAnthropicStream}, costAnthropicUsage, costAnthropicPrice, false, lastEventUsage("usage")},
		{"anthropic native", "/v1/messages", anthropicBody("claude-sonnet-4-5", false), an, fakeupstream.Step{Body: costAnthropicMessage}, costAnthropicUsage, costAnthropicPrice, true, topUsage("usage")},
		{"anthropic native stream", "/v1/messages", anthropicBody("claude-sonnet-4-5", true), an, fakeupstream.Step{SSE: costAnthropicStream}, costAnthropicUsage, costAnthropicPrice, true, lastEventUsage("usage")},
		{"anthropic translated", "/v1/messages", anthropicBody("gpt-4o", false), oa, fakeupstream.Step{Body: costOpenAIChat}, costOpenAIUsage, costOpenAIPrice, false, topUsage("usage")},
		{"anthropic translated stream", "/v1/messages", anthropicBody("gpt-4o", true), oa, fakeupstream.Step{SSE: costOpenAIStream}, costOpenAIUsage, costOpenAIPrice, false, lastEventUsage("usage")},
		{"responses native", "/v1/responses", responsesBody("gpt-4o", false), oa, fakeupstream.Step{Body: costResponse}, costOpenAIUsage, costOpenAIPrice, true, topUsage("usage")},
		{"responses native stream", "/v1/responses", responsesBody("gpt-4o", true), oa, fakeupstream.Step{SSE: costResponsesStream}, costOpenAIUsage, costOpenAIPrice, true, lastEventUsage("response.usage")},
		{"responses translated", "/v1/responses", responsesBody("claude-sonnet-4-5", false), an, fakeupstream.Step{Body: costAnthropicMessage}, costAnthropicUsage, costAnthropicPrice, false, topUsage("usage")},
		{"responses translated stream", "/v1/responses", responsesBody("claude-sonnet-4-5", true), an, fakeupstream.Step{SSE: costAnthropicStream}, costAnthropicUsage, costAnthropicPrice, false, lastEventUsage("response.usage")},
		{"gemini native", "/v1beta/models/gemini-2.5-flash:generateContent", geminiBody, ge, fakeupstream.Step{Body: costGeminiAnswer}, costGeminiUsage, costGeminiPrice, true, topUsage("usageMetadata")},
		{"gemini native stream", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", geminiBody, ge, fakeupstream.Step{SSE: costGeminiStream}, costGeminiUsage, costGeminiPrice, true, lastEventUsage("usageMetadata")},
		{"gemini translated", "/v1beta/models/gpt-4o:generateContent", geminiBody, oa, fakeupstream.Step{Body: costOpenAIChat}, costOpenAIUsage, costOpenAIPrice, false, topUsage("usageMetadata")},
		{"gemini translated stream", "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse", geminiBody, oa, fakeupstream.Step{SSE: costOpenAIStream}, costOpenAIUsage, costOpenAIPrice, false, lastEventUsage("usageMetadata")},
	}
	withCost := make([][]byte, len(cases))
	logged := 0
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.price.Cost(tc.usage)
			for _, key := range []string{keyAlice, keyBob} {
				tc.up.Script(tc.step)
				r := do(t, tc.path, tc.body, "Authorization", "Bearer "+key)
				expectStatus(t, r, 200)
				if r.Header.Get("Content-Length") != "" && r.Header.Get("Content-Length") != strconv.Itoa(len(r.Body)) {
					t.Fatalf("Content-Length %s for %d bytes", r.Header.Get("Content-Length"), len(r.Body))
				}
				logged++
				fromLog := costLogged(t, logFile, logged)
				u := tc.usageAt(t, r.Body)
				cost := u.Get("cost")
				if cost.Type != gjson.Number || math.Abs(cost.Float()-want) > 1e-12 || cost.Raw != fromLog || strings.ContainsAny(cost.Raw, "eE") {
					t.Fatalf("cost %s, want %v as logged (%s); usage %s", cost.Raw, want, fromLog, u.Raw)
				}
				remaining := u.Get("budget_remaining")
				if key == keyBob {
					if remaining.Exists() {
						t.Fatalf("budget_remaining for a key without a budget: %s", u.Raw)
					}
					withCost[i] = r.Body
					continue
				}
				if admin := adminRemaining(t, budgetKey); remaining.Type != gjson.Number || math.Abs(remaining.Float()-admin) > 1e-9 {
					t.Fatalf("budget_remaining %s, the admin API says %v", remaining.Raw, admin)
				}
			}
			if tc.native {
				// The upstream's bytes, the cost members aside.
				if got := stripCost(withCost[i]); got != upstreamBytes(tc.step) {
					t.Fatalf("native answer changed beyond its usage:\n%s\nupstream:\n%s", got, upstreamBytes(tc.step))
				}
			}
		})
	}
	if t.Failed() {
		return
	}

	// Without usage_cost: the same answers but for the cost members;
	// native ones exactly the upstream's bytes.
	load(t, costRouter(oa, an, ge, logFile, budgetKey, plainKey, false))
	for i, tc := range cases {
		tc.up.Script(tc.step)
		r := do(t, tc.path, tc.body, "Authorization", "Bearer "+keyBob)
		expectStatus(t, r, 200)
		if strings.Contains(string(r.Body), `"cost"`) || strings.Contains(string(r.Body), "budget_remaining") {
			t.Fatalf("%s: cost without usage_cost:\n%s", tc.name, r.Body)
		}
		if tc.native && string(r.Body) != upstreamBytes(tc.step) {
			t.Fatalf("%s: native answer is not the upstream's bytes:\n%s\nupstream:\n%s", tc.name, r.Body, upstreamBytes(tc.step))
		}
		if got, plain := volatile(stripCost(withCost[i])), volatile(string(r.Body)); got != plain {
			t.Fatalf("%s: with usage_cost, beyond the cost members:\n%s\nwithout:\n%s", tc.name, got, plain)
		}
	}
}

// upstreamBytes is what a scripted step sends.
func upstreamBytes(s fakeupstream.Step) string {
	if s.SSE != nil {
		return strings.Join(s.SSE, "")
	}
	return s.Body
}

// costMembers are what usage_cost inserts.
var costMembers = regexp.MustCompile(`,"(cost|budget_remaining)":-?[0-9.]+`)

func stripCost(b []byte) string { return costMembers.ReplaceAllString(string(b), "") }

// volatileFields are the parts of a translated answer that differ from
// one request to the next: timestamps and the Responses API's random ids.
var volatileFields = regexp.MustCompile(`"(created|created_at|completed_at)":[0-9]+|[0-9a-f]{48}`)

func volatile(s string) string { return volatileFields.ReplaceAllString(s, "") }

// topUsage finds the object at path of a JSON answer.
func topUsage(path string) func(*testing.T, []byte) gjson.Result {
	return func(t *testing.T, body []byte) gjson.Result {
		t.Helper()
		if !json.Valid(body) {
			t.Fatalf("invalid JSON answer: %s", body)
		}
		u := gjson.GetBytes(body, path)
		if !u.IsObject() {
			t.Fatalf("no %s in %s", path, body)
		}
		return u
	}
}

// lastEventUsage finds the object at path in the last event of a stream
// that has one, checking every event's data is valid JSON.
func lastEventUsage(path string) func(*testing.T, []byte) gjson.Result {
	return func(t *testing.T, body []byte) gjson.Result {
		t.Helper()
		var last gjson.Result
		for _, line := range strings.Split(string(body), "\n") {
			data, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), "data: ")
			if !ok || data == "[DONE]" {
				continue
			}
			if !json.Valid([]byte(data)) {
				t.Fatalf("invalid event data %q", data)
			}
			if u := gjson.Get(data, path); u.IsObject() {
				last = u
			}
		}
		if !last.Exists() {
			t.Fatalf("no %s in the stream:\n%s", path, body)
		}
		return last
	}
}

// costLogged waits for the n-th access log entry and returns its
// {http.llm_router.cost}.
func costLogged(t *testing.T, logFile string, n int) string {
	t.Helper()
	var costs []string
	eventually(t, 10*time.Second, func() bool {
		data, _ := os.ReadFile(logFile)
		costs = costs[:0]
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var entry struct {
				Placeholder string `json:"llm_cost_placeholder"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Placeholder != "" {
				costs = append(costs, entry.Placeholder)
			}
		}
		return len(costs) >= n
	}, fmt.Sprintf("access log entry %d", n))
	return costs[n-1]
}

// adminRemaining is what the admin API reports remaining of the key's
// first budget.
func adminRemaining(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/llm_router/keys", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v := gjson.GetBytes(b, `#(name=="`+name+`").budgets.0.remaining`)
	if v.Type != gjson.Number {
		t.Fatalf("no budget for %s: %s", name, b)
	}
	return v.Float()
}

// The cost is readable through the openai-go client, answered whole and
// streamed.
func TestUsageCostOpenAISDK(t *testing.T) {
	oa := fakeupstream.NewOpenAI(t, "oa")
	an := fakeupstream.NewAnthropic(t, "an")
	ge := fakeupstream.NewGemini(t, "ge")
	budgetKey := keyName(t, "budget")
	load(t, costRouter(oa, an, ge, filepath.Join(t.TempDir(), "access.log"), budgetKey, keyName(t, "plain"), true))
	c := keyedClient(base+"/v1/", keyAlice)
	want := costOpenAIPrice.Cost(costOpenAIUsage)
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}

	oa.Script(fakeupstream.Step{Body: costOpenAIChat})
	resp, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := strconv.ParseFloat(resp.Usage.JSON.ExtraFields["cost"].Raw(), 64)
	if err != nil || math.Abs(cost-want) > 1e-12 || resp.Usage.PromptTokens != 2006 {
		t.Fatalf("usage.cost %q (%v), want %v; usage %s", resp.Usage.JSON.ExtraFields["cost"].Raw(), err, want, resp.Usage.RawJSON())
	}
	remaining, err := strconv.ParseFloat(resp.Usage.JSON.ExtraFields["budget_remaining"].Raw(), 64)
	if err != nil || math.Abs(remaining-adminRemaining(t, budgetKey)) > 1e-9 {
		t.Fatalf("usage.budget_remaining %q", resp.Usage.JSON.ExtraFields["budget_remaining"].Raw())
	}

	oa.Script(fakeupstream.Step{SSE: costOpenAIStream})
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := c.Chat.Completions.NewStreaming(context.Background(), params)
	var last openai.ChatCompletionChunk
	for s.Next() {
		if ch := s.Current(); ch.JSON.Usage.Valid() && ch.Usage.TotalTokens > 0 {
			last = ch
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	cost, err = strconv.ParseFloat(last.Usage.JSON.ExtraFields["cost"].Raw(), 64)
	if err != nil || math.Abs(cost-want) > 1e-12 {
		t.Fatalf("streamed usage.cost %q, want %v", last.Usage.JSON.ExtraFields["cost"].Raw(), want)
	}
}
