package llmrouter

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// serveCost sends one chat request through h and returns the answer and
// the cost the router records for it.
func serveCost(t *testing.T, h *Handler, body string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	repl := caddy.NewReplacer()
	r = caddyhttp.PrepareRequest(r, repl, rec, nil)
	if err := h.ServeHTTP(rec, r, nil); err != nil {
		t.Fatal(err)
	}
	logged, _ := repl.GetString("http.llm_router.cost")
	return rec, logged
}

// The cost is the answering attempt's: after a first target failed, the
// usage is priced at the second one's price and upstream model, as the
// router records it; the upstream's Content-Length goes.
func TestUsageCostAnsweringAttempt(t *testing.T) {
	const answer = `{"id":"c","object":"chat.completion","created":1,"model":"up","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":100,"total_tokens":1100,"prompt_tokens_details":{"cached_tokens":400}}}`
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}`))
	}))
	defer failing.Close()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		_, _ = w.Write([]byte(answer))
	}))
	defer ok.Close()
	block := `llm_router {
		%s
		retries 0
		target a {
			base_url ` + failing.URL + `/v1
			price * 100 100
		}
		target b {
			base_url ` + ok.URL + `/v1
			price cheap-* 2 8 cache_read 0.5
			price * 50 50
		}
		model m {
			strategy fallback
			to a up
			to b cheap-model
		}
	}`
	h := provisioned(t, strings.Replace(block, "%s", "usage_cost", 1))
	rec, logged := serveCost(t, h, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	want := llm.Price{Input: 2, Output: 8, CacheRead: 0.5}.Cost(llm.Usage{PromptTokens: 1000, CompletionTokens: 100, CacheReadTokens: 400})
	cost := gjson.GetBytes(rec.Body.Bytes(), "usage.cost")
	if rec.Code != 200 || rec.Header().Get("X-Llm-Target") != "b" || cost.Float() != want || cost.Raw != logged {
		t.Fatalf("%d target %s: cost %s, want %v (logged %s)\n%s", rec.Code, rec.Header().Get("X-Llm-Target"), cost.Raw, want, logged, rec.Body)
	}
	if cl := rec.Header().Get("Content-Length"); cl != "" {
		t.Fatalf("the upstream's Content-Length %s was kept for a longer body", cl)
	}
	if got := strings.Replace(rec.Body.String(), `,"cost":`+logged, "", 1); got != answer {
		t.Fatalf("changed beyond the cost:\n%s", got)
	}

	// Off: the upstream's bytes and Content-Length.
	h = provisioned(t, strings.Replace(block, "%s", "", 1))
	rec, _ = serveCost(t, h, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if rec.Body.String() != answer || rec.Header().Get("Content-Length") != strconv.Itoa(len(answer)) {
		t.Fatalf("without usage_cost: %v\n%s", rec.Header(), rec.Body)
	}
}

// BenchmarkPassthroughUsageCost is BenchmarkPassthrough with usage_cost on
// and a price: what the filter costs a non-streamed answer.
func BenchmarkPassthroughUsageCost(b *testing.B) {
	up := benchUpstream(b, 0)
	h := provisioned(b, "llm_router {\n usage_cost\n target a {\n  base_url "+up.URL+"/v1\n  price * 1 2\n }\n}")
	benchServe(b, h, benchBody)
}

// BenchmarkPassthroughStreamUsageCost is BenchmarkPassthroughStream with
// usage_cost on, a price and the usage chunk asked for.
func BenchmarkPassthroughStreamUsageCost(b *testing.B) {
	up := benchUpstream(b, 50)
	h := provisioned(b, "llm_router {\n usage_cost\n target a {\n  base_url "+up.URL+"/v1\n  price * 1 2\n }\n}")
	benchServe(b, h, strings.Replace(benchBody, `"temperature"`, `"stream":true,"stream_options":{"include_usage":true},"temperature"`, 1))
}
