package anthropic

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// The Models API is read page after page: limit=1000 asked, after_id the
// previous page's last_id, until has_more is false.
func TestListModelsPages(t *testing.T) {
	ids := []string{"claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-haiku"}
	fake := fakeupstream.NewModelList(t, fakeupstream.ListAnthropic, ids...).PageSize(2).RequireKey("sk-ant")
	got, err := (&Provider{}).ListModels(context.Background(), &llm.Upstream{BaseURL: fake.BaseURL(), APIKey: "sk-ant"}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("models %v", got)
	}
	reqs := fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 pages", len(reqs))
	}
	wantAfter := []string{"", "claude-sonnet-4-5", "claude-3-7-sonnet"}
	for i, r := range reqs {
		q, _ := url.ParseQuery(r.Query)
		if q.Get("limit") != "1000" || q.Get("after_id") != wantAfter[i] {
			t.Errorf("page %d query %q", i, r.Query)
		}
		if r.Header.Get("X-Api-Key") != "sk-ant" || r.Header.Get("Anthropic-Version") != DefaultVersion {
			t.Errorf("page %d headers %v", i, r.Header)
		}
	}
}

// The target's api_version is sent as anthropic-version; an empty list is
// an empty result.
func TestListModelsVersionAndEmpty(t *testing.T) {
	fake := fakeupstream.NewModelList(t, fakeupstream.ListAnthropic)
	got, err := (&Provider{}).ListModels(context.Background(), &llm.Upstream{BaseURL: fake.BaseURL(), APIKey: "k", APIVersion: "2024-01-01"}, http.DefaultClient)
	if err != nil || len(got) != 0 {
		t.Fatalf("%v %v", got, err)
	}
	if v := fake.Last().Header.Get("Anthropic-Version"); v != "2024-01-01" {
		t.Fatalf("anthropic-version %q", v)
	}
	fake.FailNext(1, 529)
	if _, err := (&Provider{}).ListModels(context.Background(), &llm.Upstream{BaseURL: fake.BaseURL(), APIKey: "k"}, http.DefaultClient); err == nil || err.Error() != "GET /v1/models: 529" {
		t.Fatalf("error %v", err)
	}
}
