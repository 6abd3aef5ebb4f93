package azure

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// The deployments list is asked with the api-version that has it, whatever
// the target's, and only succeeded deployments are kept.
func TestListModelsDeployments(t *testing.T) {
	fake := fakeupstream.NewModelList(t, fakeupstream.ListAzure).RequireKey("az-key")
	fake.SetListed(
		fakeupstream.ListedModel{ID: "prod-gpt4o"},
		fakeupstream.ListedModel{ID: "being-made", Status: "running"},
		fakeupstream.ListedModel{ID: "embed-small"},
	)
	u := &llm.Upstream{BaseURL: fake.BaseURL(), APIKey: "az-key", APIVersion: DefaultAPIVersion}
	got, err := Provider{}.ListModels(context.Background(), u, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"prod-gpt4o", "embed-small"}) {
		t.Fatalf("deployments %v", got)
	}
	r := fake.Last()
	q, _ := url.ParseQuery(r.Query)
	if r.Path != "/openai/deployments" || q.Get("api-version") != DeploymentsAPIVersion || r.Header.Get("Api-Key") != "az-key" {
		t.Fatalf("request %s?%s %v", r.Path, r.Query, r.Header)
	}
}
