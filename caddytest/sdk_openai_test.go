package integration

// The router driven by the official OpenAI Go SDK as the client: chat,
// streaming chat (chunks arrive one by one), embeddings, models, errors.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// sdkClient is an OpenAI SDK client pointed at the router, as a user would
// configure it (base URL with /v1, the SDK's own retries off so the test
// sees the router's behaviour).
func sdkClient(baseURL string) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(baseURL),
		option.WithAPIKey("sk-client-key"),
		option.WithMaxRetries(0),
		// Its own transport: no idle connection left from an earlier config.
		option.WithHTTPClient(&http.Client{Transport: &http.Transport{}}),
		option.WithRequestTimeout(30*time.Second),
	)
}

func sdkConfig(up *fakeupstream.Server) string {
	return router(fast + upTarget("gpt", up, "models gpt-*") + `
		target local {
			provider mock
			models mock-chat text-embedding-mock
		}
		model smart {
			to gpt gpt-4o
		}`)
}

// Chat through the SDK: the answer, the router's headers, the client key
// forwarded to a target without api_key.
func TestSDKChat(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, sdkConfig(up))
	c := sdkClient(base + "/v1/")
	var raw *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "smart",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("Hello?")},
	}, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || !strings.HasPrefix(resp.Choices[0].Message.Content, "Hello from ") {
		t.Fatalf("choices %+v", resp.Choices)
	}
	if resp.Usage.PromptTokens != fakeupstream.FakePromptTokens || resp.Usage.CompletionTokens != fakeupstream.FakeCompletionTokens {
		t.Errorf("usage %+v", resp.Usage)
	}
	if raw.Header.Get("X-LLM-Target") != "gpt" || raw.Header.Get("X-LLM-Model") != "gpt-4o" || raw.Header.Get("X-LLM-Attempts") != "1" {
		t.Errorf("router headers: %v", raw.Header)
	}
	if got := upstreamModel(t, up, -1); got != "gpt-4o" {
		t.Errorf("upstream model %q", got)
	}
	if got := up.Last().Header.Get("Authorization"); got != "Bearer sk-client-key" {
		t.Errorf("upstream Authorization %q", got)
	}

	// The mock, through the same SDK, without /v1 in the base URL path
	// the SDK builds on (the router serves both).
	c2 := sdkClient(base + "/")
	resp, err = c2.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "mock-chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("echo me please")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "echo me please" || resp.Usage.CompletionTokens != 3 {
		t.Errorf("mock through the SDK: %q, usage %+v", resp.Choices[0].Message.Content, resp.Usage)
	}
}

// Streaming chat through the SDK: the first content chunk reaches the SDK
// before the upstream sends the second one.
func TestSDKStreamingChat(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	gate := make(chan struct{})
	up.Script(fakeupstream.Step{Gate: gate, Chunks: 3})
	load(t, sdkConfig(up))
	c := sdkClient(base + "/v1/")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pieces := make(chan string, 16)
	type end struct {
		acc openai.ChatCompletionAccumulator
		err error
	}
	ended := make(chan end, 1)
	go func() {
		// NewStreaming waits for the response headers: in the background
		// too, so that a router that holds them back fails the test below.
		stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         "gpt-4o-mini",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		defer stream.Close()
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			chunk := stream.Current()
			acc.AddChunk(chunk)
			if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
				pieces <- chunk.Choices[0].Delta.Content
			}
		}
		ended <- end{acc, stream.Err()}
	}()
	expectPiece := func(want string) {
		t.Helper()
		select {
		case p := <-pieces:
			if p != want {
				t.Fatalf("chunk %q, want %q", p, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("chunk %q did not reach the SDK before the upstream sent the next one", want)
		}
	}
	expectPiece(fakeupstream.StreamPiece(0))
	gate <- struct{}{}
	expectPiece(fakeupstream.StreamPiece(1))
	close(gate)
	expectPiece(fakeupstream.StreamPiece(2))
	var e end
	select {
	case e = <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end")
	}
	if e.err != nil {
		t.Fatalf("stream error: %v", e.err)
	}
	if got := e.acc.Choices[0].Message.Content; got != "tok0 tok1 tok2 " {
		t.Errorf("accumulated %q", got)
	}
	if e.acc.Usage.PromptTokens != fakeupstream.FakePromptTokens {
		t.Errorf("usage chunk not seen by the SDK: %+v", e.acc.Usage)
	}
}

// Embeddings through the SDK (mock provider: 256 floats, deterministic).
func TestSDKEmbeddings(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, sdkConfig(up))
	c := sdkClient(base + "/v1/")
	resp, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "text-embedding-mock",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha", "beta", "alpha"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 3 || len(resp.Data[0].Embedding) != 256 {
		t.Fatalf("embeddings: %d vectors", len(resp.Data))
	}
	same := func(x, y []float64) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return len(x) == len(y)
	}
	if !same(resp.Data[0].Embedding, resp.Data[2].Embedding) || same(resp.Data[0].Embedding, resp.Data[1].Embedding) {
		t.Errorf("embeddings not deterministic per input")
	}
	if resp.Usage.PromptTokens != 3 {
		t.Errorf("usage %+v", resp.Usage)
	}

	// And from an OpenAI-compatible upstream.
	resp, err = c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "gpt-embed",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 1 || len(resp.Data[0].Embedding) != 3 || up.Last().Path != "/v1/embeddings" {
		t.Errorf("upstream embeddings: %+v (path %s)", resp.Data, up.Last().Path)
	}
}

// Models through the SDK, in the order of SPEC 7.
func TestSDKModels(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, sdkConfig(up))
	c := sdkClient(base + "/v1/")
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids, owners []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		owners = append(owners, m.OwnedBy)
	}
	if strings.Join(ids, ",") != "smart,mock-chat,text-embedding-mock" || strings.Join(owners, ",") != "llm_router,local,local" {
		t.Errorf("models %v owned by %v", ids, owners)
	}
}

// A router error reaches the SDK as an *openai.Error with its status and
// code.
func TestSDKErrors(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, sdkConfig(up))
	c := sdkClient(base + "/v1/")
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "no-such-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an *openai.Error", err)
	}
	if apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("status %d code %q", apiErr.StatusCode, apiErr.Code)
	}
}
