package integration

// The real Claude Code CLI (pinned in caddytest/agents) through the router,
// offline: an anthropic target (passthrough), an OpenAI-compatible, a
// Gemini and a mock target (translation). The upstream first asks for a Bash tool
// call; Claude Code runs it, sends its output back, and prints the final
// answer.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// claudeDeadline bounds one run of the CLI, which starts slowly on a
// loaded machine.
const claudeDeadline = 4 * time.Minute

// claudeBinary is the pinned Claude Code, or a failure saying how to get
// it.
func claudeBinary(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("agents", "node_modules", ".bin", "claude"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Claude Code is not installed (%v): run `cd caddytest/agents && npm ci`", err)
	}
	return path
}

// runClaude runs `claude -p prompt --output-format json` against the
// router with model, in a fresh home and working directory, offline and
// without questions (Bash allowed), and returns its JSON result.
func runClaude(t *testing.T, model, prompt string) gjson.Result {
	t.Helper()
	bin := claudeBinary(t)
	home := t.TempDir()
	work := filepath.Join(home, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), claudeDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-p", prompt, "--output-format", "json", "--model", model, "--allowedTools", "Bash")
	cmd.Dir = work
	cmd.Env = []string{
		"HOME=" + home,
		"CLAUDE_CONFIG_DIR=" + filepath.Join(home, ".claude"),
		"PATH=" + os.Getenv("PATH"),
		"ANTHROPIC_BASE_URL=" + base,
		"ANTHROPIC_API_KEY=sk-client-claude-code",
		"ANTHROPIC_MODEL=" + model,
		"ANTHROPIC_DEFAULT_HAIKU_MODEL=" + model,
		"ANTHROPIC_SMALL_FAST_MODEL=" + model,
		// Offline and quiet: no update checks, telemetry, error reports or
		// other side traffic.
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_TELEMETRY=1",
		"DISABLE_ERROR_REPORTING=1",
		"CLAUDE_CODE_DISABLE_TERMINAL_TITLE=1",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("claude did not finish within %s\nstdout: %s\nstderr: %s", claudeDeadline, stdout.Bytes(), stderr.Bytes())
	}
	if err != nil {
		t.Fatalf("claude: %v\nstdout: %s\nstderr: %s", err, stdout.Bytes(), stderr.Bytes())
	}
	out := bytes.TrimSpace(stdout.Bytes())
	if i := bytes.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:] // the JSON result is the last line
	}
	res := gjson.ParseBytes(out)
	if !res.IsObject() || res.Get("type").Str != "result" {
		t.Fatalf("no JSON result:\nstdout: %s\nstderr: %s", stdout.Bytes(), stderr.Bytes())
	}
	return res
}

// Anthropic events for the fake Anthropic's scripted answers.
func anthropicSSE(blocks, stop string) []string {
	return []string{
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_cc\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-cc\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":30,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n",
		blocks,
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" + stop + "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":9}}\n\n" +
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	}
}

func anthropicTextSSE(text string) []string {
	return anthropicSSE("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\""+text+"\"}}\n\n"+
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n", "end_turn")
}

func anthropicBashSSE(command string) []string {
	return anthropicSSE("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_cc1\",\"name\":\"Bash\",\"input\":{}}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"command\\\": \\\"\"}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\""+command+"\\\", \\\"description\\\": \\\"Print a marker\\\"}\"}}\n\n"+
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n", "tool_use")
}

// OpenAI chunks for the fake OpenAI's scripted answers.
func openAIChunks(deltas ...string) []string {
	head := `data: {"id":"chatcmpl-cc","object":"chat.completion.chunk","created":1,"model":"gpt-cc","choices":[{"index":0,"delta":`
	var out []string
	for i, d := range deltas {
		finish := "null"
		if i == len(deltas)-1 {
			finish = d
			d = "{}"
		}
		out = append(out, head+d+`,"finish_reason":`+finish+"}]}\n\n")
	}
	return append(out,
		`data: {"id":"chatcmpl-cc","object":"chat.completion.chunk","created":1,"model":"gpt-cc","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":9,"total_tokens":39}}`+"\n\n",
		"data: [DONE]\n\n")
}

func openAITextSSE(text string) []string {
	return openAIChunks(`{"role":"assistant","content":"`+text+`"}`, `"stop"`)
}

func openAIBashSSE(command string) []string {
	return openAIChunks(
		`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_cc1","type":"function","function":{"name":"Bash","arguments":""}}]}`,
		`{"tool_calls":[{"index":0,"function":{"arguments":"{\"command\": \""}}]}`,
		`{"tool_calls":[{"index":0,"function":{"arguments":"`+command+`\", \"description\": \"Print a marker\"}"}}]}`,
		`"tool_calls"`)
}

// Gemini streamGenerateContent frames for the fake Gemini's scripted
// answers (`data:` frames, no terminator, as Google sends them).
func geminiFrame(parts string) string {
	return `data: {"candidates":[{"content":{"parts":` + parts + `,"role":"model"},"finishReason":"STOP","index":0}],` +
		`"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":9,"totalTokenCount":39},"modelVersion":"gemini-cc"}` + "\r\n\r\n"
}

func geminiTextSSE(text string) string { return geminiFrame(`[{"text":"` + text + `"}]`) }

func geminiBashSSE(command string) string {
	return geminiFrame(`[{"functionCall":{"name":"Bash","args":{"command":"` + command + `","description":"Print a marker"}},"thoughtSignature":"` + fakeupstream.GeminiSignature + `"}]`)
}

// TestAnthropicAPIClaudeCode: through each kind of target, Claude Code runs
// the Bash command the upstream asks for, the next upstream request carries
// its output, and the final answer is Claude Code's result.
func TestAnthropicAPIClaudeCode(t *testing.T) {
	claudeBinary(t)
	ant := fakeupstream.NewAnthropic(t, "ant")
	oai := fakeupstream.NewOpenAI(t, "oai")
	gem := fakeupstream.NewGemini(t, "gem")
	mockMarker := "tool-output-" + randomMarker()
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
			mock_tool_call Bash `+"`"+`{"command":"echo `+mockMarker+`","description":"Print a marker"}`+"`"+`
			models mock-*
		}`))
	for _, tc := range []struct {
		name, model string
		up          *fakeupstream.Server
		script      func(command, final string)
	}{
		{"anthropic", "claude-cc", ant, func(command, final string) {
			ant.Script(fakeupstream.Step{SSE: anthropicBashSSE(command)}, fakeupstream.Step{SSE: anthropicTextSSE(final)})
			ant.Always(fakeupstream.Step{SSE: anthropicTextSSE("ok")})
		}},
		{"openai", "gpt-cc", oai, func(command, final string) {
			oai.Script(fakeupstream.Step{SSE: openAIBashSSE(command)}, fakeupstream.Step{SSE: openAITextSSE(final)})
			oai.Always(fakeupstream.Step{SSE: openAITextSSE("ok")})
		}},
		{"gemini", "gemini-cc", gem, func(command, final string) {
			gem.Script(fakeupstream.Step{Body: geminiBashSSE(command)}, fakeupstream.Step{Body: geminiTextSSE(final)})
			gem.Always(fakeupstream.Step{Body: geminiTextSSE("ok")})
		}},
		// The mock calls Bash as configured and answers the tool result
		// with its text: the final answer is the command's output.
		{"mock", "mock-cc", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := "tool-output-" + randomMarker()
			final := "FINAL-" + randomMarker()
			if tc.up == nil {
				marker = mockMarker
			} else {
				tc.script("echo "+marker, final)
			}
			res := runClaude(t, tc.model, "Run `echo "+marker+"` with the Bash tool, then tell me what it printed.")
			if tc.up == nil {
				if res.Get("is_error").Bool() || !strings.Contains(res.Get("result").Str, marker) || res.Get("num_turns").Int() < 2 {
					t.Fatalf("result %q does not hold the tool output %q: %s", res.Get("result").Str, marker, res.Raw)
				}
				return
			}

			// The tool's output went back upstream, in the upstream's format.
			var carried *fakeupstream.Request
			for _, r := range tc.up.Requests() {
				if bytes.Contains(r.Body, []byte(marker+`\n`)) || bytes.Contains(r.Body, []byte(`"`+marker+`"`)) {
					carried = r
				}
			}
			if carried == nil {
				t.Fatalf("no upstream request carries the tool output %q (%d requests)", marker, tc.up.Count())
			}
			body := gjson.ParseBytes(carried.Body)
			switch tc.name {
			case "anthropic":
				last := body.Get("messages.@reverse.0.content")
				if !strings.Contains(last.Raw, `"tool_result"`) || !strings.Contains(last.Raw, "toolu_cc1") || !strings.Contains(last.Raw, marker) {
					t.Fatalf("no tool_result with the output: %s", last.Raw)
				}
			case "openai":
				var found bool
				body.Get("messages").ForEach(func(_, m gjson.Result) bool {
					found = found || m.Get("role").Str == "tool" && m.Get("tool_call_id").Str == "call_cc1" && strings.Contains(m.Get("content").Str, marker)
					return !found
				})
				if !found {
					t.Fatalf("no tool message with the output: %s", carried.Body)
				}
			case "gemini":
				var found bool
				body.Get("contents").ForEach(func(_, c gjson.Result) bool {
					c.Get("parts").ForEach(func(_, p gjson.Result) bool {
						found = found || p.Get("functionResponse.name").Str == "Bash" && strings.Contains(p.Get("functionResponse.response").Raw, marker)
						return !found
					})
					return !found
				})
				if !found {
					t.Fatalf("no functionResponse with the output: %s", carried.Body)
				}
			}
			if res.Get("is_error").Bool() || res.Get("subtype").Str != "success" || res.Get("result").Str != final {
				t.Fatalf("result %q (want %q): %s", res.Get("result").Str, final, res.Raw)
			}
			if n := res.Get("num_turns").Int(); n < 2 {
				t.Errorf("num_turns %d: the tool was not run", n)
			}
		})
	}
}
