package anthropic

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/tidwall/gjson"
)

// Each testdata/request/NAME.json (an OpenAI chat request) translates to
// NAME.golden.json (the Messages API body).
func TestRequestGolden(t *testing.T) {
	for _, path := range fixtures(t, "request", ".json") {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			body := goldenfile.Read(t, path)
			got := appendRequest(nil, callFor(body), DefaultMaxTokens)
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			goldenfile.Check(t, strings.TrimSuffix(path, ".json")+".golden.json", goldenfile.Indent(t, got), *update)
		})
	}
}

// The translation rules, each checked on the fixture that shows it, so a
// golden file accepted by mistake still fails here.
func TestRequestRules(t *testing.T) {
	cases := []struct {
		fixture string
		path    string // gjson path in the Messages API body
		want    string // its raw JSON, "" = must be absent
	}{
		// model, max_tokens, sampling, stop, user, dropped parameters
		{"basic", "model", `"claude-sonnet-4-5"`},
		{"basic", "max_tokens", `256`},
		{"basic", "temperature", `0.5`},
		{"basic", "top_p", `0.9`},
		{"basic", "stop_sequences", `["\n\nHuman:"]`},
		{"basic", "metadata", `{"user_id":"user-42"}`},
		{"basic", "system", `[{"type":"text","text":"You are terse."}]`},
		{"basic", "seed", ``},
		{"basic", "presence_penalty", ``},
		{"basic", "frequency_penalty", ``},
		{"basic", "logit_bias", ``},
		{"basic", "n", ``},
		{"basic", "user", ``},
		{"basic", "stream", ``},
		{"basic", "messages", `[{"role":"user","content":[{"type":"text","text":"Name a colour."}]}]`},
		{"defaults", "max_tokens", `4096`},
		{"defaults", "temperature", `1`},
		{"defaults", "stop_sequences", `["END","STOP"]`},
		{"defaults", "metadata", ``},
		{"max_completion_tokens", "max_tokens", `2000`},
		{"max_completion_tokens", "temperature", `1`},
		// system and developer messages hoisted, in order, cache_control kept
		{"system_developer", "system", `[{"type":"text","text":"Long shared instructions.","cache_control":{"type": "ephemeral"}},{"type":"text","text":"Second part."},{"type":"text","text":"Answer in French."}]`},
		{"system_developer", "messages.#.role", `["user","assistant","user"]`},
		// consecutive same-role turns merged, empty messages skipped
		{"merge_roles", "messages.#.role", `["user","assistant","user"]`},
		{"merge_roles", "messages.0.content.#.text", `["First.","Second."]`},
		{"merge_roles", "messages.1.content.#.text", `["Reply one.","Reply two.","No."]`},
		{"merge_roles", "messages.2.content", `[{"type":"text","text":"Third.","cache_control":{"type": "ephemeral", "ttl": "1h"}},{"type":"text","text":"Fourth."}]`},
		// tools, tool_choice, tool calls and results
		{"tools", "tools.0", `{"name":"get_weather","description":"Current weather for a city.","input_schema":{"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}`},
		{"tools", "tools.1", `{"name":"no_args","input_schema":{"type":"object","properties":{}},"cache_control":{"type": "ephemeral"}}`},
		{"tools", "tool_choice", `{"type":"any","disable_parallel_tool_use":true}`},
		{"tools", "messages.#.role", `["user","assistant","user","assistant","user"]`},
		{"tools", "messages.1.content", `[{"type":"text","text":"Checking both."},{"type":"tool_use","id":"call_paris","name":"get_weather","input":{"city":"Paris"}},{"type":"tool_use","id":"call_rome","name":"get_weather","input":{"city": "Rome", "unit": "c"}}]`},
		{"tools", "messages.2.content", `[{"type":"tool_result","tool_use_id":"call_paris","content":"18C, sunny"},{"type":"tool_result","tool_use_id":"call_rome","content":[{"type":"text","text":"24C"},{"type":"text","text":"clear"}]},{"type":"text","text":"Which is warmer?"}]`},
		{"tools", "messages.3.content", `[{"type":"tool_use","id":"call_x","name":"no_args","input":{}}]`},
		{"tools", "messages.4.content", `[{"type":"tool_result","tool_use_id":"call_x"}]`},
		{"tool_choice_auto", "tool_choice", `{"type":"auto"}`},
		{"tool_choice_none", "tool_choice", `{"type":"none"}`},
		{"tool_choice_named", "tool_choice", `{"type":"tool","name":"other"}`},
		{"tool_ids", "messages.1.content.#.id", `["call_1___","call"]`},
		{"tool_ids", "messages.1.content.#.input", `[{},{}]`},
		{"tool_ids", "messages.2.content.#.tool_use_id", `["call_1___","call"]`},
		// images and documents
		{"vision", "messages.0.content.1", `{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}`},
		{"vision", "messages.0.content.2", `{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"},"cache_control":{"type": "ephemeral"}}`},
		{"vision", "messages.0.content.3", `{"type":"image","source":{"type":"base64","media_type":"image/gif","data":"R0lGODlhAQ=="}}`},
		{"vision", "messages.0.content.4", `{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQK"},"title":"doc.pdf"}`},
		// response_format through a forced tool
		{"response_format_json_schema", "tools", `[{"name":"person","description":"A person.","input_schema":{"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"], "additionalProperties": false}}]`},
		{"response_format_json_schema", "tool_choice", `{"type":"tool","name":"person"}`},
		{"response_format_json_object", "tools.0.name", `"json_response"`},
		{"response_format_json_object", "tools.0.input_schema", `{"type":"object"}`},
		{"response_format_json_object", "tool_choice", `{"type":"tool","name":"json_response"}`},
		{"response_format_text", "tools", ``},
		{"response_format_text", "tool_choice", ``},
		// streaming, thinking, top_k
		{"stream", "stream", `true`},
		{"stream", "stream_options", ``},
		{"thinking", "thinking", `{"type": "enabled", "budget_tokens": 2048}`},
		{"thinking", "top_k", `40`},
		{"thinking", "max_tokens", `8000`},
	}
	for _, tc := range cases {
		body := goldenfile.Read(t, filepath.Join("testdata", "request", tc.fixture+".json"))
		out := appendRequest(nil, callFor(body), DefaultMaxTokens)
		got := gjson.GetBytes(out, tc.path)
		switch {
		case tc.want == "" && got.Exists():
			t.Errorf("%s: %s = %s, want it absent", tc.fixture, tc.path, got.Raw)
		case tc.want != "" && got.Raw != tc.want:
			t.Errorf("%s: %s\n got %s\nwant %s", tc.fixture, tc.path, got.Raw, tc.want)
		}
	}
}

// Roles strictly alternate in every fixture, whatever the client sent.
func TestRequestRolesAlternate(t *testing.T) {
	for _, path := range fixtures(t, "request", ".json") {
		out := appendRequest(nil, callFor(goldenfile.Read(t, path)), DefaultMaxTokens)
		prev := ""
		for _, m := range gjson.GetBytes(out, "messages").Array() {
			role := m.Get("role").Str
			if role != "user" && role != "assistant" {
				t.Errorf("%s: role %q", path, role)
			}
			if role == prev {
				t.Errorf("%s: two %s turns in a row", path, role)
			}
			if len(m.Get("content").Array()) == 0 {
				t.Errorf("%s: empty turn %s", path, m.Raw)
			}
			prev = role
		}
	}
}

// The provider's default max_tokens applies when the client gives none.
func TestRequestDefaultMaxTokens(t *testing.T) {
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`)
	p := &Provider{DefaultMaxTokens: 1234}
	out := appendRequest(nil, callFor(body), p.maxTokens())
	if got := gjson.GetBytes(out, "max_tokens").Raw; got != "1234" {
		t.Fatalf("max_tokens %s, want 1234", got)
	}
	if got := (&Provider{}).maxTokens(); got != DefaultMaxTokens {
		t.Fatalf("default %d, want %d", got, DefaultMaxTokens)
	}
}
