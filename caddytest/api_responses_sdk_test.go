package integration

// The Responses API driven by the official OpenAI Go SDK
// (client.Responses.New and NewStreaming) through an openai target
// (passed through), an anthropic, a gemini and a mock target (translated),
// each with a two-turn function-call loop, streamed and not.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// responsesSDK is an OpenAI SDK client for the router, its own retries off
// so the test sees the router's behaviour.
func responsesSDK() openai.Client {
	return openai.NewClient(
		option.WithBaseURL(base+"/v1/"),
		option.WithAPIKey("sk-client-key"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: &http.Transport{}}),
		option.WithRequestTimeout(30*time.Second),
	)
}

// weatherTool is the function both turns declare.
var weatherTool = responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{
	Name:        "get_weather",
	Description: openai.String("The weather in a city."),
	Parameters: map[string]any{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required":   []string{"city"},
	},
	Strict: openai.Bool(false),
}}

// sdkTurn sends one request through the SDK, streamed or not, and returns
// the final response; for a stream it checks the events on the way: the
// sequence numbers, the order of each item's events, and that the deltas
// add up to the final output.
func sdkTurn(t *testing.T, c openai.Client, params responses.ResponseNewParams, streamed bool) *responses.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !streamed {
		var raw *http.Response
		resp, err := c.Responses.New(ctx, params, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatalf("Responses.New: %v", err)
		}
		if raw.Header.Get("X-LLM-Attempts") != "1" {
			t.Errorf("router headers %v", raw.Header)
		}
		return resp
	}
	s := c.Responses.NewStreaming(ctx, params)
	defer s.Close()
	var (
		final    *responses.Response
		seq      int64
		text     strings.Builder
		args     = map[string]*strings.Builder{}
		added    = map[int64]string{}
		finished = map[int64]bool{}
	)
	for s.Next() {
		ev := s.Current()
		if ev.SequenceNumber != seq {
			t.Fatalf("event %s has sequence_number %d, want %d", ev.Type, ev.SequenceNumber, seq)
		}
		seq++
		switch ev.Type {
		case "response.output_item.added":
			added[ev.OutputIndex] = ev.Item.ID
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.function_call_arguments.delta":
			if args[ev.ItemID] == nil {
				args[ev.ItemID] = &strings.Builder{}
			}
			args[ev.ItemID].WriteString(ev.Delta)
		case "response.output_item.done":
			if added[ev.OutputIndex] != ev.Item.ID || finished[ev.OutputIndex] {
				t.Fatalf("item %d done (%s) without being added, or twice", ev.OutputIndex, ev.Item.ID)
			}
			finished[ev.OutputIndex] = true
			if ev.Item.Type == "function_call" && (args[ev.Item.ID] == nil || args[ev.Item.ID].String() != ev.Item.Arguments.OfString) {
				t.Fatalf("argument deltas do not add up to %q", ev.Item.Arguments.OfString)
			}
		case "response.completed":
			r := ev.Response
			final = &r
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if final == nil {
		t.Fatal("the stream did not end with response.completed")
	}
	if final.OutputText() != text.String() {
		t.Fatalf("text deltas %q, final text %q", text.String(), final.OutputText())
	}
	if len(finished) != len(final.Output) {
		t.Fatalf("%d items done, %d in the final output", len(finished), len(final.Output))
	}
	return final
}

// responsesToolLoop runs a two-turn function-call loop with model: the first answer
// calls get_weather, the second (after its result) is text. It returns the
// call's id and the final text.
func responsesToolLoop(t *testing.T, c openai.Client, model string, streamed bool) (callID, text string) {
	t.Helper()
	question := responses.ResponseInputItemParamOfMessage("What is the weather in Paris?", responses.EasyInputMessageRoleUser)
	params := responses.ResponseNewParams{
		Model:        model,
		Instructions: openai.String("Use the tools."),
		Input:        responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{question}},
		Tools:        []responses.ToolUnionParam{weatherTool},
		Store:        openai.Bool(false),
	}
	first := sdkTurn(t, c, params, streamed)
	u := first.Usage
	if first.Status != "completed" || u.InputTokens == 0 || u.OutputTokens == 0 || u.TotalTokens != u.InputTokens+u.OutputTokens ||
		// The fakes' fixed figures; the mock counts words.
		!strings.HasPrefix(model, "mock") && (u.InputTokens != fakeupstream.FakePromptTokens || u.OutputTokens != fakeupstream.FakeCompletionTokens) {
		t.Fatalf("first answer: status %s, usage %+v", first.Status, u)
	}
	var call responses.ResponseFunctionToolCall
	for _, item := range first.Output {
		if item.Type == "function_call" {
			call = item.AsFunctionCall()
		}
	}
	if call.Name != "get_weather" || call.CallID == "" || !gjson.Valid(call.Arguments) || !gjson.Get(call.Arguments, "city").Exists() {
		t.Fatalf("no get_weather call in %+v", first.Output)
	}
	result := responses.ResponseInputItemParamOfFunctionCallOutput(`{"temperature":"18C"}`)
	result.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	params.Input.OfInputItemList = responses.ResponseInputParam{
		question,
		responses.ResponseInputItemParamOfFunctionCall(call.Arguments, call.CallID, call.Name),
		result,
	}
	second := sdkTurn(t, c, params, streamed)
	if second.Status != "completed" || second.OutputText() == "" {
		t.Fatalf("second answer: status %s, output %+v", second.Status, second.Output)
	}
	for _, item := range second.Output {
		if item.Type == "function_call" {
			t.Fatalf("the answer after the tool result calls again: %+v", item)
		}
	}
	return call.CallID, second.OutputText()
}

// toolLoopTargets is one target of each wire format, each serving its
// model family (gpt-*, claude-*, gemini-*), and a mock (mock-*) that calls
// get_weather for Paris when offered it.
func toolLoopTargets(gpt, claude, gem *fakeupstream.Server) string {
	return `
		target gpt {
			base_url ` + gpt.BaseURL() + `
			api_key sk-openai-upstream
			models gpt-*
		}
		target claude {
			provider anthropic
			base_url ` + claude.URL + `
			api_key sk-ant-upstream
			models claude-*
		}
		target gem {
			provider gemini
			base_url ` + gem.URL + `
			api_key sk-gemini-upstream
			models gemini-*
		}
		target local {
			provider mock
			mock_tool_call get_weather ` + "`" + `{"city":"Paris"}` + "`" + `
			models mock-*
		}`
}

func TestResponsesAPISDKToolLoop(t *testing.T) {
	gpt := fakeupstream.NewOpenAI(t, "gpt")
	claude := fakeupstream.NewAnthropic(t, "claude")
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, router(fast+toolLoopTargets(gpt, claude, gem)))
	c := responsesSDK()
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprintf("openai/stream=%v", streamed), func(t *testing.T) {
			callID, text := responsesToolLoop(t, c, "gpt-5", streamed)
			last := gjson.ParseBytes(gpt.Last().Body)
			if gpt.Last().Path != "/v1/responses" || last.Get("input.2.type").Str != "function_call_output" || last.Get("input.2.call_id").Str != callID {
				t.Fatalf("upstream %s body %s", gpt.Last().Path, last.Raw)
			}
			if !strings.HasPrefix(text, "Hello from") && text != "tok0 tok1 tok2 " {
				t.Fatalf("text %q", text)
			}
		})
		t.Run(fmt.Sprintf("anthropic/stream=%v", streamed), func(t *testing.T) {
			callID, text := responsesToolLoop(t, c, "claude-sonnet-4-5", streamed)
			last := gjson.ParseBytes(claude.Last().Body)
			if last.Get("system.0.text").Str != "Use the tools." || last.Get("tools.0.name").Str != "get_weather" {
				t.Fatalf("upstream body %s", last.Raw)
			}
			msgs := last.Get("messages").Array()
			if len(msgs) != 3 || msgs[1].Get("content.0.type").Str != "tool_use" || msgs[1].Get("content.0.id").Str != callID ||
				msgs[2].Get("content.0.type").Str != "tool_result" || msgs[2].Get("content.0.tool_use_id").Str != callID ||
				!strings.Contains(msgs[2].Get("content.0.content").Raw, "18C") {
				t.Fatalf("upstream messages %s", last.Get("messages").Raw)
			}
			if text == "" {
				t.Fatal("no text")
			}
		})
		t.Run(fmt.Sprintf("mock/stream=%v", streamed), func(t *testing.T) {
			// The mock calls the tool, then answers with its result.
			if _, text := responsesToolLoop(t, c, "mock-agent", streamed); text != `{"temperature":"18C"}` {
				t.Fatalf("text %q", text)
			}
		})
		t.Run(fmt.Sprintf("gemini/stream=%v", streamed), func(t *testing.T) {
			_, text := responsesToolLoop(t, c, "gemini-2.5-flash", streamed)
			last := gjson.ParseBytes(gem.Last().Body)
			contents := last.Get("contents").Array()
			if len(contents) != 3 || !contents[1].Get("parts.0.functionCall").Exists() || contents[2].Get("parts.0.functionResponse.name").Str != "get_weather" ||
				contents[2].Get("parts.0.functionResponse.response.temperature").Str != "18C" {
				t.Fatalf("upstream contents %s", last.Get("contents").Raw)
			}
			if !strings.Contains(gem.Last().Path, "gemini-2.5-flash") || text == "" {
				t.Fatalf("path %s, text %q", gem.Last().Path, text)
			}
		})
	}
}

// Reasoning and parallel calls of a translated stream reach the SDK as
// reasoning summary events and one function_call item each, in order.
func TestResponsesAPISDKReasoningAndParallelCalls(t *testing.T) {
	claude := fakeupstream.NewAnthropic(t, "claude")
	type obj = map[string]any
	claude.Script(fakeupstream.Step{SSE: []string{
		namedEvent("message_start", obj{"type": "message_start", "message": obj{"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-4", "content": []any{}, "stop_reason": nil, "usage": obj{"input_tokens": 40, "output_tokens": 1, "cache_read_input_tokens": 25}}}),
		namedEvent("content_block_start", obj{"type": "content_block_start", "index": 0, "content_block": obj{"type": "thinking", "thinking": ""}}),
		namedEvent("content_block_delta", obj{"type": "content_block_delta", "index": 0, "delta": obj{"type": "thinking_delta", "thinking": "Two cities, "}}) +
			namedEvent("content_block_delta", obj{"type": "content_block_delta", "index": 0, "delta": obj{"type": "thinking_delta", "thinking": "two calls."}}),
		namedEvent("content_block_delta", obj{"type": "content_block_delta", "index": 0, "delta": obj{"type": "signature_delta", "signature": "c2ln"}}) +
			namedEvent("content_block_stop", obj{"type": "content_block_stop", "index": 0}),
		namedEvent("content_block_start", obj{"type": "content_block_start", "index": 1, "content_block": obj{"type": "tool_use", "id": "toolu_paris", "name": "get_weather", "input": obj{}}}),
		namedEvent("content_block_delta", obj{"type": "content_block_delta", "index": 1, "delta": obj{"type": "input_json_delta", "partial_json": `{"city":`}}),
		namedEvent("content_block_delta", obj{"type": "content_block_delta", "index": 1, "delta": obj{"type": "input_json_delta", "partial_json": `"Paris"}`}}) +
			namedEvent("content_block_stop", obj{"type": "content_block_stop", "index": 1}),
		namedEvent("content_block_start", obj{"type": "content_block_start", "index": 2, "content_block": obj{"type": "tool_use", "id": "toolu_rome", "name": "get_weather", "input": obj{}}}) +
			namedEvent("content_block_delta", obj{"type": "content_block_delta", "index": 2, "delta": obj{"type": "input_json_delta", "partial_json": `{"city":"Rome"}`}}) +
			namedEvent("content_block_stop", obj{"type": "content_block_stop", "index": 2}),
		namedEvent("message_delta", obj{"type": "message_delta", "delta": obj{"stop_reason": "tool_use"}, "usage": obj{"output_tokens": 30}}) +
			namedEvent("message_stop", obj{"type": "message_stop"}),
	}})
	load(t, router(fast+`
		target claude {
			provider anthropic
			base_url `+claude.URL+`
			api_key sk-ant-upstream
		}`))
	c := responsesSDK()
	s := c.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
		Model:     "claude-opus-4",
		Input:     responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris and Rome?")},
		Tools:     []responses.ToolUnionParam{weatherTool},
		Reasoning: responses.ReasoningParam{Effort: responses.ReasoningEffortHigh},
	})
	defer s.Close()
	var types []string
	var reasoning strings.Builder
	var final responses.Response
	for s.Next() {
		ev := s.Current()
		types = append(types, ev.Type)
		if ev.Type == "response.reasoning_summary_text.delta" {
			reasoning.WriteString(ev.Delta)
		}
		if ev.Type == "response.completed" {
			final = ev.Response
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if reasoning.String() != "Two cities, two calls." {
		t.Fatalf("reasoning %q; events %v", reasoning.String(), types)
	}
	if len(final.Output) != 3 || final.Output[0].Type != "reasoning" || final.Output[0].AsReasoning().Summary[0].Text != "Two cities, two calls." {
		t.Fatalf("output %+v", final.Output)
	}
	for i, want := range []string{`{"city":"Paris"}`, `{"city":"Rome"}`} {
		call := final.Output[i+1].AsFunctionCall()
		if call.Arguments != want || call.CallID != []string{"toolu_paris", "toolu_rome"}[i] {
			t.Fatalf("call %d: %+v", i, call)
		}
	}
	u := final.Usage
	if u.InputTokens != 65 || u.InputTokensDetails.CachedTokens != 25 || u.OutputTokens != 30 {
		t.Fatalf("usage %+v", u)
	}
}
