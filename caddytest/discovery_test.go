package integration

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/discovery"
	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// listedIDs is what GET <prefix>/v1/models lists, in order.
func listedIDs(t *testing.T, prefix string) []string {
	t.Helper()
	r := get(t, prefix+"/v1/models")
	expectStatus(t, r, http.StatusOK)
	var ids []string
	for _, m := range r.json("data").Array() {
		ids = append(ids, m.Get("id").String())
	}
	return ids
}

// waitListed waits until GET <prefix>/v1/models lists every one of want.
func waitListed(t *testing.T, prefix string, want ...string) []string {
	t.Helper()
	var ids []string
	eventually(t, 10*time.Second, func() bool {
		ids = listedIDs(t, prefix)
		for _, w := range want {
			if !slices.Contains(ids, w) {
				return false
			}
		}
		return true
	}, "the models list to show "+strings.Join(want, ", "))
	return ids
}

// discoveryEntries are the discovery sources reported for target.
func discoveryEntries(target string) int {
	n := 0
	for _, s := range discovery.Report() {
		if s.Target == target {
			n++
		}
	}
	return n
}

// Each wire format's list endpoint is read with the target's own auth,
// every page of it (Anthropic and Gemini in three pages), and the models
// list shows the discovered models after every written one, target by
// target.
func TestDiscoveryEachWireFormat(t *testing.T) {
	oa := fakeupstream.NewModelList(t, fakeupstream.ListOpenAI, "gpt-4o", "gpt-4o-mini").RequireKey("sk-disc-oa")
	az := fakeupstream.NewModelList(t, fakeupstream.ListAzure).RequireKey("disc-az-key")
	az.SetListed(fakeupstream.ListedModel{ID: "prod-4o"}, fakeupstream.ListedModel{ID: "being-made", Status: "running"}, fakeupstream.ListedModel{ID: "embed-small"})
	claudes := []string{"claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-haiku"}
	an := fakeupstream.NewModelList(t, fakeupstream.ListAnthropic, claudes...).PageSize(2).RequireKey("sk-ant-disc")
	ge := fakeupstream.NewModelList(t, fakeupstream.ListGemini).PageSize(2).RequireKey("disc-g-key")
	ge.SetListed(
		fakeupstream.ListedModel{ID: "gemini-2.5-pro"},
		fakeupstream.ListedModel{ID: "imagen-4.0-generate-001", Methods: []string{"predict"}},
		fakeupstream.ListedModel{ID: "gemini-2.5-flash"},
		fakeupstream.ListedModel{ID: "gemini-embedding-001", Methods: []string{"embedContent"}},
		fakeupstream.ListedModel{ID: "gemini-2.0-flash"},
	)
	load(t, router(`
		target disc-oa {
			base_url `+oa.BaseURL()+`
			api_key sk-disc-oa
			model_map oa-written gpt-4o
			discover
		}
		target disc-az {
			provider azure
			base_url `+az.BaseURL()+`
			api_key disc-az-key
			discover
		}
		target disc-an {
			provider anthropic
			base_url `+an.BaseURL()+`
			api_key sk-ant-disc
			discover
		}
		target disc-ge {
			provider gemini
			base_url `+ge.BaseURL()+`
			api_key disc-g-key
			discover
		}
		model fast {
			to disc-oa gpt-4o-mini
		}`))
	want := append([]string{"fast", "oa-written", "gpt-4o", "gpt-4o-mini", "prod-4o", "embed-small"}, claudes...)
	want = append(want, "gemini-2.5-pro", "gemini-2.5-flash", "gemini-embedding-001", "gemini-2.0-flash")
	ids := waitListed(t, "", want...)
	if !slices.Equal(ids, want) {
		t.Fatalf("models list\n%v\nwant\n%v", ids, want)
	}
	if an.Count() != 3 || ge.Count() != 3 || an.Listings() != 1 || ge.Listings() != 1 || oa.Count() != 1 || az.Count() != 1 {
		t.Fatalf("list requests: anthropic %d (%d listings), gemini %d (%d listings), openai %d, azure %d",
			an.Count(), an.Listings(), ge.Count(), ge.Listings(), oa.Count(), az.Count())
	}
	if r := an.Last(); r.Header.Get("X-Api-Key") != "sk-ant-disc" || r.Header.Get("Anthropic-Version") != "2023-06-01" || !strings.Contains(r.Query, "after_id=claude-3-7-sonnet") {
		t.Errorf("anthropic's last page: %s %v", r.Query, r.Header)
	}
	if r := ge.Last(); r.Path != "/v1beta/models" || !strings.Contains(r.Query, "pageToken=") || r.Header.Get("X-Goog-Api-Key") != "disc-g-key" {
		t.Errorf("gemini's last page: %s?%s", r.Path, r.Query)
	}
	if r := az.Last(); !strings.Contains(r.Query, "api-version=2023-03-15-preview") || r.Header.Get("Api-Key") != "disc-az-key" {
		t.Errorf("azure's list: %s", r.Query)
	}
	// Each entry is owned by its target; Gemini clients see them too.
	r := get(t, "/v1/models")
	if o := r.json(`data.#(id=="claude-3-5-haiku").owned_by`).String(); o != "disc-an" {
		t.Errorf("claude-3-5-haiku owned by %q", o)
	}
	r = get(t, "/v1beta/models")
	if !r.json(`models.#(name=="models/gemini-2.0-flash")`).Exists() || r.json(`models.#(name=="models/imagen-4.0-generate-001")`).Exists() {
		t.Errorf("gemini list: %.400s", r.Body)
	}
}

// A discovered model that no pattern names is served by its target (a
// target with only discovered models), answers GET /v1/models/{id}, and a
// model added upstream later is served once the next fetch finds it, in
// place of the group cached for it before.
func TestDiscoveryServesDiscoveredModel(t *testing.T) {
	chatUp := fakeupstream.NewOpenAI(t, "disc-chat")
	list := fakeupstream.NewModelList(t, fakeupstream.ListOpenAI, "team-model-7").RequireKey("sk-disc-serve").Forward(chatUp)
	other := fakeupstream.NewOpenAI(t, "disc-other")
	load(t, router(`
		target disc-only {
			base_url `+list.BaseURL()+`
			api_key sk-disc-serve
			discover 20ms
		}
		target disc-late {
			base_url `+other.BaseURL()+`
			models late-*
		}
		strategy fallback
		retries 0`))
	waitListed(t, "", "team-model-7")

	r := do(t, "/v1/chat/completions", chat("team-model-7"))
	expectStatus(t, r, http.StatusOK)
	if r.Header.Get("X-LLM-Target") != "disc-only" || gjson.GetBytes(chatUp.Last().Body, "model").String() != "team-model-7" {
		t.Fatalf("answered by %s, upstream body %s", r.Header.Get("X-LLM-Target"), chatUp.Last().Body)
	}
	if got := chatUp.Last().Header.Get("Authorization"); got != "Bearer sk-disc-serve" {
		t.Fatalf("chat auth %q", got)
	}
	r = get(t, "/v1/models/team-model-7")
	expectStatus(t, r, http.StatusOK)
	if r.json("id").String() != "team-model-7" || r.json("owned_by").String() != "disc-only" {
		t.Fatalf("GET /v1/models/team-model-7: %s", r.Body)
	}
	// The target lists models now: it no longer serves any model.
	expectError(t, do(t, "/v1/chat/completions", chat("not-listed")), http.StatusNotFound, "model_not_found")
	expectError(t, get(t, "/v1/models/not-listed"), http.StatusNotFound, "model_not_found")

	// late-model: only disc-late's pattern serves it, and that group is
	// cached; once disc-only lists it too, it comes first.
	r = do(t, "/v1/chat/completions", chat("late-model"))
	if r.Status != http.StatusOK || r.Header.Get("X-LLM-Target") != "disc-late" {
		t.Fatalf("late-model before: %d by %s", r.Status, r.Header.Get("X-LLM-Target"))
	}
	list.SetModels("team-model-7", "late-model")
	waitListed(t, "", "late-model")
	r = do(t, "/v1/chat/completions", chat("late-model"))
	if r.Status != http.StatusOK || r.Header.Get("X-LLM-Target") != "disc-only" {
		t.Fatalf("late-model after discovery: %d by %s (a stale cached group?)", r.Status, r.Header.Get("X-LLM-Target"))
	}
	// And a model gone upstream is gone here.
	list.SetModels("late-model")
	eventually(t, 10*time.Second, func() bool { return !slices.Contains(listedIDs(t, ""), "team-model-7") }, "team-model-7 to leave the list")
	expectError(t, do(t, "/v1/chat/completions", chat("team-model-7")), http.StatusNotFound, "model_not_found")
}

// The target's models patterns filter what is discovered; its non-glob
// entries are listed whether discovered or not.
func TestDiscoveryPatternsFilter(t *testing.T) {
	list := fakeupstream.NewModelList(t, fakeupstream.ListOpenAI, "o1", "gpt-4o", "babbage-002", "gpt-4o-mini").RequireKey("sk-disc-filter")
	load(t, router(`
		target disc-filter {
			base_url `+list.BaseURL()+`
			api_key sk-disc-filter
			models gpt-4o* fixed-name
			discover
		}`))
	ids := waitListed(t, "", "gpt-4o-mini")
	if want := []string{"fixed-name", "gpt-4o", "gpt-4o-mini"}; !slices.Equal(ids, want) {
		t.Fatalf("models %v, want %v", ids, want)
	}
	expectError(t, get(t, "/v1/models/o1"), http.StatusNotFound, "model_not_found")
	expectError(t, do(t, "/v1/chat/completions", chat("babbage-002")), http.StatusNotFound, "model_not_found")
}

// A failing list endpoint does not fail the config; a later failure keeps
// the last list; the dashboard's status shows each target's last error,
// never its key.
func TestDiscoveryFailureKeepsLastList(t *testing.T) {
	const badKey = "sk-ant-disc-wrong-key-123"
	good := fakeupstream.NewModelList(t, fakeupstream.ListAnthropic, "claude-kept-a", "claude-kept-b").RequireKey("sk-ant-disc-ok")
	broken := fakeupstream.NewModelList(t, fakeupstream.ListAnthropic, "never-listed").RequireKey("sk-ant-disc-right")
	load(t, `llm_dashboard /dashboard*
llm_router {
	target disc-flaky {
		provider anthropic
		base_url `+good.BaseURL()+`
		api_key sk-ant-disc-ok
		discover 20ms
	}
	target disc-broken {
		provider anthropic
		base_url `+broken.BaseURL()+`
		api_key `+badKey+`
		models claude-broken-*
		discover
	}
}`)
	waitListed(t, "", "claude-kept-a", "claude-kept-b")

	status := func() gjson.Result { return get(t, "/dashboard/api/status").json("discovery") }
	eventually(t, 10*time.Second, func() bool {
		return status().Get(`#(target=="disc-broken").last_error`).String() == "GET /v1/models: 401 Unauthorized"
	}, "the dashboard to show disc-broken's 401")
	st := status()
	if b := st.Get(`#(target=="disc-broken")`); b.Get("models").Int() != 0 || b.Get("last_fetch").Type == gjson.Null {
		t.Fatalf("disc-broken status %s", b.Raw)
	}
	if f := st.Get(`#(target=="disc-flaky")`); f.Get("models").Int() != 2 || f.Get("last_error").String() != "" {
		t.Fatalf("disc-flaky status %s", f.Raw)
	}

	good.FailAlways(http.StatusServiceUnavailable)
	n := good.Count()
	if !good.WaitRequests(n+3, 10*time.Second) {
		t.Fatal("no further fetches")
	}
	eventually(t, 10*time.Second, func() bool {
		return status().Get(`#(target=="disc-flaky").last_error`).String() == "GET /v1/models: 503 Service Unavailable"
	}, "the dashboard to show disc-flaky's 503")
	if f := status().Get(`#(target=="disc-flaky")`); f.Get("models").Int() != 2 {
		t.Fatalf("disc-flaky status after failures %s", f.Raw)
	}
	if ids := listedIDs(t, ""); !slices.Equal(ids, []string{"claude-kept-a", "claude-kept-b"}) {
		t.Fatalf("after failed fetches the list is %v", ids)
	}
	if body := string(get(t, "/dashboard/api/status").Body); strings.Contains(body, badKey) || strings.Contains(body, "sk-ant-disc-ok") {
		t.Fatal("the status shows a key")
	}

	good.FailAlways(0)
	eventually(t, 10*time.Second, func() bool {
		return status().Get(`#(target=="disc-flaky").last_error`).String() == ""
	}, "disc-flaky to recover")
}

// A list endpoint that holds its answer does not hold the config load:
// load returns with the request still in flight, the router serves, and
// the list appears once the answer comes.
func TestDiscoverySlowListDoesNotDelayLoad(t *testing.T) {
	list := fakeupstream.NewModelList(t, fakeupstream.ListGemini, "gemini-slow-1").RequireKey("g-disc-slow")
	release := list.Hold()
	defer release()
	load(t, router(`
		target disc-slow {
			provider gemini
			base_url `+list.BaseURL()+`
			api_key g-disc-slow
			discover
		}
		target disc-mock {
			provider mock
			models echo
		}`))
	if !list.WaitRequests(1, 10*time.Second) {
		t.Fatal("no list request")
	}
	held := list.Last()
	select {
	case <-held.Gone:
		t.Fatal("the held list request ended")
	default:
	}
	// Loaded and serving while the fetch is held.
	expectStatus(t, do(t, "/v1/chat/completions", chat("echo")), http.StatusOK)
	if ids := listedIDs(t, ""); !slices.Equal(ids, []string{"echo"}) {
		t.Fatalf("models before the list came %v", ids)
	}
	release()
	waitListed(t, "", "gemini-slow-1")
	if list.Count() != 1 {
		t.Fatalf("%d list requests, want 1", list.Count())
	}
}

// A reload while a fetch is in flight keeps the one source and its fetch
// (no second fetch); a config without the target stops the refresher and
// cancels its fetch in flight.
func TestDiscoveryReloadInFlight(t *testing.T) {
	list := fakeupstream.NewModelList(t, fakeupstream.ListOpenAI, "reload-1").RequireKey("sk-disc-reload")
	release := list.Hold()
	defer release()
	cfg := func(extra string) string {
		return router(`
		target disc-reload {
			base_url ` + list.BaseURL() + `
			api_key sk-disc-reload
			discover
		}
		` + extra)
	}
	load(t, cfg(""))
	if !list.WaitRequests(1, 10*time.Second) {
		t.Fatal("no list request")
	}
	held := list.Last()
	load(t, cfg("max_request_body 16MiB")) // a different config: a real reload
	if n := discoveryEntries("disc-reload"); n != 1 {
		t.Fatalf("%d sources for the target after the reload, want 1", n)
	}
	select {
	case <-held.Gone:
		t.Fatal("the reload cancelled the fetch in flight")
	default:
	}
	release()
	waitListed(t, "", "reload-1")
	if list.Count() != 1 {
		t.Fatalf("%d list requests, want 1", list.Count())
	}

	// Removed while fetching: a target of a new identity, held, then a
	// config without any discovery.
	release2 := list.Hold()
	defer release2()
	load(t, router(`
		target disc-reload-2 {
			base_url `+list.BaseURL()+`
			api_key sk-disc-reload
			discover 1h
		}`))
	if !list.WaitRequests(2, 10*time.Second) {
		t.Fatal("no list request for the second target")
	}
	held = list.Last()
	load(t, router(`
		target disc-none {
			provider mock
		}`))
	select {
	case <-held.Gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the fetch in flight outlived its config")
	}
	if n := discovery.Running(); n != 0 {
		t.Fatalf("%d refreshers still running", n)
	}
	if discoveryEntries("disc-reload-2")+discoveryEntries("disc-reload") != 0 {
		t.Fatal("sources of a removed config are still reported")
	}
}

// Two llm_router blocks naming the same upstream the same way fetch its
// list once, and both serve it.
func TestDiscoveryTwoRoutersShareFetch(t *testing.T) {
	list := fakeupstream.NewModelList(t, fakeupstream.ListAnthropic, "claude-shared").RequireKey("sk-ant-disc-share")
	block := `llm_router {
			target disc-shared {
				provider anthropic
				base_url ` + list.BaseURL() + `
				api_key sk-ant-disc-share
				discover
			}
		}`
	load(t, "handle_path /a/* {\n"+block+"\n}\nhandle_path /b/* {\n"+block+"\n}")
	waitListed(t, "/a", "claude-shared")
	waitListed(t, "/b", "claude-shared")
	if list.Listings() != 1 || discoveryEntries("disc-shared") != 1 {
		t.Fatalf("%d listings and %d sources, want 1 and 1", list.Listings(), discoveryEntries("disc-shared"))
	}
}
