package integration

// Router keys with the Gemini API: the key as the Gen AI SDKs send it
// (x-goog-api-key, ?key=), refusals in Google's shape, the models list
// filtered, the client's key never sent upstream.

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"google.golang.org/genai"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

const gapiRouterKey = "sk-llmr-gemini-client-key-0123456789"

func TestGeminiAPIKeys(t *testing.T) {
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, router(`
		retries 0
		target gem {
			provider gemini
			base_url `+gem.URL+`
			api_key `+gapiKey+`
			models gemini-* other-*
		}
		model fast {
			to gem gemini-2.5-flash
		}
		key `+gapiRouterKey+` {
			name gem-user
			models fast gemini-*
		}`))
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	contents := []*genai.Content{genai.NewContentFromText("hi", genai.RoleUser)}

	c, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: gapiRouterKey, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: base}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Models.GenerateContent(ctx, "fast", contents, nil); err != nil {
		t.Fatal(err)
	}
	// The router's key for the client, the target's key upstream.
	geminiUpstream(t, gem, "/v1beta/models/gemini-2.5-flash:generateContent", gapiKey)

	var apiErr genai.APIError
	_, err = c.Models.GenerateContent(ctx, "other-model", contents, nil)
	if !errors.As(err, &apiErr) || apiErr.Code != 403 || apiErr.Status != "PERMISSION_DENIED" {
		t.Fatalf("forbidden model: %v", err)
	}
	wrong, _ := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "sk-wrong-key-000000000000", Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: base}})
	_, err = wrong.Models.GenerateContent(ctx, "fast", contents, nil)
	if !errors.As(err, &apiErr) || apiErr.Code != 401 || apiErr.Status != "UNAUTHENTICATED" {
		t.Fatalf("wrong key: %v", err)
	}
	if gem.Count() != 1 {
		t.Fatalf("%d upstream requests", gem.Count())
	}

	// The key in the query, as some REST clients send it.
	r := send(t, ctx, http.MethodPost, "/v1beta/models/fast:countTokens?key="+gapiRouterKey, `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	expectStatus(t, r, 200)
	if r.json("totalTokens").Int() != fakeupstream.GeminiCountTokens {
		t.Fatalf("%s", r.Body)
	}

	// The models list shows what the key may use, and refuses strangers.
	r = get(t, "/v1beta/models", "x-goog-api-key", gapiRouterKey)
	expectStatus(t, r, 200)
	if r.json("models.#").Int() != 1 || r.json("models.0.name").Str != "models/fast" {
		t.Fatalf("%s", r.Body)
	}
	expectGeminiError(t, get(t, "/v1beta/models"), 401, "UNAUTHENTICATED")
}
