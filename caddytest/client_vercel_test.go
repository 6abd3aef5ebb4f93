package integration

// Vercel's AI SDK (npm `ai` and `@ai-sdk/openai`, pinned in
// caddytest/agents) through the router: its default OpenAI provider,
// `createOpenAI({ baseURL })(model)`, speaks the Responses API. A tool
// loop of two steps (the model calls get_weather, the SDK runs it and
// sends its result, the model answers) through an openai target
// (passthrough), an anthropic and a gemini target (translated) and the
// mock, with generateText and streamText.

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

// vercelScript is the AI SDK loop script, or a failure saying how to get
// the SDK.
func vercelScript(t *testing.T) string {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("agents", "vercel-loop.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("agents", "node_modules", "ai", "package.json")); err != nil {
		t.Fatalf("Vercel's AI SDK is not installed (%v): run `cd caddytest/agents && npm ci`", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH (%v): install Node.js 18 or later (Debian: apt-get install -y nodejs)", err)
	}
	return script
}

// runVercel runs one loop with model and returns the script's JSON line.
func runVercel(t *testing.T, script, model, mode string) gjson.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, base+"/v1", model, mode)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LLM_ROUTER_KEY=sk-vercel-client"}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("node vercel-loop.mjs %s %s: %v\nstdout:\n%s\nstderr:\n%s", model, mode, err, out.String(), errOut.String())
	}
	res := gjson.Parse(strings.TrimSpace(out.String()))
	if !res.IsObject() {
		t.Fatalf("the script printed %q\nstderr:\n%s", out.String(), errOut.String())
	}
	return res
}

func TestVercelAISDKToolLoop(t *testing.T) {
	script := vercelScript(t)
	gpt := fakeupstream.NewOpenAI(t, "gpt")
	claude := fakeupstream.NewAnthropic(t, "claude")
	gem := fakeupstream.NewGemini(t, "gem")
	load(t, router(fast+toolLoopTargets(gpt, claude, gem)))

	// toolResult finds the SDK's get_weather result in an upstream
	// request body of each wire format.
	type tcase struct {
		name, model string
		up          *fakeupstream.Server
		path        string // of the upstream request; Gemini's is per mode
		arg         string // the string the fake puts in the call's city
		toolResult  func(body gjson.Result) string
	}
	cases := []tcase{
		{"openai", "gpt-5", gpt, "/v1/responses", "city-value", func(b gjson.Result) string {
			for _, it := range b.Get("input").Array() {
				if it.Get("type").Str == "function_call_output" {
					return it.Get("output").String()
				}
			}
			return ""
		}},
		{"anthropic", "claude-sonnet-4-5", claude, "/v1/messages", "city-value", func(b gjson.Result) string {
			for _, m := range b.Get("messages").Array() {
				for _, c := range m.Get("content").Array() {
					if c.Get("type").Str == "tool_result" {
						return c.Get("content").String()
					}
				}
			}
			return ""
		}},
		{"gemini", "gemini-2.5-flash", gem, "", "fake", func(b gjson.Result) string {
			for _, c := range b.Get("contents").Array() {
				for _, p := range c.Get("parts").Array() {
					if p.Get("functionResponse.name").Str == "get_weather" {
						return p.Get("functionResponse.response").Raw
					}
				}
			}
			return ""
		}},
		{"mock", "mock-agent", nil, "", "Paris", nil},
	}
	for _, tc := range cases {
		for _, mode := range []string{"generate", "stream"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				if tc.up != nil {
					tc.up.Reset()
				}
				res := runVercel(t, script, tc.model, mode)
				if res.Get("steps").Int() != 2 || res.Get("toolCalls").Raw != `["get_weather"]` || res.Get("finishReason").Str != "stop" {
					t.Fatalf("the SDK's loop: %s", res.Raw)
				}
				if res.Get("usage.inputTokens").Int() <= 0 || res.Get("usage.outputTokens").Int() <= 0 {
					t.Fatalf("usage %s", res.Get("usage").Raw)
				}
				want := "sunny in " + tc.arg + ", 21C"
				if tc.up == nil {
					// The mock calls with its configured arguments, then
					// answers with the tool's result.
					if res.Get("text").Str != want {
						t.Fatalf("text %q, want the tool's result %q", res.Get("text").Str, want)
					}
					return
				}
				if res.Get("toolResults.0").Str != want || res.Get("text").Str == "" {
					t.Fatalf("the SDK's loop: %s", res.Raw)
				}
				reqs := tc.up.Requests()
				if len(reqs) != 2 {
					t.Fatalf("the upstream got %d requests, want 2", len(reqs))
				}
				last := reqs[1]
				path := tc.path
				if tc.name == "gemini" {
					path = map[string]string{"generate": ":generateContent", "stream": ":streamGenerateContent"}[mode]
				}
				if !strings.Contains(last.Path, path) {
					t.Fatalf("upstream path %s, want %s", last.Path, path)
				}
				if got := tc.toolResult(gjson.ParseBytes(last.Body)); !strings.Contains(got, want) {
					t.Fatalf("the second upstream request carries tool result %q, want %q: %.2000s", got, want, last.Body)
				}
				for _, r := range reqs {
					if bytes.Contains(r.Body, []byte("sk-vercel-client")) || strings.Contains(r.Header.Get("Authorization"), "sk-vercel-client") {
						t.Fatal("the client's key reached the upstream")
					}
				}
			})
		}
	}
}
