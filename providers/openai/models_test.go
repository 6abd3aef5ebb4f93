package openai

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

func TestListModels(t *testing.T) {
	fake := fakeupstream.NewModelList(t, fakeupstream.ListOpenAI, "gpt-4o", "gpt-4o-mini", "o3").RequireKey("sk-list")
	u := &llm.Upstream{Name: "oa", BaseURL: fake.BaseURL(), APIKey: "sk-list", Header: http.Header{"Openai-Organization": {"org-1"}}}
	got, err := Provider{}.ListModels(context.Background(), u, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"gpt-4o", "gpt-4o-mini", "o3"}) {
		t.Fatalf("models %v", got)
	}
	r := fake.Last()
	if r.Header.Get("Authorization") != "Bearer sk-list" || r.Header.Get("OpenAI-Organization") != "org-1" || r.Method != http.MethodGet {
		t.Fatalf("request %s %v", r.Method, r.Header)
	}
}

// A refused list is an error naming the path and status, never the key.
func TestListModelsRefused(t *testing.T) {
	const key = "sk-wrong-key-5f3a"
	fake := fakeupstream.NewModelList(t, fakeupstream.ListOpenAI, "gpt-4o").RequireKey("sk-right")
	_, err := Provider{}.ListModels(context.Background(), &llm.Upstream{BaseURL: fake.BaseURL(), APIKey: key}, http.DefaultClient)
	var le *providers.ListError
	if !errors.As(err, &le) || le.Status != http.StatusUnauthorized || err.Error() != "GET /v1/models: 401 Unauthorized" {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), key) {
		t.Fatal("the error holds the key")
	}
}

// An answer that is not a list fails; so does a dead upstream, and a
// cancelled context ends a held request at once.
func TestListModelsFailures(t *testing.T) {
	fake := fakeupstream.NewModelList(t, fakeupstream.ListOpenAI)
	if _, err := (Provider{}).ListModels(context.Background(), &llm.Upstream{BaseURL: fake.URL, APIKey: "k"}, http.DefaultClient); err == nil {
		t.Fatal("a 404 (no /v1 in base_url) did not fail")
	}
	release := fake.Hold()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Provider{}.ListModels(ctx, &llm.Upstream{BaseURL: fake.BaseURL(), APIKey: "k"}, http.DefaultClient)
		done <- err
	}()
	if !fake.WaitRequests(1, 10*time.Second) {
		t.Fatal("the list request did not arrive")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled listing did not return")
	}
}

func TestListIDs(t *testing.T) {
	if _, err := ListIDs([]byte(`{"object":"list"}`), "/models", nil); err == nil {
		t.Fatal("a body without data passed")
	}
	got, err := ListIDs([]byte(`{"data":[{"id":"a"},{"id":7},{"name":"b"},{"id":"c"}]}`), "/models", nil)
	if err != nil || !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("%v %v", got, err)
	}
}
