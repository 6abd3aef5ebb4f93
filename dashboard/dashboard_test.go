package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/routing"
	"github.com/llmrouter/caddy-llm-router/stats"
)

// status is the status JSON as a client reads it.
type status struct {
	Now     time.Time `json:"now"`
	Targets []struct {
		Name          string     `json:"name"`
		Healthy       bool       `json:"healthy"`
		CooldownUntil *time.Time `json:"cooldown_until"`
		LatencyMS     *float64   `json:"latency_ms"`
		InFlight      int64      `json:"in_flight"`
		Requests5m    int64      `json:"requests_5m"`
		Errors5m      int64      `json:"errors_5m"`
	} `json:"targets"`
	Keys *[]struct {
		Name               string `json:"name"`
		RPM                int64  `json:"rpm"`
		TPM                int64  `json:"tpm"`
		RequestsThisMinute int64  `json:"requests_this_minute"`
		TokensThisMinute   int64  `json:"tokens_this_minute"`
		Requests5m         int64  `json:"requests_5m"`
		Errors5m           int64  `json:"errors_5m"`
		Budgets            []struct {
			Period    string  `json:"period"`
			Limit     float64 `json:"limit"`
			Spend     float64 `json:"spend"`
			Reserved  float64 `json:"reserved"`
			Remaining float64 `json:"remaining"`
		} `json:"budgets"`
	} `json:"keys"`
	Discovery *[]struct {
		Target    string     `json:"target"`
		Models    int        `json:"models"`
		LastFetch *time.Time `json:"last_fetch"`
		LastError string     `json:"last_error"`
	} `json:"discovery"`
	Series struct {
		Start            int64     `json:"start"`
		Step             int64     `json:"step"`
		Requests         []int64   `json:"requests"`
		Errors           []int64   `json:"errors"`
		CacheHits        []int64   `json:"cache_hits"`
		PromptTokens     []int64   `json:"prompt_tokens"`
		CompletionTokens []int64   `json:"completion_tokens"`
		CostUSD          []float64 `json:"cost_usd"`
		TTFBms           []float64 `json:"ttfb_ms"`
		DurationMS       []float64 `json:"duration_ms"`
	} `json:"series"`
}

// t0 is an arbitrary second, 2025-01-01T00:00:00Z.
var t0 = time.Unix(1735689600, 0)

// state acquires a target state for the test and releases it afterwards.
func state(t *testing.T, name, baseURL string) *routing.State {
	key := routing.StateKey(name, baseURL)
	s := routing.AcquireState(key)
	t.Cleanup(func() { routing.ReleaseState(key) })
	return s
}

// get serves one GET through d.
func get(t *testing.T, d *Dashboard, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	if err := d.ServeHTTP(w, r, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

func readStatus(t *testing.T, d *Dashboard) (status, *httptest.ResponseRecorder) {
	t.Helper()
	w := get(t, d, "/dash/api/status")
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("not JSON: %s", w.Body)
	}
	var s status
	if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	return s, w
}

func TestStatusJSON(t *testing.T) {
	clock := t0.Add(500 * time.Millisecond)
	rec := stats.NewRecorder(func() time.Time { return clock })
	d := &Dashboard{rec: rec}

	// Two targets; "dash-unit-b" is used with two base URLs (two router
	// blocks): one of them cools down.
	a := state(t, "dash-unit-a", "http://a")
	b1 := state(t, "dash-unit-b", "http://b1")
	b2 := state(t, "dash-unit-b", "http://b2")
	a.ObserveTTFB(120 * time.Millisecond)
	for range 2 {
		if !a.TryAcquire(0) {
			t.Fatal("in-flight slot")
		}
		defer a.Release()
	}
	b1.ObserveTTFB(100 * time.Millisecond)
	b2.ObserveTTFB(300 * time.Millisecond)
	until := time.Now().Add(time.Hour)
	b2.CoolFor(time.Hour, time.Now())

	// Traffic: 3 requests to a a minute ago, 2 to b now (one failed).
	clock = t0.Add(-time.Minute)
	for range 3 {
		rec.Record(&stats.Request{Target: "dash-unit-a", Status: 200, Key: "alice",
			Usage: llm.Usage{PromptTokens: 100, CompletionTokens: 20}, Cost: 0.0005,
			Duration: time.Second, TTFB: 200 * time.Millisecond})
	}
	clock = t0.Add(500 * time.Millisecond)
	rec.Record(&stats.Request{Target: "dash-unit-b", Status: 200, CacheHit: true})
	rec.Record(&stats.Request{Target: "dash-unit-b", Status: 502, Key: "alice"})

	// Without reporters, or with reporters that list nothing: no keys, no
	// discovery.
	s, w := readStatus(t, d)
	if strings.Contains(w.Body.String(), `"keys"`) || strings.Contains(w.Body.String(), `"discovery"`) {
		t.Errorf("keys or discovery without a reporter: %s", w.Body.String()[:200])
	}
	prevKeys := stats.SetKeyReporter(func(context.Context) []stats.KeyStatus { return nil })
	prevDisc := stats.SetDiscoveryReporter(func() []stats.DiscoveryStatus { return []stats.DiscoveryStatus{} })
	t.Cleanup(func() { stats.SetKeyReporter(prevKeys); stats.SetDiscoveryReporter(prevDisc) })
	if _, w := readStatus(t, d); strings.Contains(w.Body.String(), `"keys"`) || strings.Contains(w.Body.String(), `"discovery"`) {
		t.Errorf("keys or discovery from reporters that list none: %s", w.Body.String()[:200])
	}
	if !s.Now.Equal(clock.Truncate(time.Millisecond)) {
		t.Errorf("now %v, want %v", s.Now, clock)
	}
	ta, tb := -1, -1
	for i, tg := range s.Targets {
		switch tg.Name {
		case "dash-unit-a":
			ta = i
		case "dash-unit-b":
			if tb >= 0 {
				t.Errorf("dash-unit-b listed twice")
			}
			tb = i
		}
	}
	if ta < 0 || tb < 0 || ta > tb {
		t.Fatalf("targets %+v: want both, sorted by name", s.Targets)
	}
	ga, gb := s.Targets[ta], s.Targets[tb]
	if !ga.Healthy || ga.CooldownUntil != nil || ga.LatencyMS == nil || *ga.LatencyMS != 120 || ga.InFlight != 2 || ga.Requests5m != 3 || ga.Errors5m != 0 {
		t.Errorf("target a: %+v", ga)
	}
	if gb.Healthy || gb.CooldownUntil == nil || gb.CooldownUntil.Sub(until).Abs() > time.Second || gb.LatencyMS == nil || *gb.LatencyMS != 200 || gb.Requests5m != 2 || gb.Errors5m != 1 {
		t.Errorf("target b: %+v (cooldown until %v)", gb, gb.CooldownUntil)
	}

	sr := s.Series
	if sr.Step != 1 || sr.Start != t0.Unix()-stats.SeriesSeconds+1 {
		t.Errorf("series start %d step %d", sr.Start, sr.Step)
	}
	for name, n := range map[string]int{"requests": len(sr.Requests), "errors": len(sr.Errors), "cache_hits": len(sr.CacheHits),
		"prompt_tokens": len(sr.PromptTokens), "completion_tokens": len(sr.CompletionTokens), "cost_usd": len(sr.CostUSD),
		"ttfb_ms": len(sr.TTFBms), "duration_ms": len(sr.DurationMS)} {
		if n != stats.SeriesSeconds {
			t.Errorf("series %s has %d values", name, n)
		}
	}
	last, minute := stats.SeriesSeconds-1, stats.SeriesSeconds-61
	if sr.Requests[last] != 2 || sr.Errors[last] != 1 || sr.CacheHits[last] != 1 {
		t.Errorf("current second: %d requests, %d errors, %d cache hits", sr.Requests[last], sr.Errors[last], sr.CacheHits[last])
	}
	if sr.Requests[minute] != 3 || sr.PromptTokens[minute] != 300 || sr.CompletionTokens[minute] != 60 ||
		sr.CostUSD[minute] != 0.0015 || sr.TTFBms[minute] != 200 || sr.DurationMS[minute] != 1000 {
		t.Errorf("a minute ago: %d requests, %d+%d tokens, $%v, ttfb %v, duration %v", sr.Requests[minute],
			sr.PromptTokens[minute], sr.CompletionTokens[minute], sr.CostUSD[minute], sr.TTFBms[minute], sr.DurationMS[minute])
	}
	var total int64
	for _, n := range sr.Requests {
		total += n
	}
	if total != 5 {
		t.Errorf("%d requests in the series, want 5", total)
	}

	// With reporters.
	fetched := t0.Add(-2 * time.Minute)
	stats.SetKeyReporter(func(context.Context) []stats.KeyStatus {
		return []stats.KeyStatus{
			{Name: "zed"},
			{Name: "alice \"<admin>\"", RPM: 60, TPM: 1000, RequestsThisMinute: 4, TokensThisMinute: 360,
				Budgets: []stats.BudgetStatus{{Period: "daily", Limit: 10, Spend: 1.25, Reserved: 0.5, Remaining: 8.25}}},
		}
	})
	stats.SetDiscoveryReporter(func() []stats.DiscoveryStatus {
		return []stats.DiscoveryStatus{
			{Target: "dash-unit-b", LastError: "GET /v1/models: 401"},
			{Target: "dash-unit-a", Models: 12, LastFetch: fetched},
		}
	})
	s, _ = readStatus(t, d)
	if s.Keys == nil || len(*s.Keys) != 2 {
		t.Fatalf("keys %+v", s.Keys)
	}
	k := (*s.Keys)[0]
	if k.Name != "alice \"<admin>\"" || k.RPM != 60 || k.TPM != 1000 || k.RequestsThisMinute != 4 || k.TokensThisMinute != 360 ||
		len(k.Budgets) != 1 || k.Budgets[0] != (struct {
		Period    string  `json:"period"`
		Limit     float64 `json:"limit"`
		Spend     float64 `json:"spend"`
		Reserved  float64 `json:"reserved"`
		Remaining float64 `json:"remaining"`
	}{"daily", 10, 1.25, 0.5, 8.25}) {
		t.Errorf("first key %+v", k)
	}
	if (*s.Keys)[1].Name != "zed" || (*s.Keys)[1].Budgets == nil {
		t.Errorf("second key %+v: want zed with an empty budget list", (*s.Keys)[1])
	}
	// Windows go by exact name: the requests recorded for "alice" are not
	// those of `alice "<admin>"`.
	if k.Requests5m != 0 {
		t.Errorf("key window for an unknown name: %+v", k)
	}
	if s.Discovery == nil || len(*s.Discovery) != 2 {
		t.Fatalf("discovery %+v", s.Discovery)
	}
	da, db := (*s.Discovery)[0], (*s.Discovery)[1]
	if da.Target != "dash-unit-a" || da.Models != 12 || da.LastFetch == nil || !da.LastFetch.Equal(fetched) || da.LastError != "" {
		t.Errorf("discovery a %+v", da)
	}
	if db.Target != "dash-unit-b" || db.LastFetch != nil || db.LastError != "GET /v1/models: 401" {
		t.Errorf("discovery b %+v", db)
	}
}

// A key's window counts the requests recorded under its name.
func TestStatusKeyWindow(t *testing.T) {
	rec := stats.NewRecorder(func() time.Time { return t0 })
	d := &Dashboard{rec: rec}
	rec.Record(&stats.Request{Target: "x", Status: 200, Key: "bob"})
	rec.Record(&stats.Request{Target: "x", Status: 429, Key: "bob"})
	prev := stats.SetKeyReporter(func(context.Context) []stats.KeyStatus { return []stats.KeyStatus{{Name: "bob"}} })
	t.Cleanup(func() { stats.SetKeyReporter(prev) })
	s, _ := readStatus(t, d)
	if s.Keys == nil || len(*s.Keys) != 1 || (*s.Keys)[0].Requests5m != 2 || (*s.Keys)[0].Errors5m != 1 {
		t.Fatalf("keys %+v", s.Keys)
	}
}

func TestAppendFloat(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 1.5: "1.5", 0.000000001: "0.000000001", 1e6: "1000000",
		-2.25: "-2.25", 0.1 + 0.2: "0.3", 123.4560001: "123.4560001", 0.0000000004: "0", 1e300: "1" + strings.Repeat("0", 300)} {
		if got := string(appendFloat(nil, in)); got != want {
			t.Errorf("appendFloat(%v) = %s, want %s", in, got, want)
		}
	}
	nan := 0.0
	if got := string(appendFloat(nil, nan/nan)); got != "null" {
		t.Errorf("NaN: %s", got)
	}
}

func TestServePaths(t *testing.T) {
	d := &Dashboard{rec: stats.NewRecorder(nil)}
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/dash/", "text/html; charset=utf-8", `<script src="app.js"`},
		{"/dash/index.html", "text/html; charset=utf-8", `<link rel="stylesheet" href="style.css">`},
		{"/", "text/html; charset=utf-8", "<title>"},
		{"/dash/app.js", "text/javascript; charset=utf-8", "fetch('api/status'"},
		{"/dash/style.css", "text/css; charset=utf-8", "prefers-color-scheme: dark"},
		{"/dash/favicon.svg", "image/svg+xml", "<svg"},
		{"/a/b/api/status", "application/json", `"targets":[`},
	} {
		w := get(t, d, tc.path)
		if w.Code != 200 || w.Header().Get("Content-Type") != tc.contentType || !strings.Contains(w.Body.String(), tc.contains) {
			t.Errorf("GET %s: %d %q, body contains %q: %v", tc.path, w.Code, w.Header().Get("Content-Type"), tc.contains, strings.Contains(w.Body.String(), tc.contains))
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tc.path)
		}
	}

	// The page's policy allows nothing from elsewhere.
	w := get(t, d, "/dash/")
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}

	// Assets are revalidated by ETag.
	w = get(t, d, "/dash/app.js")
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("app.js: ETag %q, Cache-Control %q", etag, w.Header().Get("Cache-Control"))
	}
	if w := get(t, d, "/dash/app.js", "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", w.Code)
	}

	// The root without its slash is redirected relatively, query kept.
	for path, want := range map[string]string{"/dashboard": "dashboard/", "/x/dashboard?theme=dark": "dashboard/?theme=dark", "/x/other": "other/"} {
		w := get(t, d, path)
		if w.Code != http.StatusFound || w.Header().Get("Location") != want {
			t.Errorf("GET %s: %d Location %q, want %q", path, w.Code, w.Header().Get("Location"), want)
		}
	}

	// Under a stripped prefix (handle_path /dashboard*): the browser's
	// path decides.
	for orig, want := range map[string]int{"/dashboard": http.StatusFound, "/dashboard/": http.StatusOK} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		u, _ := url.Parse(orig)
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.OriginalRequestCtxKey, http.Request{URL: u}))
		w := httptest.NewRecorder()
		if err := d.ServeHTTP(w, r, nil); err != nil {
			t.Fatal(err)
		}
		if w.Code != want || (want == http.StatusFound && w.Header().Get("Location") != "dashboard/") {
			t.Errorf("stripped %s: %d Location %q", orig, w.Code, w.Header().Get("Location"))
		}
	}

	// Only GET and HEAD.
	r := httptest.NewRequest(http.MethodPost, "/dash/api/status", strings.NewReader("{}"))
	w = httptest.NewRecorder()
	if err := d.ServeHTTP(w, r, nil); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
	r = httptest.NewRequest(http.MethodHead, "/dash/api/status", nil)
	w = httptest.NewRecorder()
	if err := d.ServeHTTP(w, r, nil); err != nil {
		t.Fatal(err)
	}
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
}

// The page loads nothing from elsewhere: every URL in the assets is
// relative (the SVG namespace is a name, never fetched).
func TestAssetsSelfContained(t *testing.T) {
	for name, a := range assets {
		body := strings.ReplaceAll(string(a.body), "http://www.w3.org/2000/svg", "")
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "url("} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
	for _, name := range []string{"index.html", "app.js", "style.css", "favicon.svg"} {
		if assets[name] == nil {
			t.Errorf("asset %s missing", name)
		}
	}
}

func TestUnmarshalCaddyfile(t *testing.T) {
	for input, wantErr := range map[string]string{
		"llm_dashboard":                    "",
		"llm_dashboard {\n}":               "",
		"llm_dashboard extra":              `no arguments, got "extra"`,
		"llm_dashboard {\n\trefresh 1s\n}": `unrecognized subdirective "refresh"`,
	} {
		d := new(Dashboard)
		err := d.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%q: %v", input, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%q: error %v, want %q", input, err, wantErr)
		}
	}
}
