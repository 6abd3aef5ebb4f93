package integration

// SPEC section 4.3: the router's own errors (OpenAI shape, status and code
// of the table) and what the client gets when the upstream failed.

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// 400 invalid_request: body not JSON, not an object, model missing or not a
// string, messages missing for chat.
func TestSpecErrorsInvalidRequest(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(upTarget("a", up)))
	for _, c := range []struct{ name, path, body string }{
		{"not JSON", "/v1/chat/completions", `{"model":"m","messages":[`},
		{"plain text", "/v1/chat/completions", `hello`},
		{"empty", "/v1/chat/completions", ` `},
		{"array", "/v1/chat/completions", `[{"model":"m","messages":[]}]`},
		{"string", "/v1/embeddings", `"m"`},
		{"model missing", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`},
		{"model a number", "/v1/chat/completions", `{"model":4,"messages":[{"role":"user","content":"hi"}]}`},
		{"model null", "/v1/embeddings", `{"model":null,"input":"x"}`},
		{"model an object", "/v1/completions", `{"model":{"id":"m"},"prompt":"x"}`},
		{"messages missing", "/v1/chat/completions", `{"model":"m"}`},
	} {
		r := do(t, c.path, c.body)
		t.Run(c.name, func(t *testing.T) { expectError(t, r, 400, "invalid_request") })
	}
	if up.Count() != 0 {
		t.Errorf("invalid requests reached the upstream: %d", up.Count())
	}
	// messages is required for chat only.
	expectStatus(t, do(t, "/v1/embeddings", `{"model":"m","input":"x"}`), 200)
	expectStatus(t, do(t, "/v1/completions", `{"model":"m","prompt":"x"}`), 200)
}

// 400 unknown_target: X-LLM-Target names no target.
func TestSpecErrorsUnknownTarget(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(upTarget("a", up)))
	r := do(t, "/v1/chat/completions", chat("m"), "X-LLM-Target", "nope")
	expectError(t, r, 400, "unknown_target")
	if up.Count() != 0 {
		t.Errorf("upstream reached")
	}
}

// 404 model_not_found, 404 not_found for unknown paths, 405 for a wrong
// method.
func TestSpecErrorsNotFoundAndMethod(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(upTarget("a", up, "models gpt-4o")))
	expectError(t, do(t, "/v1/chat/completions", chat("unknown-model")), 404, "model_not_found")
	for _, path := range []string{"/v1/nope", "/v1/chat/completion", "/v2/chat/completions", "/nope", "/v1/responses/resp_1"} {
		expectError(t, do(t, path, chat("gpt-4o")), 404, "not_found")
		expectError(t, get(t, path), 404, "not_found")
	}
	for _, path := range []string{"/v1/chat/completions", "/chat/completions", "/v1/embeddings", "/v1/completions"} {
		r := get(t, path)
		expectError(t, r, 405, "method_not_allowed")
		if allow := r.Header.Get("Allow"); !strings.Contains(allow, "POST") {
			t.Errorf("405 on %s without Allow: POST (%q)", path, allow)
		}
	}
	expectError(t, send(t, context.Background(), http.MethodPost, "/v1/models", `{}`), 405, "method_not_allowed")
	expectError(t, send(t, context.Background(), http.MethodDelete, "/v1/chat/completions", ""), 405, "method_not_allowed")
	if up.Count() != 0 {
		t.Errorf("upstream reached")
	}
}

// 413 request_too_large: a body over max_request_body, with or without a
// Content-Length.
func TestSpecErrorsRequestTooLarge(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router("max_request_body 1KiB\n"+upTarget("a", up)))
	big := chat("m", `"pad":"`+strings.Repeat("x", 2048)+`"`)
	expectError(t, do(t, "/v1/chat/completions", big), 413, "request_too_large")

	// Chunked: no Content-Length up front.
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", struct{ *strings.Reader }{strings.NewReader(big)})
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, result{resp.StatusCode, resp.Header, b}, 413, "request_too_large")

	expectStatus(t, do(t, "/v1/chat/completions", chat("m")), 200)
	if up.Count() != 1 {
		t.Errorf("upstream got %d requests, want only the small one", up.Count())
	}
}

// 429 rate_limited with Retry-After when every candidate is at its
// max_in_flight (the router's own 429 of this module; keys, budgets and
// limits are section 8).
func TestSpecErrorsRateLimitedWhenAllBusy(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	hold := make(chan struct{})
	up.Script(fakeupstream.Step{Hold: hold})
	load(t, router(upTarget("a", up, "max_in_flight 1")))
	done := make(chan result, 1)
	go func() {
		resp, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(chat("m")))
		if err != nil {
			done <- result{}
			return
		}
		defer resp.Body.Close()
		done <- result{Status: resp.StatusCode}
	}()
	if !up.WaitRequests(1, 5*time.Second) {
		t.Fatal("first request never arrived")
	}
	r := do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 429, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	close(hold)
	if first := <-done; first.Status != 200 {
		t.Errorf("held request: status %d", first.Status)
	}
}

// 502 upstream_error: every attempt failed and the last was a 5xx or a
// connection error; the message names the last target and its error and
// never the key.
func TestSpecErrorsUpstreamError(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	a.Always(fakeupstream.Step{Status: 500, Body: `{"error":{"message":"boom with key sk-secret-upstream-key","type":"server_error","param":null,"code":"boom"}}`})
	load(t, router(fast+"retries 1\n"+upTarget("primary-target", a, "api_key sk-secret-upstream-key")))
	r := do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 502, "upstream_error")
	msg := r.json("error.message").String()
	if !strings.Contains(msg, "primary-target") || !strings.Contains(msg, "boom") {
		t.Errorf("502 message %q does not name the target and its error", msg)
	}
	if strings.Contains(string(r.Body), "sk-secret-upstream-key") {
		t.Errorf("the upstream key leaked: %s", r.Body)
	}
	expectRoute(t, r, "primary-target", "m", 2)

	load(t, router(fast+"retries 1\ntarget gone-target {\n\tbase_url "+deadURL(t)+"\n\tapi_key sk-secret-upstream-key\n}\n"))
	r = do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 502, "upstream_error")
	if msg := r.json("error.message").String(); !strings.Contains(msg, "gone-target") {
		t.Errorf("connection error message %q does not name the target", msg)
	}
	if strings.Contains(string(r.Body), "sk-secret-upstream-key") {
		t.Errorf("the upstream key leaked: %s", r.Body)
	}
	expectRoute(t, r, "gone-target", "m", 2)
}

// 504 upstream_timeout: the last attempt timed out.
func TestSpecErrorsUpstreamTimeout(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	a.Always(fakeupstream.Step{Status: 500})
	b.Always(fakeupstream.Step{Delay: time.Minute})
	load(t, router(fast+"retries 0\n"+upTarget("a", a)+upTarget("b", b, "timeout 200ms")))
	r := do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 504, "upstream_timeout")
	expectRoute(t, r, "b", "m", 2)
}

// The last failure an upstream 4xx: the client gets that status and that
// message (an OpenAI-compatible JSON error body unchanged), a 429's
// Retry-After; a non-JSON body is put in the OpenAI shape with code
// upstream_error; an upstream key echoed in an error never reaches the
// client.
func TestSpecErrorsUpstream4xxPassedOn(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	load(t, router(fast+"retries 0\n"+upTarget("a", a, "api_key sk-secret-upstream-key-1")))

	body429 := `{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	a.Script(fakeupstream.Step{Status: 429, RetryAfter: "2", Body: body429})
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 429)
	if string(r.Body) != body429 {
		t.Errorf("429 body changed: %s", r.Body)
	}
	expectHeader(t, r.Header, "Retry-After", "2")
	expectRoute(t, r, "a", "m", 1)

	body401 := `{"error":{"message":"Incorrect API key provided: sk-secret-upstream-key-1.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
	a.Script(fakeupstream.Step{Status: 401, Body: body401})
	r = do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 401)
	if strings.Contains(string(r.Body), "sk-secret-upstream-key-1") {
		t.Errorf("the upstream key reached the client: %s", r.Body)
	}
	if !strings.Contains(r.json("error.message").String(), "Incorrect API key provided") || r.json("error.code").String() != "invalid_api_key" {
		t.Errorf("401 message lost: %s", r.Body)
	}

	a.Script(fakeupstream.Step{Status: 404, Body: "<html>no such model</html>"})
	r = do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 404, "upstream_error")
	if !strings.Contains(r.json("error.message").String(), "no such model") {
		t.Errorf("non-JSON error text lost: %s", r.Body)
	}

	a.Script(fakeupstream.Step{Status: 400, Body: "plain text: bad temperature"})
	r = do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 400, "upstream_error")
	if !strings.Contains(r.json("error.message").String(), "bad temperature") {
		t.Errorf("non-JSON error text lost: %s", r.Body)
	}
}

// The last failure decides the answer: an upstream 4xx of the last
// candidate is passed on even after 5xx elsewhere; a 5xx last gives 502
// even after a 4xx elsewhere.
func TestSpecErrorsLastFailureDecides(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	body404 := `{"error":{"message":"The model 'm' does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}`
	a.Always(fakeupstream.Step{Status: 503})
	b.Always(fakeupstream.Step{Status: 404, Body: body404})
	load(t, router(fast+"retries 1\ncooldown 100 1m\n"+upTarget("a", a)+upTarget("b", b)))
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 404)
	if string(r.Body) != body404 {
		t.Errorf("last candidate's 404 body changed: %s", r.Body)
	}
	expectRoute(t, r, "b", "m", 3)

	a.Always(fakeupstream.Step{Status: 403})
	b.Always(fakeupstream.Step{Status: 500})
	r = do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 502, "upstream_error")
	expectRoute(t, r, "b", "m", 3)
}
