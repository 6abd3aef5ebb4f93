package gemini

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// models.list is read page after page (pageToken = nextPageToken), names
// lose their models/ prefix, and models the router cannot call are left
// out.
func TestListModelsPages(t *testing.T) {
	fake := fakeupstream.NewModelList(t, fakeupstream.ListGemini).PageSize(2).RequireKey("g-key")
	fake.SetListed(
		fakeupstream.ListedModel{ID: "gemini-2.5-pro"},
		fakeupstream.ListedModel{ID: "imagen-4.0-generate-001", Methods: []string{"predict"}},
		fakeupstream.ListedModel{ID: "gemini-2.5-flash"},
		fakeupstream.ListedModel{ID: "gemini-embedding-001", Methods: []string{"embedContent", "countTextTokens"}},
		fakeupstream.ListedModel{ID: "aqa", Methods: []string{"generateAnswer"}},
	)
	u := &llm.Upstream{BaseURL: fake.BaseURL(), APIKey: "g-key", APIVersion: DefaultAPIVersion}
	got, err := Provider{}.ListModels(context.Background(), u, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"gemini-2.5-pro", "gemini-2.5-flash", "gemini-embedding-001"}; !slices.Equal(got, want) {
		t.Fatalf("models %v, want %v", got, want)
	}
	reqs := fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 pages", len(reqs))
	}
	seen := map[string]bool{}
	for i, r := range reqs {
		q, _ := url.ParseQuery(r.Query)
		if r.Path != "/v1beta/models" || q.Get("pageSize") != "1000" || q.Has("key") {
			t.Errorf("page %d: %s?%s", i, r.Path, r.Query)
		}
		if r.Header.Get("X-Goog-Api-Key") != "g-key" {
			t.Errorf("page %d without the key header", i)
		}
		// The first page has no token; each later one a new token (the
		// previous page's nextPageToken, which the fake checks).
		tok := q.Get("pageToken")
		if (i == 0) != (tok == "") || seen[tok] {
			t.Errorf("page %d token %q", i, tok)
		}
		seen[tok] = true
	}
}

// The path version is the target's api_version.
func TestListModelsVersion(t *testing.T) {
	fake := fakeupstream.NewModelList(t, fakeupstream.ListGemini, "gemini-2.5-flash")
	got, err := Provider{}.ListModels(context.Background(), &llm.Upstream{BaseURL: fake.BaseURL(), APIKey: "k", APIVersion: "v1"}, http.DefaultClient)
	if err != nil || !slices.Equal(got, []string{"gemini-2.5-flash"}) || fake.Last().Path != "/v1/models" {
		t.Fatalf("%v %v %s", got, err, fake.Last().Path)
	}
	if _, err := (Provider{}).ListModels(context.Background(), &llm.Upstream{BaseURL: fake.BaseURL(), APIVersion: "v1"}, http.DefaultClient); err == nil || err.Error() != "GET /v1/models: 403 Forbidden" {
		t.Fatalf("without a key: %v", err)
	}
}
