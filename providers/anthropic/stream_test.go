package anthropic

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Each testdata/stream/NAME.sse (a Messages API event stream) translates
// to NAME.golden.sse: what the client receives, then what the translation
// returned (usage, error) after a `--` line.
func TestStreamGolden(t *testing.T) {
	for _, path := range fixtures(t, "stream", ".sse") {
		name := strings.TrimSuffix(filepath.Base(path), ".sse")
		t.Run(name, func(t *testing.T) {
			c := callFor(requestFor(t, path))
			rec, u, err := translateStream(t, c, goldenfile.Read(t, path))
			out := rec.Body.Bytes()
			checkSSE(t, out)
			if len(out) > 0 && rec.Header().Get("Content-Type") != stream.ContentType {
				t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
			got := fmt.Sprintf("%s-- usage: prompt=%d completion=%d\n-- error: %s\n",
				out, u.PromptTokens, u.CompletionTokens, describeError(err))
			goldenfile.Check(t, strings.TrimSuffix(path, ".sse")+".golden.sse", []byte(got), *update)
		})
	}
}

// translated is a client's view of a translated stream.
type translated struct {
	events    []string
	role      string
	content   string
	reasoning string
	finish    string
	usage     gjson.Result
	done      bool
	tools     map[int64]*toolCall // by OpenAI index
	toolOrder []int64
}

type toolCall struct{ id, name, args string }

// assemble accumulates chunks as an OpenAI client does.
func assemble(t *testing.T, out []byte) *translated {
	t.Helper()
	tr := &translated{tools: map[int64]*toolCall{}}
	tr.events = checkSSE(t, out)
	for _, data := range tr.events {
		if data == "[DONE]" {
			tr.done = true
			continue
		}
		ch := gjson.Parse(data)
		if ch.Get("object").Str != "chat.completion.chunk" {
			t.Errorf("object %q in %s", ch.Get("object").Str, data)
		}
		if u := ch.Get("usage"); u.Exists() {
			if n := len(ch.Get("choices").Array()); n != 0 {
				t.Errorf("usage chunk with %d choices", n)
			}
			tr.usage = u
			continue
		}
		d := ch.Get("choices.0.delta")
		if r := d.Get("role").Str; r != "" {
			tr.role = r
		}
		tr.content += d.Get("content").Str
		tr.reasoning += d.Get("reasoning_content").Str
		for _, tc := range d.Get("tool_calls").Array() {
			i := tc.Get("index").Int()
			call := tr.tools[i]
			if call == nil {
				if tc.Get("id").Str == "" {
					t.Errorf("tool call %d starts without an id: %s", i, data)
				}
				call = &toolCall{}
				tr.tools[i] = call
				tr.toolOrder = append(tr.toolOrder, i)
			}
			if id := tc.Get("id").Str; id != "" {
				call.id = id
			}
			if n := tc.Get("function.name").Str; n != "" {
				call.name = n
			}
			call.args += tc.Get("function.arguments").Str
		}
		if f := ch.Get("choices.0.finish_reason").Str; f != "" {
			tr.finish = f
		}
	}
	return tr
}

func runFixture(t *testing.T, name string) (*translated, llm.Usage, error) {
	t.Helper()
	path := filepath.Join("testdata", "stream", name+".sse")
	rec, u, err := translateStream(t, callFor(requestFor(t, path)), goldenfile.Read(t, path))
	return assemble(t, rec.Body.Bytes()), u, err
}

func TestStreamText(t *testing.T) {
	tr, u, err := runFixture(t, "text")
	if err != nil {
		t.Fatal(err)
	}
	if tr.role != "assistant" || tr.content != "Hello!\n\"quoted\"" || tr.finish != "stop" || !tr.done {
		t.Fatalf("role %q content %q finish %q done %v", tr.role, tr.content, tr.finish, tr.done)
	}
	// ping and comment produce nothing: role, 2 deltas, finish, usage, done.
	if len(tr.events) != 6 {
		t.Errorf("%d events: %q", len(tr.events), tr.events)
	}
	if tr.usage.Raw != `{"prompt_tokens":35,"completion_tokens":15,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":10,"cache_creation_tokens":0}}` {
		t.Errorf("usage chunk %s", tr.usage.Raw)
	}
	if u != (llm.Usage{PromptTokens: 35, CompletionTokens: 15, CacheReadTokens: 10}) {
		t.Errorf("usage %+v", u)
	}
	for _, ev := range tr.events[:len(tr.events)-1] {
		if m := gjson.Get(ev, "model").Str; m != testModel {
			t.Errorf("model %q", m)
		}
		if id := gjson.Get(ev, "id").Str; id != "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY" {
			t.Errorf("id %q", id)
		}
	}
}

// Without include_usage there is no usage chunk, but usage is returned.
func TestStreamNoUsageChunk(t *testing.T) {
	tr, u, err := runFixture(t, "no_usage")
	if err != nil {
		t.Fatal(err)
	}
	if tr.usage.Exists() {
		t.Errorf("usage chunk sent: %s", tr.usage.Raw)
	}
	if u.PromptTokens != 35 || u.CompletionTokens != 15 {
		t.Errorf("usage %+v", u)
	}
}

// CRLF line endings and events without `event:` lines translate the same.
func TestStreamCRLFNoEventNames(t *testing.T) {
	a, _, err := runFixture(t, "crlf_no_event_names")
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := runFixture(t, "text")
	if strings.Join(a.events, "\n") != strings.Join(b.events, "\n") {
		t.Fatalf("CRLF stream differs:\n%q\n%q", a.events, b.events)
	}
}

// Parallel tool calls: each gets its own index, id and name; the
// argument deltas land on the right call; a call without arguments gets
// "{}"; finish_reason is tool_calls.
func TestStreamParallelToolCalls(t *testing.T) {
	tr, u, err := runFixture(t, "tools_parallel")
	if err != nil {
		t.Fatal(err)
	}
	want := []toolCall{
		{"toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather", `{"city": "Paris"}`},
		{"toolu_02Rome", "get_weather", `{"city": "Rome", "unit": "c"}`},
		{"toolu_03", "no_args", `{}`},
	}
	if len(tr.toolOrder) != len(want) {
		t.Fatalf("%d tool calls, want %d: %q", len(tr.toolOrder), len(want), tr.events)
	}
	for i, w := range want {
		if tr.toolOrder[i] != int64(i) {
			t.Errorf("tool call %d has index %d", i, tr.toolOrder[i])
		}
		if got := *tr.tools[int64(i)]; got != w {
			t.Errorf("tool call %d: %+v, want %+v", i, got, w)
		}
	}
	if tr.content != "Checking both." || tr.finish != "tool_calls" {
		t.Errorf("content %q finish %q", tr.content, tr.finish)
	}
	if u.PromptTokens != 472 || u.CompletionTokens != 89 {
		t.Errorf("usage %+v", u)
	}
	// No chunk carries an empty argument delta (the upstream's "" is dropped).
	for _, ev := range tr.events {
		if strings.Contains(ev, `"function":{"arguments":""}`) {
			t.Errorf("empty argument delta: %s", ev)
		}
	}
}

func TestStreamThinking(t *testing.T) {
	tr, u, err := runFixture(t, "thinking")
	if err != nil {
		t.Fatal(err)
	}
	if tr.reasoning != "I need to find the GCD of 1071 and 462.\n\n1071 = 2 × 462 + 147" {
		t.Errorf("reasoning %q", tr.reasoning)
	}
	if tr.content != "The GCD is 21." || tr.finish != "length" {
		t.Errorf("content %q finish %q", tr.content, tr.finish)
	}
	if tr.usage.Get("completion_tokens_details.reasoning_tokens").Int() != 100 || u.CompletionTokens != 120 {
		t.Errorf("usage %s %+v", tr.usage.Raw, u)
	}
}

// The forced response_format tool streams its input as content.
func TestStreamResponseFormat(t *testing.T) {
	tr, _, err := runFixture(t, "response_format")
	if err != nil {
		t.Fatal(err)
	}
	if tr.content != `{"name": "Ada", "age": 36}` || len(tr.tools) != 0 || tr.finish != "stop" {
		t.Fatalf("content %q tools %d finish %q", tr.content, len(tr.tools), tr.finish)
	}
}

// An error event midway: what was sent stays, no finish and no [DONE] are
// written, the error keeps Anthropic's type, and usage so far is returned.
func TestStreamErrorMidway(t *testing.T) {
	tr, u, err := runFixture(t, "error_midway")
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want *llm.Error", err)
	}
	if e.Kind != llm.KindStream || e.Type != "overloaded_error" || e.Code != "overloaded_error" || e.Message != "Overloaded" || e.Status != 529 {
		t.Errorf("error %+v", e)
	}
	if tr.content != "tok0 tok1 " || tr.done || tr.finish != "" {
		t.Errorf("content %q done %v finish %q", tr.content, tr.done, tr.finish)
	}
	if u.PromptTokens != 30 || u.CompletionTokens != 2 {
		t.Errorf("usage %+v", u)
	}
}

// An error event before any content writes nothing, so the router can
// still retry or fall back.
func TestStreamErrorBeforeContent(t *testing.T) {
	path := filepath.Join("testdata", "stream", "error_first.sse")
	rec, u, err := translateStream(t, callFor(requestFor(t, path)), goldenfile.Read(t, path))
	var e *llm.Error
	if !errors.As(err, &e) || e.Type != "api_error" || e.Kind != llm.KindStream {
		t.Fatalf("error %v", err)
	}
	if rec.Body.Len() != 0 || rec.flushes != 0 {
		t.Fatalf("wrote %q (%d flushes)", rec.Body.String(), rec.flushes)
	}
	if u.PromptTokens != 30 {
		t.Errorf("usage %+v", u)
	}
}

// A stream that ends without message_stop is an error, with its usage.
func TestStreamCut(t *testing.T) {
	tr, u, err := runFixture(t, "cut")
	if !errors.Is(err, ErrStreamCut) {
		t.Fatalf("error %v, want ErrStreamCut", err)
	}
	if tr.content != "abc" || tr.done {
		t.Errorf("content %q done %v", tr.content, tr.done)
	}
	if u.CompletionTokens != 3 || u.PromptTokens != 30 {
		t.Errorf("usage %+v", u)
	}
}

// Each event is flushed as soon as it is translated when nothing more is
// waiting upstream: the client sees a delta before the next one is sent.
func TestStreamFlushesEachEvent(t *testing.T) {
	pr, pw := io.Pipe()
	rec := newRecorder()
	rec.flushed = make(chan string, 16)
	w := stream.NewWriter(rec)
	c := callFor([]byte(`{"model":"m","messages":[],"stream":true}`))
	done := make(chan error, 1)
	go func() {
		_, err := writeStream(w, upstreamResponse(stream.ContentType, pr), c)
		done <- err
	}()
	send := func(ev string) {
		if _, err := io.WriteString(pw, ev); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(want string) {
		t.Helper()
		select {
		case body := <-rec.flushed:
			if !strings.Contains(body, want) {
				t.Fatalf("flushed body lacks %q: %q", want, body)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no flush with %q", want)
		}
	}
	send("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n")
	send("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	send("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"first\"}}\n\n")
	wait(`"content":"first"`)
	send("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"second\"}}\n\n")
	wait(`"content":"second"`)
	send("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	wait("[DONE]")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pw.Close()
}

// A client write failure ends the translation with that error.
func TestStreamClientGone(t *testing.T) {
	path := filepath.Join("testdata", "stream", "text.sse")
	fw := &failWriter{flushRecorder: newRecorder()}
	w := stream.NewWriter(fw)
	_, err := writeStream(w, upstreamResponse(stream.ContentType, strings.NewReader(string(goldenfile.Read(t, path)))), callFor(requestFor(t, path)))
	if !errors.Is(err, errBroken) {
		t.Fatalf("error %v, want %v", err, errBroken)
	}
}

type failWriter struct{ *flushRecorder }

func (f *failWriter) Write([]byte) (int, error) { return 0, errBroken }
