package integration

// SPEC 8: router keys, limits and budgets, through a real Caddy, the real
// openai-go client, a real redis-server and Caddy processes of their own.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
	"github.com/llmrouter/caddy-llm-router/internal/redistest"
	"github.com/llmrouter/caddy-llm-router/keys"
)

// runID makes the key names of this test process unique: spend of a name
// persists in Caddy's storage across reloads and test runs, by design.
var runID = func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// keyName is a key name unique to this process and test.
func keyName(t *testing.T, base string) string {
	return base + "-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + runID
}

const (
	keyAlice = "sk-llmr-alice-0123456789abcdefghij"
	keyBob   = "sk-llmr-bob-0123456789abcdefghijkl"
	keyCarol = "sk-llmr-carol-0123456789abcdefghij"
)

// keyedClient is an openai-go client with a router key.
func keyedClient(baseURL, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(baseURL), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: &http.Transport{}}), option.WithRequestTimeout(30*time.Second))
}

func askSDK(c openai.Client, model string, raw **http.Response) error {
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		MaxTokens: openai.Int(50),
	}, option.WithResponseInto(raw))
	return err
}

func sdkErrorCode(t *testing.T, err error) (int, string) {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("not an API error: %v", err)
	}
	return apiErr.StatusCode, apiErr.Code
}

// Every status and header of SPEC 8 through the real openai-go client.
func TestKeysThroughSDK(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	hash := keys.HashForm(keyCarol)
	t.Setenv("BOB_KEY", keyBob)
	load(t, router(fmt.Sprintf(`
		target gpt {
			base_url %s
			models gpt-*
			price gpt-* 1000 1000
		}
		target claude {
			provider mock
			models claude-*
		}
		key %s {
			name %s
			rpm 2
		}
		key {env.BOB_KEY} {
			name %s
			models gpt-*
			tpm 100000
			budget 5 daily
		}
		key %s {
			name %s
			budget 0.001 monthly
		}`, up.BaseURL(), keyAlice, keyName(t, "alice"), keyName(t, "bob"), hash, keyName(t, "carol"))))
	v1 := base + "/v1/"
	var raw *http.Response

	// 401: no key, a wrong key.
	for _, k := range []string{"", "sk-wrong-key-0000000000000000"} {
		err := askSDK(keyedClient(v1, k), "gpt-4o", &raw)
		if status, code := sdkErrorCode(t, err); status != 401 || code != "invalid_api_key" {
			t.Fatalf("key %q: %d %s", k, status, code)
		}
	}
	if up.Count() != 0 {
		t.Fatal("an unauthenticated request reached the upstream")
	}

	// rpm 2: the third request in the minute is 429 rate_limited with
	// Retry-After and the x-ratelimit-* headers.
	alice := keyedClient(v1, keyAlice)
	for i := 0; i < 2; i++ {
		if err := askSDK(alice, "claude-3", &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Header.Get("X-Ratelimit-Limit-Requests") != "2" || raw.Header.Get("X-Ratelimit-Remaining-Requests") != fmt.Sprint(1-i) ||
			raw.Header.Get("X-Ratelimit-Reset-Requests") == "" {
			t.Fatalf("request %d headers %v", i, raw.Header)
		}
	}
	err := askSDK(alice, "claude-3", &raw)
	status, code := sdkErrorCode(t, err)
	var apiErr *openai.Error
	errors.As(err, &apiErr)
	if status != 429 || code != "rate_limited" || apiErr.Response.Header.Get("Retry-After") == "" {
		t.Fatalf("%d %s %v", status, code, apiErr.Response.Header)
	}

	// bob: models gpt-* only (403 model_not_allowed), tpm and budget
	// headers; the client's key never goes upstream.
	bobClient := keyedClient(v1, keyBob)
	bob := &bobClient
	if status, code := sdkErrorCode(t, askSDK(*bob, "claude-3", &raw)); status != 403 || code != "model_not_allowed" {
		t.Fatalf("%d %s", status, code)
	}
	if err := askSDK(*bob, "gpt-4o", &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Header.Get("X-Ratelimit-Limit-Tokens") != "100000" || raw.Header.Get("X-Llm-Budget-Remaining") == "" {
		t.Fatalf("headers %v", raw.Header)
	}
	if h := up.Last().Header; h.Get("Authorization") != "" || strings.Contains(fmt.Sprint(h), keyBob) {
		t.Fatalf("the client's key went upstream: %v", h)
	}

	// carol (sha256 form): a budget smaller than one request's worst case
	// is 429 budget_exceeded with Retry-After to the end of the month.
	err = askSDK(keyedClient(v1, keyCarol), "gpt-4o", &raw)
	status, code = sdkErrorCode(t, err)
	errors.As(err, &apiErr)
	if status != 429 || code != "budget_exceeded" {
		t.Fatalf("%d %s", status, code)
	}
	now := time.Now().UTC()
	monthEnd := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	if ra := apiErr.Response.Header.Get("Retry-After"); ra == "" || fmt.Sprint(int(monthEnd.Sub(now).Seconds()+1)) < ra && len(ra) > 8 {
		t.Fatalf("Retry-After %q", ra)
	}

	// Keys as the other SDKs send them.
	for _, h := range [][]string{{"X-Api-Key", keyAlice}, {"X-Goog-Api-Key", keyBob}} {
		r := do(t, "/v1/chat/completions", chat("gpt-4o"), h...)
		if r.Status == 401 {
			t.Fatalf("%s refused", h[0])
		}
	}
	if r := do(t, "/v1/chat/completions?key="+keyBob, chat("gpt-4o")); r.Status != 200 {
		t.Fatalf("?key=: %d %s", r.Status, r.Body)
	}

	// GET /v1/models lists only what the key may use.
	models, err := bob.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models.Data {
		if !strings.HasPrefix(m.ID, "gpt-") {
			t.Fatalf("bob sees %s", m.ID)
		}
	}
	anon := keyedClient(v1, "")
	if _, err := anon.Models.List(context.Background()); err == nil {
		t.Fatal("models listed without a key")
	}
}

// The store concurrency test of SPEC 8 through the handler: a budget that
// covers exactly n requests (each reserves its worst case), 10·n requests
// at once: at most n succeed, the rest get budget_exceeded, and the spend
// stays within the budget.
func checkBudgetConcurrency(t *testing.T, name string, bases []string, up *fakeupstream.Server, hold chan struct{}, n int, adminURL string) {
	t.Helper()
	const body = `{"model":"gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`
	var ok, refused, other atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 10*n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := sendTo(t, bases[i%len(bases)], "/v1/chat/completions", body, "Authorization", "Bearer "+keyAlice)
			switch {
			case r.Status == 200:
				ok.Add(1)
			case r.Status == 429 && gjson.GetBytes(r.Body, "error.code").Str == "budget_exceeded":
				refused.Add(1)
			default:
				other.Add(1)
				t.Errorf("status %d %s", r.Status, r.Body)
			}
		}(i)
	}
	// Every admitted request is held at the upstream until all others
	// were refused, so no settlement frees budget early.
	eventually(t, 60*time.Second, func() bool { return up.Count()+int(refused.Load()) >= 10*n }, "all requests admitted or refused")
	close(hold)
	wg.Wait()
	t.Logf("%d requests at once on %d instance(s): %d succeeded, %d budget_exceeded", 10*n, len(bases), ok.Load(), refused.Load())
	if ok.Load() != int64(n) || refused.Load() != int64(9*n) || other.Load() != 0 {
		t.Fatalf("%d succeeded, %d refused, %d other; want %d and %d", ok.Load(), refused.Load(), other.Load(), n, 9*n)
	}
	resp, err := http.Get(adminURL + "/llm_router/keys")
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	spend := gjson.GetBytes(admin, `#(name=="`+name+`").budgets.0.spend`).Float()
	limit := gjson.GetBytes(admin, `#(name=="`+name+`").budgets.0.usd`).Float()
	t.Logf("spend %.6f of a %.6f budget", spend, limit)
	if spend <= 0 || spend > limit+1e-9 {
		t.Fatalf("spend %v of %v: %s", spend, limit, admin)
	}
	if strings.Contains(string(admin), keyAlice) {
		t.Fatalf("admin output holds the key: %s", admin)
	}
}

// sendTo posts to another base URL.
func sendTo(t *testing.T, baseURL, path, body string, headers ...string) result {
	req, _ := http.NewRequest(http.MethodPost, baseURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{Status: 0, Body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, b}
}

// budgetSite is a router whose key's budget covers exactly n requests of
// the concurrency test (each reserves (prompt estimate + 100) tokens at
// $1 per million).
func budgetSite(name, upURL string, n int, store string) string {
	const body = `{"model":"gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`
	worst := float64((len(body)+3)/4+100) / 1e6
	return router(fmt.Sprintf(`
		target gpt {
			base_url %s
			price gpt-* 1 1
		}
		key %s {
			name %s
			budget %.9f daily
		}
		%s`, upURL, keyAlice, name, worst*float64(n), store))
}

func TestKeysBudgetConcurrencyMemory(t *testing.T) {
	hold := make(chan struct{})
	up := fakeupstream.NewOpenAI(t, "gpt").Always(fakeupstream.Step{Hold: hold})
	name := keyName(t, "alice")
	load(t, budgetSite(name, up.BaseURL(), 5, "store memory"))
	checkBudgetConcurrency(t, name, []string{base}, up, hold, 5, fmt.Sprintf("http://localhost:%d", adminPort))
}

func TestKeysBudgetConcurrencyRedis(t *testing.T) {
	rs := redistest.Start(t)
	hold := make(chan struct{})
	up := fakeupstream.NewOpenAI(t, "gpt").Always(fakeupstream.Step{Hold: hold})
	name := keyName(t, "alice")
	load(t, budgetSite(name, up.BaseURL(), 5, "store redis "+rs.URL))
	checkBudgetConcurrency(t, name, []string{base}, up, hold, 5, fmt.Sprintf("http://localhost:%d", adminPort))
}

// Two Caddy processes sharing one Redis enforce one budget as one process
// would.
func TestKeysBudgetTwoInstancesOneRedis(t *testing.T) {
	rs := redistest.Start(t)
	hold := make(chan struct{})
	up := fakeupstream.NewOpenAI(t, "gpt").Always(fakeupstream.Step{Hold: hold})
	name := keyName(t, "alice")
	site := budgetSite(name, up.BaseURL(), 5, "store redis "+rs.URL+" {\n\t\t\tprefix twoinst:\n\t\t}")
	a, b := startCaddy(t, site), startCaddy(t, site)
	checkBudgetConcurrency(t, name, []string{a.base, b.base}, up, hold, 5, a.adminURL)
}

// With store memory, spend survives a restart of the Caddy process (it is
// persisted in Caddy's storage when the config unloads).
func TestKeysMemorySpendSurvivesRestart(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	p := startCaddy(t, router(fmt.Sprintf(`
		target gpt {
			base_url %s
			price gpt-* 1000 1000
		}
		key %s {
			name alice
			budget 100 monthly
		}`, up.BaseURL(), keyAlice)))
	spendOf := func() float64 {
		resp, err := http.Get(p.adminURL + "/llm_router/keys")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return gjson.GetBytes(b, `#(name=="alice").budgets.0.spend`).Float()
	}
	for i := 0; i < 3; i++ {
		if r := sendTo(t, p.base, "/v1/chat/completions", chat("gpt-4o"), "Authorization", "Bearer "+keyAlice); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	want := 3 * float64(fakeupstream.FakePromptTokens+fakeupstream.FakeCompletionTokens) * 1000 / 1e6
	if got := spendOf(); got < want-1e-9 || got > want+1e-9 {
		t.Fatalf("spend %v, want %v", got, want)
	}
	p.restart()
	if got := spendOf(); got < want-1e-9 || got > want+1e-9 {
		t.Fatalf("after a restart: spend %v, want %v", got, want)
	}
}

// Redis killed and restarted under traffic: fail open keeps serving,
// fail closed answers 503 store_unavailable while it is down; neither
// crashes and both work again after.
func TestKeysRedisOutage(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			rs := redistest.Start(t)
			load(t, router(fmt.Sprintf(`
				target m {
					provider mock
					price * 1 1
				}
				key %s {
					name %s
					rpm 100000
					budget 1000 daily
				}
				store redis %s {
					fail %s
				}`, keyAlice, keyName(t, "alice"), rs.URL, mode)))
			ask := func() result {
				return do(t, "/v1/chat/completions", chat("m/x"), "Authorization", "Bearer "+keyAlice)
			}
			expectStatus(t, ask(), 200)
			rs.Stop()
			for i := 0; i < 20; i++ {
				r := ask()
				if mode == "open" {
					expectStatus(t, r, 200)
				} else {
					expectError(t, r, 503, "store_unavailable")
				}
			}
			rs.Restart()
			eventually(t, 20*time.Second, func() bool { return ask().Status == 200 }, "the store back")
		})
	}
}

// A reload under traffic keeps limits and spend; a key removed from the
// config stops working at once.
func TestKeysReloadUnderTraffic(t *testing.T) {
	alice, bobName := keyName(t, "alice"), keyName(t, "bob")
	cfg := func(withBob bool) string {
		bob := ""
		if withBob {
			bob = fmt.Sprintf("key %s {\n\tname %s\n}", keyBob, bobName)
		}
		return router(fmt.Sprintf(`
			target m {
				provider mock
			}
			key %s {
				name %s
				rpm 1000
			}
			%s`, keyAlice, alice, bob))
	}
	load(t, cfg(true))
	stop := make(chan struct{})
	var bad atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := sendTo(t, base, "/v1/chat/completions", chat("m/x"), "Authorization", "Bearer "+keyAlice)
				if r.Status != 200 && r.Status != 0 {
					bad.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 3; i++ {
		if status, msg := postConfig(t, siteConfig(cfg(i%2 == 1))); status != 200 {
			t.Fatalf("reload %d: %s", status, msg)
		}
	}
	if status, msg := postConfig(t, siteConfig(cfg(false))); status != 200 {
		t.Fatalf("reload %d: %s", status, msg)
	}
	close(stop)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d requests failed during reloads", bad.Load())
	}
	expectError(t, do(t, "/v1/chat/completions", chat("m/x"), "Authorization", "Bearer "+keyBob), 401, "invalid_api_key")
	// alice's count survived the reloads.
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/llm_router/keys", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := gjson.GetBytes(b, `#(name=="`+alice+`").requests`).Int(); n < 4 {
		t.Fatalf("alice's requests this minute: %d (%s)", n, b)
	}
}

// 10,000 requests with random wrong keys: no upstream call, no store
// write, no memory growth, no key anywhere in answers, metrics or admin.
func TestKeysWrongKeysCostNothing(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, `metrics /metrics
	`+router(fmt.Sprintf(`
		target gpt {
			base_url %s
		}
		key %s {
			name %s
			rpm 5
		}`, up.BaseURL(), keyAlice, keyName(t, "alice"))))
	// Plain requests: the harness's do() keeps a cleanup per request.
	send := func(key string) result {
		return sendTo(t, base, "/v1/chat/completions", chat("gpt-4o"), "Authorization", "Bearer "+key)
	}
	for i := 0; i < 200; i++ { // warm up
		_ = send("sk-warm")
	}
	runtime.GC()
	before := heapBytes()
	var seen []byte
	for i := 0; i < 10_000; i++ {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		k := "sk-llmr-" + hex.EncodeToString(b)
		r := send(k)
		if r.Status != 401 || strings.Contains(string(r.Body), k) || strings.Contains(fmt.Sprint(r.Header), k) {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if i == 0 {
			seen = r.Body
		}
	}
	runtime.GC()
	after := heapBytes()
	if up.Count() != 0 {
		t.Fatalf("%d upstream calls", up.Count())
	}
	t.Logf("heap after GC: %d KB before, %d KB after 10,000 wrong keys", before>>10, after>>10)
	if grew := int64(after) - int64(before); grew > 4<<20 {
		t.Fatalf("heap grew by %d KB over 10,000 wrong keys", grew>>10)
	}
	// alice's rpm is untouched: the wrong keys wrote nothing to the store.
	for i := 0; i < 5; i++ {
		expectStatus(t, send(keyAlice), 200)
	}
	for _, path := range []string{"/metrics"} {
		m := get(t, path)
		if strings.Contains(string(m.Body), keyAlice) || !strings.Contains(string(m.Body), `caddy_llm_router_key_requests_total{code="200",key="`+keyName(t, "alice")+`"} 5`) {
			t.Fatalf("metrics:\n%s", grepLines(string(m.Body), "key_"))
		}
	}
	resp, _ := http.Get(fmt.Sprintf("http://localhost:%d/llm_router/keys", adminPort))
	admin, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(admin), keyAlice) || strings.Contains(string(admin), keys.HashForm(keyAlice)[7:]) {
		t.Fatalf("admin output holds a secret: %s", admin)
	}
	_ = seen
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
