package integration

// SPEC section 14: the llm_dashboard page in a real headless Chromium
// against a real Caddy, and the directive next to llm_router, behind
// basic_auth and under a stripped prefix.

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/tidwall/gjson"
	"golang.org/x/crypto/bcrypt"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
	"github.com/llmrouter/caddy-llm-router/stats"
)

// dashSecret is the upstream key of the test's failing target: it must
// never reach the page or its data.
const dashSecret = "sk-dashboard-test-secret-0123456789"

// dashRouter is a router with two mock targets and one fake upstream that
// fails (cooldown after one failure), plus the dashboard at /dashboard.
func dashRouter(flaky *fakeupstream.Server) string {
	return `llm_dashboard /dashboard*
llm_router {
	strategy fallback
	retries 0
	cooldown 1 1m
	target dash-alpha {
		provider mock
		models alpha-*
		price alpha-* 2.5 10
	}
	target dash-beta {
		provider mock
		mock_delay 2ms
		models beta-*
		price beta-* 0.5 1.5
	}
	target dash-flaky {
		base_url ` + flaky.BaseURL() + `
		api_key ` + dashSecret + `
		models flaky-*
	}
}`
}

// dashKeys stand in for the keys of the router (the lead's key store
// reports the real ones): one close to its rpm, one over 95 % of a budget,
// one without limits.
func dashKeys(context.Context) []stats.KeyStatus {
	return []stats.KeyStatus{
		{Name: "team-search", RPM: 600, TPM: 200000, RequestsThisMinute: 212, TokensThisMinute: 84210, Budgets: []stats.BudgetStatus{
			{Period: "daily", Limit: 50, Spend: 12.4, Reserved: 0.6, Remaining: 37},
			{Period: "monthly", Limit: 1000, Spend: 640.25, Reserved: 0.6, Remaining: 359.15},
		}},
		{Name: "ci-bot", RPM: 60, RequestsThisMinute: 55, TokensThisMinute: 9100, Budgets: []stats.BudgetStatus{
			{Period: "total", Limit: 100, Spend: 99.2, Reserved: 0.5, Remaining: 0.3},
		}},
		{Name: "alice", RequestsThisMinute: 3, TokensThisMinute: 950},
	}
}

// dashDiscovery stands in for model discovery: one fetch that worked, one
// that failed.
func dashDiscovery() []stats.DiscoveryStatus {
	return []stats.DiscoveryStatus{
		{Target: "dash-alpha", Models: 12, LastFetch: time.Now().Add(-2 * time.Minute)},
		{Target: "dash-flaky", LastFetch: time.Now().Add(-30 * time.Second), LastError: "GET /v1/models: 401 Unauthorized"},
	}
}

// dashTraffic sends n chat requests to the mock targets, of various sizes.
func dashTraffic(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		model := "alpha-1"
		if i%3 == 0 {
			model = "beta-1"
		}
		words := strings.Repeat("lorem ipsum ", 5+i%17)
		r := do(t, "/v1/chat/completions", fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}]}`, model, words))
		expectStatus(t, r, 200)
	}
}

// chromiumPath finds the browser: $CHROMIUM, else Debian's package.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium"} {
		if p == "" {
			continue
		}
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
	}
	t.Fatal("chromium not found: apt-get install -y chromium (or make test)")
	return ""
}

// artifactsDir is where the CI keeps screenshots.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LLM_ROUTER_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserLog records what the page did, from the CDP events of its tab.
type browserLog struct {
	mu       sync.Mutex
	requests []string // every URL the page asked for
	problems []string // console errors, exceptions, error log entries, failed responses
}

func (l *browserLog) event(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		l.requests = append(l.requests, ev.Request.URL)
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			l.problems = append(l.problems, fmt.Sprintf("HTTP %d for %s", ev.Response.Status, ev.Response.URL))
		}
	case *network.EventLoadingFailed:
		l.problems = append(l.problems, fmt.Sprintf("request failed: %s %s", ev.ErrorText, ev.BlockedReason))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			l.problems = append(l.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		l.problems = append(l.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			l.problems = append(l.problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
		}
	}
}

func (l *browserLog) snapshot() (requests, problems []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.requests), slices.Clone(l.problems)
}

// card is a target card as the page shows it.
type card struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Text  string `json:"text"`
}

// cardsJS lists the rendered target cards.
const cardsJS = `Array.from(document.querySelectorAll('#targets [data-target]')).map(e => ({name: e.dataset.target, state: e.dataset.state, text: e.innerText}))`

// TestDashboardBrowser loads the dashboard in headless Chromium: every
// target shows by name, a target that trips the breaker shows as in
// cooldown within 3 s, the page loads nothing but from 127.0.0.1, logs no
// error, and never shows the upstream key. It saves screenshots (light and
// dark) in $LLM_ROUTER_ARTIFACTS (default caddytest/artifacts).
func TestDashboardBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	flaky := fakeupstream.NewOpenAI(t, "flaky")
	flaky.Always(fakeupstream.Step{Status: 500})
	load(t, dashRouter(flaky))
	dashTraffic(t, 24)
	prevKeys := stats.SetKeyReporter(dashKeys)
	prevDisc := stats.SetDiscoveryReporter(dashDiscovery)
	t.Cleanup(func() { stats.SetKeyReporter(prevKeys); stats.SetDiscoveryReporter(prevDisc) })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	var blog browserLog
	if err := chromedp.Listen(bctx, blog.event); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// Without the trailing slash: the dashboard redirects to it, so the
	// page's relative URLs resolve under /dashboard/.
	page := fmt.Sprintf("http://127.0.0.1:%d/dashboard", httpPort)
	if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("navigate: %v", err)
	}

	cards := func() []card {
		t.Helper()
		c, err := chromedp.Run(bctx, chromedp.Evaluate[[]card](cardsJS))
		if err != nil {
			t.Fatalf("reading the page: %v", err)
		}
		return c
	}
	find := func(cs []card, name string) *card {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
		return nil
	}
	names := []string{"dash-alpha", "dash-beta", "dash-flaky"}

	// After its scripts ran, every target is shown by name, healthy.
	deadline := time.Now().Add(15 * time.Second)
	for {
		cs := cards()
		shown := 0
		for _, n := range names {
			if c := find(cs, n); c != nil && strings.Contains(c.Text, n) && c.State == "healthy" {
				shown++
			}
		}
		if shown == len(names) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page does not show every target healthy: %+v", cs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.Contains(text, n) {
			t.Errorf("the page's visible text lacks %q", n)
		}
	}

	// One failed request trips the breaker (cooldown 1 1m): the page shows
	// it within 3 s.
	expectError(t, do(t, "/v1/chat/completions", chat("flaky-1")), 502, "upstream_error")
	tripped := time.Now()
	for {
		cs := cards()
		c := find(cs, "dash-flaky")
		if c != nil && c.State == "cooldown" && strings.Contains(c.Text, "Cooldown") && strings.Contains(c.Text, "until") {
			t.Logf("cooldown shown %v after the failure", time.Since(tripped).Round(time.Millisecond))
			for _, other := range []string{"dash-alpha", "dash-beta"} {
				if o := find(cs, other); o == nil || o.State != "healthy" {
					t.Errorf("%s: %+v, want healthy", other, o)
				}
			}
			break
		}
		if time.Since(tripped) > 3*time.Second {
			t.Fatalf("dash-flaky not shown in cooldown 3 s after it tripped: %+v", c)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The charts are drawn; the keys and discovery tables show what their
	// reporters list, budgets as bars.
	charts, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('.chart svg path.line').length`))
	if err != nil || charts < 4 {
		t.Errorf("%d chart lines drawn (%v), want at least 4", charts, err)
	}
	type tables struct {
		Keys      []string `json:"keys"`
		FullBars  int      `json:"fullBars"`
		Discovery string   `json:"discovery"`
	}
	tab, err := chromedp.Run(bctx, chromedp.Evaluate[tables](`({
		keys: document.getElementById('keys-section').hidden ? [] : Array.from(document.querySelectorAll('#keys tr')).map(r => r.dataset.key),
		fullBars: document.querySelectorAll('#keys .bar-fill.bad').length,
		discovery: document.getElementById('discovery-section').hidden ? '' : document.getElementById('discovery').innerText,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Keys, []string{"alice", "ci-bot", "team-search"}) || tab.FullBars != 1 {
		t.Errorf("keys table: rows %v, %d budget bars in red; want alice, ci-bot, team-search and ci-bot's budget in red", tab.Keys, tab.FullBars)
	}
	if !strings.Contains(tab.Discovery, "dash-alpha") || !strings.Contains(tab.Discovery, "401 Unauthorized") {
		t.Errorf("discovery table: %q", tab.Discovery)
	}

	// Never the upstream key, in the page or its data.
	html, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	status := get(t, "/dashboard/api/status")
	expectStatus(t, status, 200)
	if strings.Contains(html, dashSecret) || strings.Contains(string(status.Body), dashSecret) {
		t.Error("the dashboard shows the upstream key")
	}

	// More traffic, then screenshots once the page has drawn it.
	dashTraffic(t, 12)
	waitRender := func() {
		t.Helper()
		before, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('live-text').textContent`))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			now, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('live-text').textContent`))
			if err != nil {
				t.Fatal(err)
			}
			if now != before && strings.HasPrefix(now, "Live") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page stopped updating: %q", now)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	dir := artifactsDir(t)
	shoot := func(name string) {
		t.Helper()
		waitRender()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	shoot("dashboard.png")
	err = chromedp.Do(bctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	}))
	if err != nil {
		t.Fatalf("dark mode: %v", err)
	}
	shoot("dashboard-dark.png")

	// Every request stayed on 127.0.0.1, and nothing went wrong in the page.
	requests, problems := blog.snapshot()
	var paths []string
	for _, raw := range requests {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
			t.Errorf("the page requested %s: not on 127.0.0.1", raw)
			continue
		}
		paths = append(paths, u.Path)
	}
	for _, want := range []string{"/dashboard", "/dashboard/", "/dashboard/app.js", "/dashboard/style.css", "/dashboard/favicon.svg", "/dashboard/api/status"} {
		if !slices.Contains(paths, want) {
			t.Errorf("no request for %s recorded; requests: %v", want, paths)
		}
	}
	for _, p := range problems {
		t.Errorf("in the page: %s", p)
	}
}

// The dashboard next to llm_router in one site: its directive order puts it
// first, so the router's unmatched block does not swallow /dashboard; and
// behind basic_auth under handle_path, as the README shows.
func TestDashboardRoutes(t *testing.T) {
	flaky := fakeupstream.NewOpenAI(t, "flaky")
	load(t, dashRouter(flaky))
	r := getNoRedirect(t, "/dashboard")
	if r.Status != http.StatusFound || r.Header.Get("Location") != "dashboard/" {
		t.Fatalf("GET /dashboard: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	r = get(t, "/dashboard/")
	expectStatus(t, r, 200)
	if !strings.Contains(string(r.Body), `<script src="app.js"`) {
		t.Fatalf("GET /dashboard/ is not the page: %.200s", r.Body)
	}
	r = get(t, "/dashboard/api/status")
	expectStatus(t, r, 200)
	var got []string
	for _, tg := range gjson.GetBytes(r.Body, "targets").Array() {
		got = append(got, tg.Get("name").String())
	}
	for _, n := range []string{"dash-alpha", "dash-beta", "dash-flaky"} {
		if !slices.Contains(got, n) {
			t.Errorf("status lists %v, not %s", got, n)
		}
	}
	if n := len(gjson.GetBytes(r.Body, "series.requests").Array()); n != 900 {
		t.Errorf("series of %d seconds", n)
	}
	// The router still serves the rest.
	expectStatus(t, get(t, "/v1/models"), 200)

	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	load(t, `handle_path /ops/dashboard* {
	basic_auth {
		admin `+string(hash)+`
	}
	llm_dashboard
}
handle {
	llm_router {
		target dash-alpha {
			provider mock
		}
	}
}`)
	expectStatus(t, get(t, "/ops/dashboard/api/status"), http.StatusUnauthorized)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:s3cret"))
	r = getNoRedirect(t, "/ops/dashboard", "Authorization", auth)
	if r.Status != http.StatusFound || r.Header.Get("Location") != "dashboard/" {
		t.Fatalf("GET /ops/dashboard: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	r = get(t, "/ops/dashboard/", "Authorization", auth)
	expectStatus(t, r, 200)
	if r.Header.Get("Content-Security-Policy") == "" {
		t.Error("the page has no Content-Security-Policy")
	}
	r = get(t, "/ops/dashboard/api/status", "Authorization", auth)
	expectStatus(t, r, 200)
	if !gjson.GetBytes(r.Body, `targets.#(name=="dash-alpha")`).Exists() {
		t.Errorf("status without dash-alpha: %.300s", r.Body)
	}
	expectStatus(t, do(t, "/v1/chat/completions", chat("m")), 200)
}

// getNoRedirect sends a GET and returns its answer without following a
// redirect.
func getNoRedirect(t *testing.T, path string, headers ...string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := &http.Client{
		Transport:     client.Transport,
		Timeout:       within,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	return result{Status: resp.StatusCode, Header: resp.Header}
}
