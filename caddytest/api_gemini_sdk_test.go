package integration

// Google's Gen AI Go SDK (google.golang.org/genai, Gemini API backend) with
// the router as its base URL: a two-turn function-call loop, streamed and
// not, token counting and embeddings, through a gemini target (passed
// through), an OpenAI, an Anthropic and a mock target (translated).

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"google.golang.org/genai"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// gapiClient is a Gen AI SDK client whose base URL is the router.
func gapiClient(t *testing.T) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:      "AIza-client-key",
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: base},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var gapiWeather = []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
	Name:        "get_weather",
	Description: "The current weather in a city.",
	Parameters: &genai.Schema{
		Type:       genai.TypeObject,
		Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString, Description: "The city"}},
		Required:   []string{"city"},
	},
}}}}

// generate calls GenerateContent, or GenerateContentStream and merges the
// chunks into one answer as an application would: the parts in order
// (adjacent text joined), the last finish reason and usage.
func generate(t *testing.T, c *genai.Client, model string, contents []*genai.Content, cfg *genai.GenerateContentConfig, streamed bool) *genai.GenerateContentResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if !streamed {
		resp, err := c.Models.GenerateContent(ctx, model, contents, cfg)
		if err != nil {
			t.Fatalf("GenerateContent %s: %v", model, err)
		}
		return resp
	}
	merged := &genai.GenerateContentResponse{Candidates: []*genai.Candidate{{Content: &genai.Content{Role: genai.RoleModel}}}}
	chunks := 0
	for chunk, err := range c.Models.GenerateContentStream(ctx, model, contents, cfg) {
		if err != nil {
			t.Fatalf("GenerateContentStream %s: %v", model, err)
		}
		chunks++
		if chunk.UsageMetadata != nil {
			merged.UsageMetadata = chunk.UsageMetadata
		}
		merged.ModelVersion = chunk.ModelVersion
		if len(chunk.Candidates) == 0 {
			continue
		}
		cand := chunk.Candidates[0]
		if cand.FinishReason != "" {
			merged.Candidates[0].FinishReason = cand.FinishReason
		}
		if cand.Content == nil {
			continue
		}
		parts := &merged.Candidates[0].Content.Parts
		for _, p := range cand.Content.Parts {
			if n := len(*parts); n > 0 && p.Text != "" && p.FunctionCall == nil && p.ThoughtSignature == nil {
				if last := (*parts)[n-1]; last.FunctionCall == nil && last.Thought == p.Thought && last.Text != "" {
					last.Text += p.Text
					continue
				}
			}
			if p.Text == "" && p.FunctionCall == nil && p.ThoughtSignature == nil {
				continue
			}
			*parts = append(*parts, p)
		}
	}
	if chunks == 0 {
		t.Fatalf("%s: no chunk", model)
	}
	return merged
}

// toolLoop runs the two turns: the model calls get_weather, the client
// answers with the function's response, the model answers in text.
func toolLoop(t *testing.T, c *genai.Client, model string, streamed bool) (first, second *genai.GenerateContentResponse) {
	t.Helper()
	cfg := &genai.GenerateContentConfig{
		Tools:             gapiWeather,
		SystemInstruction: genai.NewContentFromText("Answer briefly.", genai.RoleUser),
		MaxOutputTokens:   200,
	}
	contents := []*genai.Content{genai.NewContentFromText("What is the weather in Paris?", genai.RoleUser)}
	first = generate(t, c, model, contents, cfg, streamed)
	calls := first.FunctionCalls()
	if len(calls) != 1 || calls[0].Name != "get_weather" {
		t.Fatalf("%s: calls %+v", model, calls)
	}
	if _, ok := calls[0].Args["city"].(string); !ok {
		t.Fatalf("%s: args %+v", model, calls[0].Args)
	}
	if first.Candidates[0].FinishReason != genai.FinishReasonStop || first.UsageMetadata == nil || first.UsageMetadata.PromptTokenCount == 0 {
		t.Fatalf("%s: finish %q usage %+v", model, first.Candidates[0].FinishReason, first.UsageMetadata)
	}
	contents = append(contents, first.Candidates[0].Content,
		genai.NewContentFromFunctionResponse("get_weather", map[string]any{"temperature_c": 21, "sky": "clear"}, genai.RoleUser))
	second = generate(t, c, model, contents, cfg, streamed)
	if second.Text() == "" || len(second.FunctionCalls()) != 0 || second.UsageMetadata == nil || second.UsageMetadata.CandidatesTokenCount == 0 {
		t.Fatalf("%s: second answer %+v", model, second)
	}
	return first, second
}

// The OpenAI fake's first answer calls get_weather (a whole answer, or
// chunks with the arguments in pieces); its second is its usual text.
func scriptOpenAIToolCall(oa *fakeupstream.Server, streamed bool) {
	if !streamed {
		oa.Script(fakeupstream.Step{Body: `{"id":"chatcmpl-t1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,` +
			`"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
			`"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":8,"total_tokens":38}}`})
		return
	}
	head := `data: {"id":"chatcmpl-t1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[`
	oa.Script(fakeupstream.Step{SSE: []string{
		head + `{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}` + "\n\n",
		head + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}` + "\n\n",
		head + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}` + "\n\n",
		head + `{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\n",
		head + `],"usage":{"prompt_tokens":30,"completion_tokens":8,"total_tokens":38}}` + "\n\ndata: [DONE]\n\n",
	}})
}

// gapiMock is a mock target that calls get_weather when offered.
const gapiMock = `
		target mock {
			provider mock
			mock_tool_call get_weather ` + "`" + `{"city":"Paris"}` + "`" + `
			models mock-*
		}`

func TestGeminiAPISDKToolLoop(t *testing.T) {
	gem, oa, ant := fakeupstream.NewGemini(t, "gem"), fakeupstream.NewOpenAI(t, "oa"), fakeupstream.NewAnthropic(t, "ant")
	load(t, gapiConfig(gem, oa, ant, gapiMock))
	c := gapiClient(t)
	for _, streamed := range []bool{false, true} {
		name := map[bool]string{false: "generate", true: "stream"}[streamed]

		t.Run("gemini/"+name, func(t *testing.T) {
			first, _ := toolLoop(t, c, "gemini-2.5-flash", streamed)
			if string(first.Candidates[0].Content.Parts[0].ThoughtSignature) != "fake-thought-signature" {
				t.Fatalf("thought signature %q", first.Candidates[0].Content.Parts[0].ThoughtSignature)
			}
			// The fake refuses a call without its signature: the second turn
			// passed, so it went back byte for byte; and the key was the
			// router's.
			req := geminiUpstream(t, gem, gem.Last().Path, gapiKey)
			if !strings.Contains(string(req.Body), `"functionResponse"`) || !strings.Contains(string(req.Body), fakeupstream.GeminiSignature) {
				t.Fatalf("second turn %s", req.Body)
			}
		})

		t.Run("openai/"+name, func(t *testing.T) {
			scriptOpenAIToolCall(oa, streamed)
			first, _ := toolLoop(t, c, "gpt-4o-mini", streamed)
			if id := first.FunctionCalls()[0].ID; id != "call_w1" {
				t.Fatalf("call id %q", id)
			}
			hub := gjson.ParseBytes(oa.Last().Body)
			msgs := hub.Get("messages").Array()
			if len(msgs) != 4 || msgs[0].Get("role").Str != "system" || msgs[2].Get("tool_calls.0.id").Str != "call_w1" ||
				msgs[2].Get("tool_calls.0.function.arguments").Str != `{"city":"Paris"}` ||
				msgs[3].Get("role").Str != "tool" || msgs[3].Get("tool_call_id").Str != "call_w1" ||
				gjson.Get(msgs[3].Get("content").Str, "temperature_c").Int() != 21 {
				t.Fatalf("second turn %s", oa.Last().Body)
			}
		})

		t.Run("mock/"+name, func(t *testing.T) {
			first, second := toolLoop(t, c, "mock-1", streamed)
			// The mock answers a tool result with its text.
			if first.FunctionCalls()[0].Args["city"] != "Paris" || gjson.Get(second.Text(), "temperature_c").Int() != 21 {
				t.Fatalf("call %+v, answer %q", first.FunctionCalls()[0], second.Text())
			}
		})

		t.Run("anthropic/"+name, func(t *testing.T) {
			first, _ := toolLoop(t, c, "claude-sonnet-4-5", streamed)
			id := first.FunctionCalls()[0].ID
			body := gjson.ParseBytes(ant.Last().Body)
			use := body.Get(`messages.1.content.#(type=="tool_use")`)
			result := body.Get(`messages.2.content.#(type=="tool_result")`)
			if id == "" || use.Get("id").Str != id || result.Get("tool_use_id").Str != id || body.Get("system").String() == "" {
				t.Fatalf("call id %q, second turn %s", id, ant.Last().Body)
			}
		})
	}
}

func TestGeminiAPISDKCountAndEmbed(t *testing.T) {
	gem, oa := fakeupstream.NewGemini(t, "gem"), fakeupstream.NewOpenAI(t, "oa")
	load(t, gapiConfig(gem, oa, nil, gapiMock))
	c := gapiClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	contents := []*genai.Content{genai.NewContentFromText(strings.Repeat("abcd", 10), genai.RoleUser)}

	count, err := c.Models.CountTokens(ctx, "fast", contents, nil)
	if err != nil || count.TotalTokens != fakeupstream.GeminiCountTokens {
		t.Fatalf("gemini count %+v %v", count, err)
	}
	count, err = c.Models.CountTokens(ctx, "gpt-4o-mini", contents, nil)
	if err != nil || count.TotalTokens != 10 || oa.Count() != 0 {
		t.Fatalf("estimated count %+v %v", count, err)
	}

	dims := int32(3)
	two := []*genai.Content{genai.NewContentFromText("a", genai.RoleUser), genai.NewContentFromText("b", genai.RoleUser)}
	for _, model := range []string{"embed", "text-embedding-004", "text-embedding-3-small"} {
		emb, err := c.Models.EmbedContent(ctx, model, two, &genai.EmbedContentConfig{OutputDimensionality: &dims})
		if err != nil || len(emb.Embeddings) != 2 || len(emb.Embeddings[1].Values) != 3 || emb.Embeddings[1].Values[2] != 1.5 {
			t.Fatalf("%s: %+v %v", model, emb, err)
		}
	}
	emb, err := c.Models.EmbedContent(ctx, "mock-embed", two, &genai.EmbedContentConfig{OutputDimensionality: &dims})
	if err != nil || len(emb.Embeddings) != 2 || len(emb.Embeddings[0].Values) != 3 {
		t.Fatalf("mock: %+v %v", emb, err)
	}
	if gem.Last().Path != "/v1beta/models/text-embedding-004:batchEmbedContents" || oa.Last().Path != "/v1/embeddings" {
		t.Fatalf("paths %s %s", gem.Last().Path, oa.Last().Path)
	}
}

// The SDK reads the router's errors as Google's APIError, status included.
func TestGeminiAPISDKErrors(t *testing.T) {
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, gapiConfig(gem, nil, nil, ""))
	c := gapiClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	contents := []*genai.Content{genai.NewContentFromText("hi", genai.RoleUser)}
	_, err := c.Models.GenerateContent(ctx, "no-such-model", contents, nil)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 404 || apiErr.Status != "NOT_FOUND" {
		t.Fatalf("got %v", err)
	}
	gem.Script(fakeupstream.Step{ErrorAfter: 1})
	var got error
	for _, err := range c.Models.GenerateContentStream(ctx, "fast", contents, nil) {
		if err != nil {
			got = err
			break
		}
	}
	if !errors.As(got, &apiErr) || apiErr.Code != 500 || apiErr.Message != "fake in-stream failure" {
		t.Fatalf("stream error %v", got)
	}
}
