package integration

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// An Azure target gets the deployment URL, the api-version and the api-key
// header, and the body as the client sent it (model aside).
func TestAzureDeploymentRequest(t *testing.T) {
	up := fakeupstream.NewAzure(t, "az")
	load(t, router(`
		target az {
			provider azure
			base_url `+up.URL+`/
			api_key az-secret-key
			model_map gpt-4o my-gpt4o-deployment
		}`))
	sdk := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("client-key"))
	res, err := sdk.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello azure")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Model != "my-gpt4o-deployment" || !strings.HasPrefix(res.Choices[0].Message.Content, "Hello from") {
		t.Fatalf("answer: %+v", res)
	}
	got := up.Last()
	if got.Path != "/openai/deployments/my-gpt4o-deployment/chat/completions" || got.Query != "api-version=2024-10-21" {
		t.Fatalf("upstream URL %s?%s", got.Path, got.Query)
	}
	if got.Header.Get("Api-Key") != "az-secret-key" || got.Header.Get("Authorization") != "" {
		t.Fatalf("upstream auth headers: api-key %q, authorization %q", got.Header.Get("Api-Key"), got.Header.Get("Authorization"))
	}
	if !strings.Contains(string(got.Body), `"model":"my-gpt4o-deployment"`) || !strings.Contains(string(got.Body), `"hello azure"`) {
		t.Fatalf("upstream body %s", got.Body)
	}
}

// Streams and embeddings go to the deployment's own paths; the configured
// api-version is used; usage comes back when the client asks for it.
func TestAzureStreamAndEmbeddings(t *testing.T) {
	up := fakeupstream.NewAzure(t, "az")
	load(t, router(`
		target az {
			provider azure
			base_url `+up.URL+`
			api_key az-secret-key
			api_version 2025-01-01-preview
		}`))
	sdk := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("client-key"))
	s := sdk.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:         "dep-1",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var text strings.Builder
	var usage int64
	for s.Next() {
		c := s.Current()
		if len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		}
		if c.Usage.TotalTokens > 0 {
			usage = c.Usage.TotalTokens
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "tok0 tok1 tok2 " || usage != fakeupstream.FakePromptTokens+fakeupstream.FakeCompletionTokens {
		t.Fatalf("stream text %q usage %d", text.String(), usage)
	}
	if q := up.Last().Query; q != "api-version=2025-01-01-preview" {
		t.Fatalf("api-version query %q", q)
	}

	emb, err := sdk.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "emb-dep",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 2 || up.Last().Path != "/openai/deployments/emb-dep/embeddings" {
		t.Fatalf("embeddings: %d vectors, path %s", len(emb.Data), up.Last().Path)
	}
}

// A missing base_url is a config error that names the target.
func TestAzureRequiresBaseURL(t *testing.T) {
	caddytestLoadError(t, router(`
		target az {
			provider azure
		}`), "needs base_url")
}
