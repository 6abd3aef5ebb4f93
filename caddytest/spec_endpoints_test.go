package integration

// SPEC section 4 (endpoints, request and response headers, placeholders)
// and section 7 (the mock provider, GET /v1/models, the openai provider's
// body fidelity), plus the helpers the spec_*_test.go files share.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// ---- helpers shared by the spec tests ----

// fast are router settings for the spec tests: implicit groups keep their
// written order and retries wait at most a few milliseconds.
const fast = "strategy fallback\nretry_backoff 1ms 5ms\n"

// upTarget renders a `target` block pointing at a fake upstream, with extra
// subdirective lines.
func upTarget(name string, up *fakeupstream.Server, lines ...string) string {
	return "target " + name + " {\n\tbase_url " + up.BaseURL() + "\n\t" + strings.Join(lines, "\n\t") + "\n}\n"
}

// deadURL is an OpenAI base URL on which nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

// within bounds every request of the spec tests (headers and, for
// non-streamed answers, the whole body): a router that never answers fails
// the test instead of hanging the package.
const within = 20 * time.Second

// get sends a GET to path and reads the whole answer.
func get(t *testing.T, path string, headers ...string) result {
	t.Helper()
	return send(t, context.Background(), http.MethodGet, path, "", headers...)
}

// send makes any request and reads the whole answer, within bounds.
func send(t *testing.T, ctx context.Context, method, path, body string, headers ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	resp := open(t, ctx, method, path, body, headers...)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s %s: %v", method, path, err)
	}
	return result{resp.StatusCode, resp.Header, b}
}

// open makes a request and returns the response with its body unread; it
// fails the test when the response headers do not come within bounds. The
// request is cancelled when the test ends.
func open(t *testing.T, ctx context.Context, method, path, body string, headers ...string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	type answer struct {
		resp *http.Response
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := doAfterLoad(req)
		got <- answer{resp, err}
	}()
	select {
	case a := <-got:
		if a.err != nil {
			t.Fatalf("%s %s: %v", method, path, a.err)
		}
		t.Cleanup(func() { a.resp.Body.Close() })
		return a.resp
	case <-time.After(within):
		t.Fatalf("%s %s: no response headers within %s", method, path, within)
		return nil
	}
}

// expectHeader fails unless header name of h has the value want ("" = absent).
func expectHeader(t *testing.T, h http.Header, name, want string) {
	t.Helper()
	if got := h.Get(name); got != want {
		t.Errorf("header %s = %q, want %q", name, got, want)
	}
}

// expectRoute checks X-LLM-Target, X-LLM-Model and X-LLM-Attempts.
func expectRoute(t *testing.T, r result, target, model string, attempts int) {
	t.Helper()
	expectHeader(t, r.Header, "X-LLM-Target", target)
	expectHeader(t, r.Header, "X-LLM-Model", model)
	expectHeader(t, r.Header, "X-LLM-Attempts", strconv.Itoa(attempts))
}

// expectCounts fails unless each fake received the given number of requests.
func expectCounts(t *testing.T, want map[*fakeupstream.Server]int) {
	t.Helper()
	for up, n := range want {
		if got := up.Count(); got != n {
			t.Errorf("upstream %s received %d requests, want %d", up.Name, got, n)
		}
	}
}

// upstreamModel is the `model` the upstream received in request i (-1: last).
func upstreamModel(t *testing.T, up *fakeupstream.Server, i int) string {
	t.Helper()
	reqs := up.Requests()
	if i < 0 {
		i += len(reqs)
	}
	if i < 0 || i >= len(reqs) {
		t.Fatalf("upstream %s has no request %d (it has %d)", up.Name, i, len(reqs))
	}
	return gjson.GetBytes(reqs[i].Body, "model").String()
}

// waitGone waits until the upstream request req has ended (client gone or
// response finished).
func waitGone(t *testing.T, req *fakeupstream.Request, timeout time.Duration, what string) {
	t.Helper()
	select {
	case <-req.Gone:
	case <-time.After(timeout):
		t.Fatalf("the upstream request was not cancelled within %s: %s", timeout, what)
	}
}

// sseStream reads a response's event stream in the background, so a test
// can wait for each event with a deadline.
type sseStream struct {
	events chan string // data payloads, closed at the end of the stream
	err    error       // the read error at the end, valid once events is closed
}

func readEvents(r io.Reader) *sseStream {
	s := &sseStream{events: make(chan string, 1024)}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			line := sc.Text()
			if data, ok := strings.CutPrefix(line, "data:"); ok {
				s.events <- strings.TrimPrefix(data, " ")
			}
		}
		s.err = sc.Err()
	}()
	return s
}

// next returns the next event's data, or false at the end of the stream; it
// fails the test when nothing comes within timeout.
func (s *sseStream) next(t *testing.T, timeout time.Duration) (string, bool) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		return ev, ok
	case <-time.After(timeout):
		t.Fatalf("no event within %s", timeout)
		return "", false
	}
}

// rest returns the remaining events until the end of the stream.
func (s *sseStream) rest(t *testing.T, timeout time.Duration) []string {
	t.Helper()
	var out []string
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return out
			}
			out = append(out, ev)
		case <-deadline:
			t.Fatalf("stream did not end within %s; got %q", timeout, out)
		}
	}
}

// untilContent reads events until one carries content, returning it.
func (s *sseStream) untilContent(t *testing.T, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ev, ok := s.next(t, time.Until(deadline))
		if !ok {
			t.Fatalf("stream ended before any content")
		}
		if c := gjson.Get(ev, "choices.0.delta.content").String(); c != "" {
			return c
		}
	}
}

// streamChat posts a streamed chat request and returns the response and its
// events, read in the background.
func streamChat(t *testing.T, ctx context.Context, body string, headers ...string) (*http.Response, *sseStream) {
	t.Helper()
	resp := open(t, ctx, http.MethodPost, "/v1/chat/completions", body, headers...)
	return resp, readEvents(resp.Body)
}

// contents joins the delta contents of chat chunk payloads.
func contents(events []string) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(gjson.Get(e, "choices.0.delta.content").String())
	}
	return b.String()
}

// ---- section 4: endpoints ----

// The three POST endpoints reach the upstream's matching path, with and
// without the /v1 prefix; GET /v1/models and /models answer too.
func TestSpecEndpointsWithAndWithoutV1(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(upTarget("a", up)))
	cases := []struct{ path, body, upstreamPath, object string }{
		{"/v1/chat/completions", chat("m"), "/v1/chat/completions", "chat.completion"},
		{"/chat/completions", chat("m"), "/v1/chat/completions", "chat.completion"},
		{"/v1/completions", `{"model":"m","prompt":"hi"}`, "/v1/completions", "text_completion"},
		{"/completions", `{"model":"m","prompt":"hi"}`, "/v1/completions", "text_completion"},
		{"/v1/embeddings", `{"model":"m","input":"hi"}`, "/v1/embeddings", "list"},
		{"/embeddings", `{"model":"m","input":"hi"}`, "/v1/embeddings", "list"},
	}
	for _, c := range cases {
		r := do(t, c.path, c.body)
		expectStatus(t, r, 200)
		if got := up.Last().Path; got != c.upstreamPath {
			t.Errorf("POST %s reached upstream path %s, want %s", c.path, got, c.upstreamPath)
		}
		if got := r.json("object").String(); got != c.object {
			t.Errorf("POST %s: object %q, want %q", c.path, got, c.object)
		}
	}
	for _, path := range []string{"/v1/models", "/models"} {
		r := get(t, path)
		expectStatus(t, r, 200)
		// The target lists no models: an empty list.
		if r.json("object").String() != "list" || !r.json("data").IsArray() {
			t.Errorf("GET %s: %s", path, r.Body)
		}
	}
}

// The API is served under whatever the matcher routes to the handler:
// behind handle_path (prefix stripped) and with a path matcher on the
// directive, other paths falling through to the next handler.
func TestSpecEndpointsUnderMatcherAndHandlePath(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, `
		handle_path /llm/* {
			`+router(upTarget("a", up))+`
		}
		route {
			llm_router /v1/* {
				`+upTarget("b", up)+`
			}
			respond "not the router" 200
		}`)
	r := do(t, "/llm/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "m", 1)
	if up.Last().Path != "/v1/chat/completions" {
		t.Errorf("upstream path %s", up.Last().Path)
	}
	r = do(t, "/llm/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	r = do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "b", "m", 1)
	r = get(t, "/elsewhere")
	if r.Status != 200 || string(r.Body) != "not the router" {
		t.Errorf("a path outside the matcher reached the router: %d %s", r.Status, r.Body)
	}
}

// 4.1: the client's Authorization reaches a target without api_key
// unchanged (bring your own key); a target with api_key gets its own key
// and never the client's.
func TestSpecEndpointsAuthorizationForwarding(t *testing.T) {
	own := fakeupstream.NewOpenAI(t, "own")
	byok := fakeupstream.NewOpenAI(t, "byok")
	load(t, router(upTarget("own", own, "api_key sk-own-upstream-key")+upTarget("byok", byok)))

	r := do(t, "/v1/chat/completions", chat("m"), "X-LLM-Target", "own", "Authorization", "Bearer sk-client-key")
	expectStatus(t, r, 200)
	if got := own.Last().Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer sk-own-upstream-key" {
		t.Errorf("target with api_key got Authorization %q", got)
	}

	r = do(t, "/v1/chat/completions", chat("m"), "X-LLM-Target", "byok", "Authorization", "Bearer sk-client-key")
	expectStatus(t, r, 200)
	if got := byok.Last().Header.Get("Authorization"); got != "Bearer sk-client-key" {
		t.Errorf("target without api_key got Authorization %q, want the client's", got)
	}

	r = do(t, "/v1/chat/completions", chat("m"), "X-LLM-Target", "byok")
	expectStatus(t, r, 200)
	if got := byok.Last().Header.Get("Authorization"); got != "" {
		t.Errorf("no client key, yet the upstream got Authorization %q", got)
	}
}

// 4.2: X-LLM-Target / X-LLM-Model / X-LLM-Attempts on success; the
// upstream's headers pass through except hop-by-hop ones and Set-Cookie;
// the body passes through unchanged (the upstream's own `model`).
func TestSpecEndpointsResponseHeaders(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	const body = `{"id":"x-1","object":"chat.completion","created":1,"model":"whatever-the-upstream-says",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
	up.Script(fakeupstream.Step{Body: body, Header: http.Header{
		"X-Request-Id":         {"req-123"},
		"Openai-Processing-Ms": {"42"},
		"Set-Cookie":           {"session=abc"},
		"Proxy-Authenticate":   {"Basic"},
		"Keep-Alive":           {"timeout=5"},
	}})
	load(t, router(upTarget("a", up, "model_map gpt-x upstream-x")))
	r := do(t, "/v1/chat/completions", chat("gpt-x"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "upstream-x", 1)
	expectHeader(t, r.Header, "X-Request-Id", "req-123")
	expectHeader(t, r.Header, "Openai-Processing-Ms", "42")
	for _, h := range []string{"Set-Cookie", "Proxy-Authenticate", "Keep-Alive"} {
		if v := r.Header.Values(h); len(v) != 0 {
			t.Errorf("upstream header %s reached the client: %q", h, v)
		}
	}
	if string(r.Body) != body {
		t.Errorf("body changed:\n got %s\nwant %s", r.Body, body)
	}
}

// 4.2: {http.llm_router.target|model|attempts} are set before the response
// header is written, so a deferred `header` directive sees them, on a
// success, a stream and an error after attempts.
func TestSpecEndpointsRoutePlaceholdersInHeaderDirective(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	a.Script(fakeupstream.Step{Status: 503})
	load(t, `
		header >X-Seen-Target {http.llm_router.target}
		header >X-Seen-Model {http.llm_router.model}
		header >X-Seen-Attempts {http.llm_router.attempts}
		`+router(fast+"retries 0\n"+upTarget("a", a, "model_map m ma")+upTarget("b", b, "model_map m mb")))

	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectHeader(t, r.Header, "X-Seen-Target", "b")
	expectHeader(t, r.Header, "X-Seen-Model", "mb")
	expectHeader(t, r.Header, "X-Seen-Attempts", "2")

	resp, s := streamChat(t, context.Background(), chat("m", `"stream":true`))
	s.rest(t, 10*time.Second)
	expectHeader(t, resp.Header, "X-Seen-Target", "a")
	expectHeader(t, resp.Header, "X-Seen-Model", "ma")
	expectHeader(t, resp.Header, "X-Seen-Attempts", "1")

	a.Always(fakeupstream.Step{Status: 500})
	b.Always(fakeupstream.Step{Status: 500})
	r = do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 502, "upstream_error")
	expectHeader(t, r.Header, "X-Seen-Target", "b")
	expectHeader(t, r.Header, "X-Seen-Attempts", "2")
}

// 4.2 and 6: {http.llm_router.prompt_tokens|completion_tokens|cost} are set
// before the handler returns (seen here by log_append in the access log),
// for plain requests and for streams whose client did not ask for usage.
func TestSpecEndpointsTokenPlaceholders(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	logFile := filepath.Join(t.TempDir(), "access.log")
	load(t, `
		log {
			output file `+logFile+`
			format json
		}
		log_append seen_prompt {http.llm_router.prompt_tokens}
		log_append seen_completion {http.llm_router.completion_tokens}
		log_append seen_cost {http.llm_router.cost}
		log_append seen_tag {http.request.header.X-Tag}
		`+router(upTarget("a", up, "price m 1 2")))

	// entry returns the access log entry of the request tagged tag.
	entry := func(tag string) gjson.Result {
		t.Helper()
		var found gjson.Result
		eventually(t, 10*time.Second, func() bool {
			b, _ := os.ReadFile(logFile)
			for _, line := range strings.Split(string(b), "\n") {
				if gjson.Get(line, "seen_tag").String() == tag {
					found = gjson.Parse(line)
					return true
				}
			}
			return false
		}, "access log entry "+tag)
		return found
	}

	expectStatus(t, do(t, "/v1/chat/completions", chat("m"), "X-Tag", "plain"), 200)
	e := entry("plain")
	if e.Get("seen_prompt").Int() != fakeupstream.FakePromptTokens || e.Get("seen_completion").Int() != fakeupstream.FakeCompletionTokens {
		t.Errorf("token placeholders: %s", e.Raw)
	}
	wantCost := float64(fakeupstream.FakePromptTokens*1+fakeupstream.FakeCompletionTokens*2) / 1e6
	if got, err := strconv.ParseFloat(e.Get("seen_cost").String(), 64); err != nil || fmt.Sprintf("%.9f", got) != fmt.Sprintf("%.9f", wantCost) {
		t.Errorf("cost placeholder %q, want %v", e.Get("seen_cost").String(), wantCost)
	}

	// A stream whose client did not ask for usage still has it counted.
	_, s := streamChat(t, context.Background(), chat("m", `"stream":true`), "X-Tag", "stream")
	s.rest(t, 10*time.Second)
	e = entry("stream")
	if e.Get("seen_prompt").Int() != fakeupstream.FakePromptTokens || e.Get("seen_completion").Int() != fakeupstream.FakeCompletionTokens {
		t.Errorf("token placeholders of a stream: %s", e.Raw)
	}

	// A stream that fails midway is counted from what was received.
	up.Script(fakeupstream.Step{DropAfter: 2})
	_, s = streamChat(t, context.Background(), chat("m", `"stream":true`), "X-Tag", "cut")
	s.rest(t, 10*time.Second)
	e = entry("cut")
	if e.Get("seen_completion").Int() <= 0 {
		t.Errorf("a stream cut midway counted no completion tokens: %s", e.Raw)
	}

	// A stream that the client cancels is counted from what was received.
	up.Script(fakeupstream.Step{HangAfter: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, s = streamChat(t, ctx, chat("m", `"stream":true`), "X-Tag", "cancel")
	s.untilContent(t, 5*time.Second)
	s.untilContent(t, 5*time.Second)
	cancel()
	e = entry("cancel")
	if e.Get("seen_completion").Int() <= 0 {
		t.Errorf("a stream the client cancelled counted no completion tokens: %s", e.Raw)
	}
}

// ---- section 7: GET /v1/models ----

// The aliases in written order (owned_by llm_router), then target by target
// its non-glob models and then its model_map client names (owned_by the
// target); a duplicate keeps its first place.
func TestSpecEndpointsModelsOrder(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(`
		target t1 {
			base_url `+up.BaseURL()+`
			models gpt-4o gpt-4o-* m-shared
			model_map alias-two t1-upstream
			model_map mapped-1 up-1
		}
		target t2 {
			base_url `+up.BaseURL()+`
			models claude-3 m-shared
			model_map mapped-2 up-2
			model_map gpt-4o other
		}
		model zeta {
			to t1
		}
		model alias-two {
			to t2
		}`))
	r := get(t, "/v1/models")
	expectStatus(t, r, 200)
	if r.json("object").String() != "list" {
		t.Errorf("object %q, want list", r.json("object").String())
	}
	type entry struct{ id, owner string }
	var got []entry
	for _, m := range r.json("data").Array() {
		if m.Get("object").String() != "model" || !m.Get("created").Exists() {
			t.Errorf("not a model object: %s", m.Raw)
		}
		got = append(got, entry{m.Get("id").String(), m.Get("owned_by").String()})
	}
	want := []entry{
		{"zeta", "llm_router"}, {"alias-two", "llm_router"},
		{"gpt-4o", "t1"}, {"m-shared", "t1"}, {"mapped-1", "t1"},
		{"claude-3", "t2"}, {"mapped-2", "t2"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("models\n got %v\nwant %v", got, want)
	}
}

// ---- section 7: the mock provider ----

// mock echoes the last user message (or mock_response), counts words as
// usage, streams word by word, and gives deterministic embeddings of 256
// dimensions by default.
func TestSpecEndpointsMockProvider(t *testing.T) {
	load(t, router(`
		target echo {
			provider mock
			models echo
		}
		target fixed {
			provider mock
			models fixed
			mock_response "Fixed answer from the mock"
		}
		target slow {
			provider mock
			models slow
			mock_response "one two three"
			mock_delay 60ms
		}`))
	body := `{"model":"echo","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"first question"},` +
		`{"role":"assistant","content":"an answer"},{"role":"user","content":"the  last question"}]}`
	r := do(t, "/v1/chat/completions", body)
	expectStatus(t, r, 200)
	expectRoute(t, r, "echo", "echo", 1)
	if got := r.json("choices.0.message.content").String(); got != "the  last question" {
		t.Errorf("mock content %q, want the last user message", got)
	}
	// prompt: words of all messages (2+2+2+3), completion: words of the answer.
	if r.json("usage.prompt_tokens").Int() != 9 || r.json("usage.completion_tokens").Int() != 3 || r.json("usage.total_tokens").Int() != 12 {
		t.Errorf("mock usage %s", r.json("usage").Raw)
	}

	r = do(t, "/v1/chat/completions", chat("fixed"))
	expectStatus(t, r, 200)
	if got := r.json("choices.0.message.content").String(); got != "Fixed answer from the mock" {
		t.Errorf("mock_response content %q", got)
	}

	// Streamed word by word, with mock_delay between words, usage on request.
	start := time.Now()
	_, s := streamChat(t, context.Background(), chat("slow", `"stream":true`, `"stream_options":{"include_usage":true}`))
	events := s.rest(t, 10*time.Second)
	elapsed := time.Since(start)
	var pieces []string
	for _, e := range events {
		if c := gjson.Get(e, "choices.0.delta.content").String(); c != "" {
			pieces = append(pieces, c)
		}
	}
	if strings.Join(pieces, "") != "one two three" || len(pieces) != 3 {
		t.Errorf("mock stream pieces %q, want the three words of %q", pieces, "one two three")
	}
	if elapsed < 2*60*time.Millisecond {
		t.Errorf("3 words with mock_delay 60ms took %s, want at least 120ms", elapsed)
	}
	if len(events) < 2 || events[len(events)-1] != "[DONE]" || gjson.Get(events[len(events)-2], "usage.completion_tokens").Int() != 3 {
		t.Errorf("mock stream end: %q", events)
	}

	// Embeddings: 256 floats per input by default, the same for the same input.
	emb := func(body string) result {
		r := do(t, "/v1/embeddings", body)
		expectStatus(t, r, 200)
		return r
	}
	r1 := emb(`{"model":"echo","input":["alpha beta","gamma"]}`)
	r2 := emb(`{"model":"echo","input":"alpha beta"}`)
	if r1.json("data.#").Int() != 2 || r1.json("data.0.embedding.#").Int() != 256 {
		t.Fatalf("mock embeddings: %d vectors of %d", r1.json("data.#").Int(), r1.json("data.0.embedding.#").Int())
	}
	if r1.json("data.0.embedding").Raw != r2.json("data.0.embedding").Raw {
		t.Errorf("same input, different embeddings")
	}
	if r1.json("data.0.embedding").Raw == r1.json("data.1.embedding").Raw {
		t.Errorf("different inputs, same embedding")
	}
	if r1.json("usage.prompt_tokens").Int() != 3 {
		t.Errorf("mock embeddings usage %s, want 3 words", r1.json("usage").Raw)
	}
	if n := emb(`{"model":"echo","input":"x","dimensions":8}`).json("data.0.embedding.#").Int(); n != 8 {
		t.Errorf("dimensions 8 gave %d floats", n)
	}
}

// ---- section 7: the openai provider's body fidelity ----

// A streamed request reaches the upstream byte for byte except `model` and
// `stream_options.include_usage`; the event stream reaches the client byte
// for byte except the usage chunk the client did not ask for (comments, CRLF
// line ends, `event:` lines and spacing included).
func TestSpecEndpointsOpenAIStreamFidelity(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(upTarget("a", up, "model_map gpt-x upstream-x")))
	body := `{"stream" : true, "model": "gpt-x", "messages":[{"role":"user","content":"hé"}],` +
		` "stream_options": {"include_usage": false}, "seed": 1.50e0, "x_extra": [1, {"b":2,"a":1}] }`
	pieces := []string{
		": keep-alive comment\r\n\r\n",
		`data: {"id":"c1","object":"chat.completion.chunk","model":"up","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}` + "\r\n\r\n",
		"event: message\ndata: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"up\",  \"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi \\u00e9\"},\"finish_reason\":null}],\"usage\":null}\n\n",
		`data: {"id":"c1","object":"chat.completion.chunk","model":"up","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n",
		`data: {"id":"c1","object":"chat.completion.chunk","model":"up","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}` + "\n\n",
		"data: [DONE]\n\n",
	}
	up.Script(fakeupstream.Step{SSE: pieces, Header: http.Header{"X-Request-Id": {"req-stream-1"}}})
	resp := open(t, context.Background(), http.MethodPost, "/v1/chat/completions", body)
	expectHeader(t, resp.Header, "X-Request-Id", "req-stream-1")
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	want := pieces[0] + pieces[1] + pieces[2] + pieces[3] + pieces[5]
	if string(got) != want {
		t.Errorf("client stream\n got %q\nwant %q", got, want)
	}
	sent := string(up.Last().Body)
	wantSent := strings.Replace(strings.Replace(body, `"gpt-x"`, `"upstream-x"`, 1), `"include_usage": false`, `"include_usage":true`, 1)
	wantSentSpaced := strings.Replace(strings.Replace(body, `"gpt-x"`, `"upstream-x"`, 1), `"include_usage": false`, `"include_usage": true`, 1)
	if sent != wantSent && sent != wantSentSpaced {
		t.Errorf("upstream body\n got %q\nwant %q", sent, wantSent)
	}

	// With include_usage asked for, the usage chunk passes too.
	up.Script(fakeupstream.Step{SSE: pieces})
	body2 := strings.Replace(body, `"include_usage": false`, `"include_usage": true`, 1)
	resp = open(t, context.Background(), http.MethodPost, "/v1/chat/completions", body2)
	got, _ = io.ReadAll(resp.Body)
	if want := strings.Join(pieces, ""); string(got) != want {
		t.Errorf("client stream with include_usage\n got %q\nwant %q", got, want)
	}
	if sent := string(up.Last().Body); sent != strings.Replace(body2, `"gpt-x"`, `"upstream-x"`, 1) {
		t.Errorf("upstream body with include_usage already true changed: %q", sent)
	}
}

// A non-streamed embeddings and completions body also passes byte for byte
// except `model`, and their answers unchanged.
func TestSpecEndpointsOpenAIBodyFidelityOtherEndpoints(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(upTarget("a", up, "model_map emb-x emb-up")))
	for _, c := range []struct{ path, body string }{
		{"/v1/embeddings", `{ "input" : ["a", "b"], "model":"emb-x", "encoding_format":"float","dimensions": 3, "x":null}`},
		{"/v1/completions", `{"model" :"emb-x","prompt":"say \"hi\"",  "max_tokens":5, "logit_bias":{"50256":-100}}`},
	} {
		const answer = `{"object":"list","data":[], "model":"anything" , "usage":{"prompt_tokens":1,"total_tokens":1}}`
		up.Script(fakeupstream.Step{Body: answer})
		r := do(t, c.path, c.body)
		expectStatus(t, r, 200)
		if got, want := string(up.Last().Body), strings.Replace(c.body, `"emb-x"`, `"emb-up"`, 1); got != want {
			t.Errorf("%s upstream body\n got %q\nwant %q", c.path, got, want)
		}
		if string(r.Body) != answer {
			t.Errorf("%s answer changed: %s", c.path, r.Body)
		}
	}
}
