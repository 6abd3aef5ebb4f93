package integration

// The real OpenAI Codex CLI (pinned in caddytest/agents) driven through the
// router's Responses API, fully offline: `codex exec` with a model provider
// whose base_url is the router's /v1 and wire_api "responses". Through an
// openai target (passed through), an anthropic and a gemini target
// (translated), the upstream's first answer asks for Codex's exec_command
// tool; Codex runs the command, sends its output in the next request, and
// prints the model's final answer. The mock provider plays the same loop
// without any upstream.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// codexBinary is the pinned Codex CLI; the test fails, saying how to get
// it, when it is missing.
func codexBinary(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("agents", "node_modules", ".bin", "codex"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the Codex CLI is missing (%v): install the pinned agent CLIs with `cd caddytest/agents && npm ci`", err)
	}
	return p
}

// codexConfig is a Codex config.toml for model through the router: a
// model provider on the router's /v1 speaking the Responses API, the key
// from LLM_ROUTER_KEY, commands run without approval or sandbox (the test
// runs them in a temporary directory), no retries and no update check.
// Web search stays at Codex's default: the router leaves that built-in
// tool out for targets that cannot run it.
func codexConfig(model string) string {
	return fmt.Sprintf(`model = %q
model_provider = "llm_router"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[model_providers.llm_router]
name = "llm_router"
base_url = %q
env_key = "LLM_ROUTER_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
`, model, base+"/v1")
}

// runCodex runs `codex exec prompt` with a fresh CODEX_HOME in a fresh
// working directory and returns what it printed.
func runCodex(t *testing.T, model, prompt string) (stdout, stderr string) {
	t.Helper()
	bin := codexBinary(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "codex-home")
	work := filepath.Join(dir, "work")
	for _, d := range []string{home, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(codexConfig(model)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "exec", "--skip-git-repo-check", "-C", work, prompt)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"CODEX_HOME=" + home,
		"LLM_ROUTER_KEY=sk-codex-client",
		"NO_COLOR=1",
	}
	cmd.Dir = work
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("codex did not finish within its deadline\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	if err != nil {
		t.Fatalf("codex exec: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// codexCase is one target kind: how its fake asks for the command, and
// where the next request carries the command's output.
type codexCase struct {
	name, model string
	up          func(t *testing.T) *fakeupstream.Server
	target      func(up *fakeupstream.Server) string
	callSSE     func(cmd string) []string
	toolResult  func(body gjson.Result) string // the exec_command result text, "" when absent
}

func TestAgentCodexToolLoop(t *testing.T) {
	codexBinary(t)
	cases := []codexCase{
		{
			name: "openai", model: "gpt-5-codex",
			up: func(t *testing.T) *fakeupstream.Server { return fakeupstream.NewOpenAI(t, "gpt") },
			target: func(up *fakeupstream.Server) string {
				return "target gpt {\n base_url " + up.BaseURL() + "\n api_key sk-openai-upstream\n}"
			},
			callSSE: responsesCallSSE,
			toolResult: func(body gjson.Result) string {
				for _, it := range body.Get("input").Array() {
					if it.Get("type").Str == "function_call_output" && it.Get("call_id").Str == "call_exec" {
						return it.Get("output").String()
					}
				}
				return ""
			},
		},
		{
			name: "anthropic", model: "claude-sonnet-4-5",
			up: func(t *testing.T) *fakeupstream.Server { return fakeupstream.NewAnthropic(t, "claude") },
			target: func(up *fakeupstream.Server) string {
				return "target claude {\n provider anthropic\n base_url " + up.URL + "\n api_key sk-ant-upstream\n}"
			},
			callSSE: anthropicCallSSE,
			toolResult: func(body gjson.Result) string {
				for _, m := range body.Get("messages").Array() {
					for _, c := range m.Get("content").Array() {
						if c.Get("type").Str == "tool_result" && c.Get("tool_use_id").Str == "toolu_exec" {
							return c.Get("content").String()
						}
					}
				}
				return ""
			},
		},
		{
			name: "gemini", model: "gemini-2.5-pro",
			up: func(t *testing.T) *fakeupstream.Server { return fakeupstream.NewGemini(t, "gem") },
			target: func(up *fakeupstream.Server) string {
				return "target gem {\n provider gemini\n base_url " + up.URL + "\n api_key sk-gemini-upstream\n}"
			},
			callSSE: geminiCallSSE,
			toolResult: func(body gjson.Result) string {
				for _, c := range body.Get("contents").Array() {
					for _, p := range c.Get("parts").Array() {
						if p.Get("functionResponse.name").Str == "exec_command" {
							return p.Get("functionResponse.response").Raw
						}
					}
				}
				return ""
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := tc.up(t)
			load(t, router(fast+tc.target(up)))
			tag := fmt.Sprintf("%08x", rand.Uint32())
			// The command computes part of its output, so that the output
			// is told apart from the command itself.
			command := "echo tool-output-$((6*7))-" + tag
			output := "tool-output-42-" + tag
			up.Script(fakeupstream.Step{SSE: tc.callSSE(command)})
			stdout, stderr := runCodex(t, tc.model, "Run the command the tool call names and report its output.")

			reqs := up.Requests()
			if len(reqs) < 2 {
				t.Fatalf("the upstream got %d requests\nstdout:\n%s\nstderr:\n%s", len(reqs), stdout, stderr)
			}
			first := gjson.ParseBytes(reqs[0].Body)
			if !strings.Contains(first.Raw, `"exec_command"`) {
				t.Fatalf("the first request declares no exec_command tool: %.2000s", first.Raw)
			}
			var result string
			for _, r := range reqs[1:] {
				if result = tc.toolResult(gjson.ParseBytes(r.Body)); result != "" {
					break
				}
			}
			if !strings.Contains(result, output) {
				t.Fatalf("no request after the tool call carries its output %q (found %q)\nstdout:\n%s\nstderr:\n%s", output, result, stdout, stderr)
			}
			// The fake's own answer after a tool result is the final answer.
			t.Logf("%d upstream requests; codex printed:\n%s", len(reqs), stdout)
			if !strings.Contains(stdout, "tok0 tok1 tok2") {
				t.Fatalf("codex did not print the final answer\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}
}

// Through the mock: it calls exec_command, then answers with the tool's
// result, which Codex prints.
func TestAgentCodexMock(t *testing.T) {
	codexBinary(t)
	tag := fmt.Sprintf("%08x", rand.Uint32())
	args, _ := json.Marshal(map[string]string{"cmd": "echo tool-output-$((6*7))-" + tag})
	load(t, router(fast+`
		target local {
			provider mock
			mock_tool_call exec_command `+"`"+string(args)+"`"+`
		}`))
	stdout, stderr := runCodex(t, "mock-codex", "Run the command.")
	if !strings.Contains(stdout, "tool-output-42-"+tag) {
		t.Fatalf("codex did not print the command's output\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
}

// sseJSON renders one SSE event, named when name is set.
func sseJSON(name string, v any) string {
	b, _ := json.Marshal(v)
	if name == "" {
		return "data: " + string(b) + "\n\n"
	}
	return "event: " + name + "\ndata: " + string(b) + "\n\n"
}

// responsesCallSSE is an OpenAI Responses stream whose answer is one
// exec_command call running cmd.
func responsesCallSSE(cmd string) []string {
	type obj = map[string]any
	args, _ := json.Marshal(obj{"cmd": cmd})
	seq := 0
	ev := func(typ string, fields obj) string {
		fields["type"], fields["sequence_number"] = typ, seq
		seq++
		return sseJSON(typ, fields)
	}
	item := func(status, arguments string) obj {
		return obj{"id": "fc_exec", "type": "function_call", "status": status, "call_id": "call_exec", "name": "exec_command", "arguments": arguments}
	}
	resp := func(status string, output []any, usage any) obj {
		return obj{"id": "resp_exec", "object": "response", "created_at": 1700000000, "status": status, "model": "gpt-5-codex", "output": output, "usage": usage}
	}
	return []string{
		ev("response.created", obj{"response": resp("in_progress", []any{}, nil)}) +
			ev("response.in_progress", obj{"response": resp("in_progress", []any{}, nil)}),
		ev("response.output_item.added", obj{"output_index": 0, "item": item("in_progress", "")}) +
			ev("response.function_call_arguments.delta", obj{"item_id": "fc_exec", "output_index": 0, "delta": string(args)}) +
			ev("response.function_call_arguments.done", obj{"item_id": "fc_exec", "output_index": 0, "arguments": string(args)}) +
			ev("response.output_item.done", obj{"output_index": 0, "item": item("completed", string(args))}),
		ev("response.completed", obj{"response": resp("completed", []any{item("completed", string(args))}, fakeupstream.FakeResponsesUsage())}),
	}
}

// anthropicCallSSE is an Anthropic Messages stream whose answer is one
// exec_command tool_use running cmd.
func anthropicCallSSE(cmd string) []string {
	type obj = map[string]any
	args, _ := json.Marshal(obj{"cmd": cmd})
	return []string{
		sseJSON("message_start", obj{"type": "message_start", "message": obj{"id": "msg_exec", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
			"content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": obj{"input_tokens": fakeupstream.FakePromptTokens, "output_tokens": 1}}}),
		sseJSON("content_block_start", obj{"type": "content_block_start", "index": 0, "content_block": obj{"type": "tool_use", "id": "toolu_exec", "name": "exec_command", "input": obj{}}}) +
			sseJSON("content_block_delta", obj{"type": "content_block_delta", "index": 0, "delta": obj{"type": "input_json_delta", "partial_json": string(args)}}) +
			sseJSON("content_block_stop", obj{"type": "content_block_stop", "index": 0}),
		sseJSON("message_delta", obj{"type": "message_delta", "delta": obj{"stop_reason": "tool_use", "stop_sequence": nil}, "usage": obj{"output_tokens": fakeupstream.FakeCompletionTokens}}) +
			sseJSON("message_stop", obj{"type": "message_stop"}),
	}
}

// geminiCallSSE is a Gemini streamGenerateContent?alt=sse stream whose
// answer is one exec_command functionCall running cmd, with the thought
// signature Gemini puts on it.
func geminiCallSSE(cmd string) []string {
	type obj = map[string]any
	return []string{
		sseJSON("", obj{
			"candidates": []any{obj{"index": 0, "finishReason": "STOP", "content": obj{"role": "model", "parts": []any{
				obj{"functionCall": obj{"name": "exec_command", "args": obj{"cmd": cmd}}, "thoughtSignature": fakeupstream.GeminiSignature},
			}}}},
			"usageMetadata": obj{"promptTokenCount": fakeupstream.FakePromptTokens, "candidatesTokenCount": fakeupstream.FakeCompletionTokens, "totalTokenCount": fakeupstream.FakePromptTokens + fakeupstream.FakeCompletionTokens},
			"modelVersion":  "gemini-2.5-pro",
		}),
	}
}
