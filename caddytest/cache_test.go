package integration

// SPEC 12: the response cache through a real Caddy, for every inbound API
// with the real SDKs (stored whole and replayed as a stream, stored as a
// stream and assembled), keys, Cache-Control, failed and cancelled
// streams, identical requests at once, the memory bound, and two Caddy
// processes sharing a real redis-server.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"google.golang.org/genai"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// cacheTargets is one target of each wire format, the fakes' prefixes
// routing to them.
func cacheTargets(oa, ant, gem *fakeupstream.Server) string {
	return fmt.Sprintf(`
		retries 0
		target oa {
			base_url %s
			api_key sk-oa
			models gpt-*
		}
		target ant {
			provider anthropic
			base_url %s
			api_key sk-ant
			models claude-*
		}
		target gem {
			provider gemini
			base_url %s
			api_key gem-key
			models gemini-*
		}`, oa.BaseURL(), ant.URL, gem.URL)
}

// cacheAPI drives one inbound API through its SDK.
type cacheAPI struct {
	name   string
	up     *fakeupstream.Server
	target string
	// header names the headers the SDK sends that are part of the key
	// (Anthropic's, which the router forwards).
	header []string
	// auth is the SDK's client key as it sends it: without router keys,
	// the client's key is part of the cache key.
	auth []string
	// call asks prompt through the SDK, streamed or not; it returns the
	// answer as comparable JSON and the router's X-LLM-Cache (for SDKs
	// that show headers; "" otherwise).
	call func(t *testing.T, prompt string, streamed bool) (answer, cache string)
	// raw is the HTTP path of a request, streamed or not.
	path func(streamed bool) string
}

// TestCacheEveryAPI: per inbound API, an answer stored whole is a hit for
// the same request, streamed or not (replayed as the API's events, which
// the SDK accumulates into the same answer), and an answer stored as a
// stream is a hit for both too (assembled into the API's whole answer);
// the hits reach no upstream.
func TestCacheEveryAPI(t *testing.T) {
	oa, ant, gem := fakeupstream.NewOpenAI(t, "oa"), fakeupstream.NewAnthropic(t, "ant"), fakeupstream.NewGemini(t, "gem")
	load(t, router(cacheTargets(oa, ant, gem)+"\n cache 10m"))
	ups := []*fakeupstream.Server{oa, ant, gem}
	calls := func() int {
		n := 0
		for _, u := range ups {
			n += u.Count()
		}
		return n
	}
	for _, api := range cacheAPIs(t, oa, ant, gem) {
		for _, storedStream := range []bool{false, true} {
			name := api.name + map[bool]string{false: "/stored-whole", true: "/stored-stream"}[storedStream]
			t.Run(name, func(t *testing.T) {
				prompt := "cache me " + randomMarker()
				before := calls()
				first, cache := api.call(t, prompt, storedStream)
				if cache != "" && cache != "miss" {
					t.Errorf("first request: X-LLM-Cache %q, want miss", cache)
				}
				if calls() != before+1 {
					t.Fatalf("%d upstream calls for the first request", calls()-before)
				}
				// The exact body the SDK sent, as the upstream received it
				// (passed through byte for byte).
				body := string(api.up.Last().Body)
				header := api.auth
				for _, h := range api.header {
					if v := api.up.Last().Header.Get(h); v != "" {
						header = append(header, h, v)
					}
				}
				for _, streamed := range []bool{storedStream, !storedStream} {
					again, cache := api.call(t, prompt, streamed)
					if cache != "" && cache != "hit" {
						t.Errorf("streamed=%v: X-LLM-Cache %q, want hit", streamed, cache)
					}
					if again != first {
						t.Errorf("streamed=%v: the hit's answer differs:\n got %s\nwant %s", streamed, again, first)
					}
				}
				// The raw answer of a hit carries the cache's headers.
				r := do(t, api.path(storedStream), body, append([]string{"Content-Type", "application/json"}, header...)...)
				expectStatus(t, r, 200)
				if r.Header.Get("X-LLM-Cache") != "hit" || r.Header.Get("X-LLM-Attempts") != "0" || r.Header.Get("X-LLM-Target") != api.target {
					t.Errorf("hit headers %v", r.Header)
				}
				if calls() != before+1 {
					t.Errorf("%d upstream calls in all, want 1: the hits reached an upstream", calls()-before)
				}
			})
		}
	}
}

// cacheAPIs are the four inbound APIs through their SDKs.
func cacheAPIs(t *testing.T, oa, ant, gem *fakeupstream.Server) []cacheAPI {
	oaiClient := sdkClient(base + "/v1/")
	antClient := anthropicClient()
	gClient := gapiClient(t)
	respClient := responsesSDK()
	asJSON := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	return []cacheAPI{
		{
			name: "openai", up: oa, target: "oa", auth: []string{"Authorization", "Bearer sk-client-key"},
			path: func(bool) string { return "/v1/chat/completions" },
			call: func(t *testing.T, prompt string, streamed bool) (string, string) {
				ctx, cancel := context.WithTimeout(context.Background(), within)
				defer cancel()
				params := openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}}
				var raw *http.Response
				if !streamed {
					resp, err := oaiClient.Chat.Completions.New(ctx, params, option.WithResponseInto(&raw))
					if err != nil {
						t.Fatal(err)
					}
					return asJSON([]any{resp.Choices[0].Message.Content, resp.Choices[0].FinishReason, resp.ID}), raw.Header.Get("X-LLM-Cache")
				}
				s := oaiClient.Chat.Completions.NewStreaming(ctx, params, option.WithResponseInto(&raw))
				defer s.Close()
				var acc openai.ChatCompletionAccumulator
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				return asJSON([]any{acc.Choices[0].Message.Content, acc.Choices[0].FinishReason, acc.ID}), raw.Header.Get("X-LLM-Cache")
			},
		},
		{
			name: "anthropic", up: ant, target: "ant", header: []string{"Anthropic-Version", "Anthropic-Beta"},
			auth: []string{"X-Api-Key", "sk-client-key"},
			path: func(bool) string { return "/v1/messages" },
			call: func(t *testing.T, prompt string, streamed bool) (string, string) {
				// With a tool offered, the fake answers with text and a
				// tool call: both kinds of block are replayed.
				params := anthropic.MessageNewParams{
					Model: "claude-sonnet-4-5", MaxTokens: 256,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
					Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
						Name: "get_weather", InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}},
					}}},
				}
				var raw *http.Response
				var msg *anthropic.Message
				ctx, cancel := context.WithTimeout(context.Background(), within)
				defer cancel()
				if !streamed {
					m, err := antClient.Messages.New(ctx, params, anthropicoption.WithResponseInto(&raw))
					if err != nil {
						t.Fatal(err)
					}
					msg = m
				} else {
					s := antClient.Messages.NewStreaming(ctx, params, anthropicoption.WithResponseInto(&raw))
					defer s.Close()
					msg = &anthropic.Message{}
					for s.Next() {
						if err := msg.Accumulate(s.Current()); err != nil {
							t.Fatal(err)
						}
					}
					if err := s.Err(); err != nil {
						t.Fatal(err)
					}
				}
				var blocks []any
				for _, b := range msg.Content {
					blocks = append(blocks, []any{b.Type, b.Text, b.Name, string(b.Input)})
				}
				if len(msg.Content) < 2 {
					t.Errorf("the fake's answer has %d blocks, want text and tool_use", len(msg.Content))
				}
				return asJSON([]any{msg.ID, blocks, msg.StopReason, msg.Usage.OutputTokens}), raw.Header.Get("X-LLM-Cache")
			},
		},
		{
			name: "responses", up: oa, target: "oa", auth: []string{"Authorization", "Bearer sk-client-key"},
			path: func(bool) string { return "/v1/responses" },
			call: func(t *testing.T, prompt string, streamed bool) (string, string) {
				params := responses.ResponseNewParams{Model: "gpt-4o-mini", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(prompt)}}
				var resp *responses.Response
				var header string
				if streamed {
					resp = sdkTurn(t, respClient, params, true)
				} else {
					ctx, cancel := context.WithTimeout(context.Background(), within)
					defer cancel()
					var raw *http.Response
					r, err := respClient.Responses.New(ctx, params, option.WithResponseInto(&raw))
					if err != nil {
						t.Fatal(err)
					}
					resp, header = r, raw.Header.Get("X-LLM-Cache")
				}
				return asJSON([]any{resp.ID, resp.OutputText(), resp.Status, resp.Usage.OutputTokens}), header
			},
		},
		{
			name: "gemini", up: gem, target: "gem", auth: []string{"X-Goog-Api-Key", "AIza-client-key"},
			path: func(streamed bool) string {
				if streamed {
					return "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
				}
				return "/v1beta/models/gemini-2.5-flash:generateContent"
			},
			call: func(t *testing.T, prompt string, streamed bool) (string, string) {
				resp := generate(t, gClient, "gemini-2.5-flash", genai.Text(prompt), nil, streamed)
				return asJSON([]any{resp.Text(), resp.Candidates[0].FinishReason, resp.UsageMetadata.CandidatesTokenCount}), ""
			},
		},
	}
}
