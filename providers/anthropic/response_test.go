package anthropic

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Each testdata/response/NAME.json (a Messages API message) translates to
// NAME.golden.json (an OpenAI chat completion); NAME.request.json, when
// present, is the client's request.
func TestResponseGolden(t *testing.T) {
	for _, path := range fixtures(t, "response", ".json") {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			c := callFor(requestFor(t, path))
			rec := newRecorder()
			w := stream.NewWriter(rec)
			u, err := writeMessage(w, upstreamResponse("application/json", bytes.NewReader(goldenfile.Read(t, path))), c)
			if err != nil {
				t.Fatal(err)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if rec.Code != 200 {
				t.Errorf("status %d", rec.Code)
			}
			out := rec.Body.Bytes()
			if p := gjson.GetBytes(out, "usage.prompt_tokens").Int(); p != u.PromptTokens {
				t.Errorf("returned prompt usage %d, body says %d", u.PromptTokens, p)
			}
			if n := gjson.GetBytes(out, "usage.completion_tokens").Int(); n != u.CompletionTokens {
				t.Errorf("returned completion usage %d, body says %d", u.CompletionTokens, n)
			}
			goldenfile.Check(t, strings.TrimSuffix(path, ".json")+".golden.json", goldenfile.Indent(t, out), *update)
		})
	}
}

// The translation rules, each checked on the fixture that shows it.
func TestResponseRules(t *testing.T) {
	cases := []struct {
		fixture, path, want string // want: raw JSON, "" = absent
	}{
		{"text", "object", `"chat.completion"`},
		{"text", "id", `"msg_01XFDUDYJgAACzvnptvVoYEL"`},
		{"text", "model", `"claude-sonnet-4-5"`},
		{"text", "created", `1700000000`},
		{"text", "choices.0.message.role", `"assistant"`},
		{"text", "choices.0.message.content", `"Hello! \"Quoted\" and\nnew line."`},
		{"text", "choices.0.message.tool_calls", ``},
		{"text", "choices.0.message.reasoning_content", ``},
		{"text", "choices.0.finish_reason", `"stop"`},
		{"text", "usage", `{"prompt_tokens":2112,"completion_tokens":8,"total_tokens":2120,"prompt_tokens_details":{"cached_tokens":2000,"cache_creation_tokens":100}}`},
		{"tool_use", "choices.0.message.content", `"I'll check both cities."`},
		{"tool_use", "choices.0.message.tool_calls", `[{"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},{"id":"toolu_01B","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Rome\", \"unit\": \"c\"}"}}]`},
		{"tool_use", "choices.0.finish_reason", `"tool_calls"`},
		{"tool_only", "choices.0.message.content", `null`},
		{"tool_only", "choices.0.message.tool_calls.0.function.arguments", `"{}"`},
		{"thinking", "choices.0.message.reasoning_content", `"Let me work it out: 2+2."`},
		{"thinking", "choices.0.message.content", `"4"`},
		{"thinking", "usage.completion_tokens_details.reasoning_tokens", `25`},
		{"max_tokens", "choices.0.finish_reason", `"length"`},
		{"stop_sequence", "choices.0.finish_reason", `"stop"`},
		{"stop_sequence", "choices.0.message.content", `"Part one. Part two"`},
		{"refusal", "choices.0.finish_reason", `"content_filter"`},
		{"refusal", "choices.0.message.content", `null`},
		{"response_format", "choices.0.message.content", `"{\"name\": \"Ada\", \"age\": 36}"`},
		{"response_format", "choices.0.message.tool_calls", ``},
		{"response_format", "choices.0.finish_reason", `"stop"`},
	}
	for _, tc := range cases {
		path := filepath.Join("testdata", "response", tc.fixture+".json")
		out, _, e := appendCompletion(nil, goldenfile.Read(t, path), callFor(requestFor(t, path)))
		if e != nil {
			t.Fatalf("%s: %v", tc.fixture, e)
		}
		got := gjson.GetBytes(out, tc.path)
		switch {
		case tc.want == "" && got.Exists():
			t.Errorf("%s: %s = %s, want it absent", tc.fixture, tc.path, got.Raw)
		case tc.want != "" && got.Raw != tc.want:
			t.Errorf("%s: %s\n got %s\nwant %s", tc.fixture, tc.path, got.Raw, tc.want)
		}
	}
}

// An answer that is not a message fails before anything is written, so
// the router can retry it.
func TestResponseInvalid(t *testing.T) {
	cases := []struct {
		name, body string
		kind       llm.Kind
		typ        string
	}{
		{"not json", `<html>oops</html>`, llm.KindInvalid, "upstream_error"},
		{"not a message", `{"type":"completion"}`, llm.KindInvalid, "upstream_error"},
		{"error body", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, llm.KindStream, "overloaded_error"},
	}
	for _, tc := range cases {
		rec := newRecorder()
		w := stream.NewWriter(rec)
		_, err := writeMessage(w, upstreamResponse("application/json", strings.NewReader(tc.body)), callFor(requestFor(t, "none")))
		var e *llm.Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: error %v, want *llm.Error", tc.name, err)
		}
		if e.Kind != tc.kind || e.Type != tc.typ || e.Status < 500 {
			t.Errorf("%s: %+v", tc.name, e)
		}
		if w.Committed() || rec.Body.Len() > 0 {
			t.Errorf("%s: wrote %q before failing", tc.name, rec.Body.String())
		}
	}
}

// A body that fails while being read is reported, not half-written.
func TestResponseReadFailure(t *testing.T) {
	rec := newRecorder()
	w := stream.NewWriter(rec)
	body := io.MultiReader(strings.NewReader(`{"type":"message",`), errReader{})
	_, err := writeMessage(w, upstreamResponse("application/json", body), callFor(requestFor(t, "none")))
	if !errors.Is(err, errBroken) {
		t.Fatalf("error %v, want %v", err, errBroken)
	}
	if w.Committed() {
		t.Fatal("committed before the body was read")
	}
}

var errBroken = errors.New("connection reset")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }
