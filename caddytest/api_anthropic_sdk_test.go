package integration

// The official Anthropic Go SDK against the router: a tool loop of two
// turns, streamed (with the SDK's accumulation) and not, through an
// anthropic target (native passthrough), an OpenAI-compatible, a Gemini and
// a mock target (translation). Each fake upstream answers in its own wire
// format.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// anthropicClient is an Anthropic SDK client for the router, its own
// retries off so the test sees the router's behaviour.
func anthropicClient() anthropic.Client {
	return anthropic.NewClient(
		option.WithBaseURL(base),
		option.WithAPIKey("sk-client-key"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: &http.Transport{}}),
		option.WithRequestTimeout(30*time.Second),
	)
}

// randomMarker is a fresh string a test can look for.
func randomMarker() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// openAIToolTurn scripts the fake OpenAI's answer that calls get_weather
// for Paris: a completion, or chunks with the arguments in pieces.
func openAIToolTurn(stream bool) fakeupstream.Step {
	if !stream {
		return fakeupstream.Step{Body: `{"id":"chatcmpl-t1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Let me look.","tool_calls":[{"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}`}
	}
	head := `data: {"id":"chatcmpl-t1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":`
	return fakeupstream.Step{SSE: []string{
		head + `{"role":"assistant","content":"Let me look."},"finish_reason":null}]}` + "\n\n",
		head + `{"tool_calls":[{"index":0,"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}` + "\n\n",
		head + `{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}` + "\n\n" +
			head + `{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}` + "\n\n",
		head + `{},"finish_reason":"tool_calls"}]}` + "\n\n",
		`data: {"id":"chatcmpl-t1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}` + "\n\n",
		"data: [DONE]\n\n",
	}}
}

// openAITextTurn scripts a final text answer.
func openAITextTurn(stream bool, text string) fakeupstream.Step {
	if !stream {
		return fakeupstream.Step{Body: `{"id":"chatcmpl-t2","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"` + text + `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":40,"completion_tokens":5,"total_tokens":45,"prompt_tokens_details":{"cached_tokens":16}}}`}
	}
	head := `data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":`
	half := len(text) / 2
	return fakeupstream.Step{SSE: []string{
		head + `{"role":"assistant","content":"` + text[:half] + `"},"finish_reason":null}]}` + "\n\n",
		head + `{"content":"` + text[half:] + `"},"finish_reason":null}]}` + "\n\n",
		head + `{},"finish_reason":"stop"}]}` + "\n\n" +
			`data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":5,"total_tokens":45,"prompt_tokens_details":{"cached_tokens":16}}}` + "\n\n",
		"data: [DONE]\n\n",
	}}
}

// anthropicSDKTurn runs one Messages call, streamed with the SDK's accumulation or
// not.
func anthropicSDKTurn(t *testing.T, c anthropic.Client, params anthropic.MessageNewParams, streamed bool) *anthropic.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !streamed {
		msg, err := c.Messages.New(ctx, params)
		if err != nil {
			t.Fatalf("Messages.New: %v", err)
		}
		return msg
	}
	s := c.Messages.NewStreaming(ctx, params)
	defer s.Close()
	msg := anthropic.Message{}
	events := 0
	for s.Next() {
		if err := msg.Accumulate(s.Current()); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
		events++
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream after %d events: %v", events, err)
	}
	return &msg
}

// TestAnthropicAPISDKToolLoop: for each target kind, streamed and not, the
// SDK asks for the weather, gets a tool call, sends the tool's result back
// and gets the final text; the upstream's second request carries the
// result in its own format.
func TestAnthropicAPISDKToolLoop(t *testing.T) {
	ant := fakeupstream.NewAnthropic(t, "ant")
	oai := fakeupstream.NewOpenAI(t, "oai")
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, router(`
		retries 0
		target claude {
			provider anthropic
			base_url `+ant.URL+`
			api_key sk-ant-secret
			models claude-*
		}
		target gpt {
			base_url `+oai.BaseURL()+`
			api_key sk-openai-secret
			models gpt-*
		}
		target gem {
			provider gemini
			base_url `+gem.URL+`
			api_key gemini-secret
			models gemini-*
		}
		target mock {
			provider mock
			mock_tool_call get_weather `+"`"+`{"city":"Paris"}`+"`"+`
			models mock-*
		}`))
	c := anthropicClient()
	for _, tc := range []struct {
		name, model string
		up          *fakeupstream.Server
		script      func(streamed bool, final string)
		city, final string // the tool input and final text the upstream gives
		// carries reports whether the upstream's request holds the tool result.
		carries func(body gjson.Result, result string) bool
	}{
		{
			name: "anthropic", model: "claude-sonnet-4-5", up: ant, city: "city-value",
			carries: func(b gjson.Result, result string) bool {
				last := b.Get("messages.@reverse.0")
				// The SDK sends the result as text blocks; the body passed unchanged.
				return last.Get("content.0.type").Str == "tool_result" && last.Get("content.0.content.0.text").Str == result
			},
		},
		{
			name: "openai", model: "gpt-4o", up: oai, city: "Paris",
			script: func(streamed bool, final string) {
				oai.Script(openAIToolTurn(streamed), openAITextTurn(streamed, final))
			},
			carries: func(b gjson.Result, result string) bool {
				last := b.Get("messages.@reverse.0")
				return last.Get("role").Str == "tool" && last.Get("tool_call_id").Str == "call_w1" && last.Get("content").Str == result
			},
		},
		{
			name: "gemini", model: "gemini-2.5-pro", up: gem, city: "fake",
			carries: func(b gjson.Result, result string) bool {
				return strings.Contains(b.Get("contents.@reverse.0.parts.0.functionResponse").Raw, result)
			},
		},
		// The mock answers a tool result with its text: the final answer
		// shows that the result reached the provider.
		{name: "mock", model: "mock-1", city: "Paris"},
	} {
		for _, streamed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, streamed), func(t *testing.T) {
				if tc.up != nil {
					tc.up.Reset()
				}
				final := "It is sunny " + randomMarker()
				if tc.script != nil {
					tc.script(streamed, final)
				}
				params := anthropic.MessageNewParams{
					Model:     anthropic.Model(tc.model),
					MaxTokens: 1024,
					System:    []anthropic.TextBlockParam{{Text: "You check the weather."}},
					Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
						Name:        "get_weather",
						Description: anthropic.String("Current weather of a city"),
						InputSchema: anthropic.ToolInputSchemaParam{
							Properties: map[string]any{"city": map[string]any{"type": "string"}},
							Required:   []string{"city"},
						},
					}}},
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))},
				}
				msg := anthropicSDKTurn(t, c, params, streamed)
				if msg.StopReason != anthropic.StopReasonToolUse || msg.Role != "assistant" {
					t.Fatalf("turn 1: stop %q: %s", msg.StopReason, msg.RawJSON())
				}
				var call *anthropic.ToolUseBlock
				for _, b := range msg.Content {
					if tu, ok := b.AsAny().(anthropic.ToolUseBlock); ok {
						call = &tu
					}
				}
				if call == nil || call.Name != "get_weather" || gjson.GetBytes(call.Input, "city").Str != tc.city || call.ID == "" {
					t.Fatalf("turn 1: no get_weather call: %s", msg.RawJSON())
				}
				if msg.Usage.InputTokens+msg.Usage.CacheReadInputTokens == 0 || msg.Usage.OutputTokens == 0 {
					t.Errorf("turn 1 usage %+v", msg.Usage)
				}

				result := "18°C and sunny " + randomMarker()
				params.Messages = append(params.Messages, msg.ToParam(),
					anthropic.NewUserMessage(anthropic.NewToolResultBlock(call.ID, result, false)))
				msg2 := anthropicSDKTurn(t, c, params, streamed)
				if tc.up == nil {
					final = result
				} else if !tc.carries(gjson.ParseBytes(tc.up.Last().Body), result) {
					t.Fatalf("the upstream's second request lacks the tool result:\n%s", tc.up.Last().Body)
				}
				var text strings.Builder
				for _, b := range msg2.Content {
					if tb, ok := b.AsAny().(anthropic.TextBlock); ok {
						text.WriteString(tb.Text)
					}
				}
				if msg2.StopReason != anthropic.StopReasonEndTurn || text.Len() == 0 {
					t.Fatalf("turn 2: stop %q: %s", msg2.StopReason, msg2.RawJSON())
				}
				if (tc.script != nil || tc.up == nil) && text.String() != final {
					t.Fatalf("turn 2 text %q, want %q", text.String(), final)
				}
				if msg2.Usage.OutputTokens == 0 {
					t.Errorf("turn 2 usage %+v", msg2.Usage)
				}
				if tc.up != nil && tc.up.Count() != 2 {
					t.Errorf("%d upstream requests", tc.up.Count())
				}
			})
		}
	}
}

// The SDK's CountTokens: passed through to an anthropic target, estimated
// for another.
func TestAnthropicAPISDKCountTokens(t *testing.T) {
	ant, oai := fakeupstream.NewAnthropic(t, "ant"), fakeupstream.NewOpenAI(t, "oai")
	load(t, apiAnthropicConfig(ant, oai, ""))
	c := anthropicClient()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	params := anthropic.MessageCountTokensParams{
		Model:    "claude-x",
		System:   anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("Be brief.")},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(strings.Repeat("word ", 100)))},
	}
	n, err := c.Messages.CountTokens(ctx, params)
	if err != nil || n.InputTokens != fakeupstream.FakeCountTokens {
		t.Fatalf("passthrough: %v %+v", err, n)
	}
	params.Model = "gpt-4o"
	n, err = c.Messages.CountTokens(ctx, params)
	// 509 bytes of text → 128 tokens, + 4 for the message.
	if err != nil || n.InputTokens != 132 {
		t.Fatalf("estimate: %v %+v", err, n)
	}
	expectCounts(t, map[*fakeupstream.Server]int{ant: 1, oai: 0})
}
