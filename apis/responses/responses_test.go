package responses

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func TestMatch(t *testing.T) {
	for path, ok := range map[string]bool{"/v1/responses": true, "/responses": true, "/v1/responses/resp_1": false, "/v1/chat/completions": false} {
		if rt, got := (API{}).Match(path); got != ok || (ok && rt.Op != llm.OpResponses) {
			t.Errorf("%s: %v %v", path, rt, got)
		}
	}
}

// Parse reads the model, the stream flag, the output limit, the end-user
// id (user, else safety_identifier, else prompt_cache_key), the client key
// and the headers a passthrough forwards.
func TestParse(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/responses", nil)
	r.Header.Set("Authorization", "Bearer sk-client")
	r.Header.Set("OpenAI-Beta", "responses=v1")
	for body, user := range map[string]string{
		`{"model":"m","input":"x","user":"u","safety_identifier":"s","prompt_cache_key":"k"}`: "u",
		`{"model":"m","input":"x","safety_identifier":"s","prompt_cache_key":"k"}`:            "s",
		`{"model":"m","input":"x","prompt_cache_key":"k"}`:                                    "k",
	} {
		req, e := API{}.Parse(r, []byte(body), apis.Route{Op: llm.OpResponses})
		if e != nil || req.User != user {
			t.Fatalf("%s: %v %+v", body, e, req)
		}
	}
	req, e := API{}.Parse(r, []byte(`{"model":"gpt-5","stream":true,"max_output_tokens":300,"input":[]}`), apis.Route{Op: llm.OpResponses})
	if e != nil || req.Model != "gpt-5" || !req.Stream || req.MaxTokens != 300 || !req.IncludeUsage || req.ClientKey != "sk-client" ||
		req.Op != llm.OpResponses || req.HubOp != llm.OpChat || req.Header.Get("OpenAI-Beta") != "responses=v1" {
		t.Fatalf("%v %+v", e, req)
	}
	for body, param := range map[string]string{
		`{"input":"x"}`:                         "model",
		`{"model":1}`:                           "model",
		`{"model":"a","model":"b"}`:             "model",
		`{"model":"m","stream":"yes"}`:          "stream",
		`{"model":"m","input":{"role":"user"}}`: "input",
		`{"model":""}`:                          "model",
	} {
		_, e := API{}.Parse(r, []byte(body), apis.Route{Op: llm.OpResponses})
		if e == nil || e.Status != 400 || e.Param != param {
			t.Errorf("%s: %v", body, e)
		}
	}
}

// Nothing reaches the client before the first translated event: a flush
// before it, and an attempt that fails before it, leave the response
// uncommitted, and the next attempt starts clean.
func TestEncoderHoldsUntilFirstEvent(t *testing.T) {
	req := parse(t, []byte(`{"model":"m","input":"x","stream":true}`))
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	enc := API{}.NewEncoder(w, req)
	enc.Header().Set("Content-Type", "text/event-stream")
	if _, err := enc.Write([]byte(": comment\n\ndata: {\"choices\":[{\"delta\":{\"con")); err != nil {
		t.Fatal(err)
	}
	if err := enc.Flush(); err != nil || w.Committed() || enc.Committed() {
		t.Fatalf("committed before the first event: %v", err)
	}
	// The attempt failed; the next provider starts over.
	w.ResetAttempt()
	enc.Header().Set("Content-Type", "application/json")
	enc.Header().Set("Content-Length", "999")
	enc.WriteHeader(http.StatusOK)
	if _, err := enc.Write(goldenfile.Read(t, "testdata/answer/text.json")); err != nil {
		t.Fatal(err)
	}
	if w.Committed() {
		t.Fatal("a JSON answer was sent before Finish")
	}
	if err := enc.Finish(); err != nil {
		t.Fatal(err)
	}
	events, err := splitEvents(rec.Body.String())
	if err != nil || events[len(events)-1].Get("type").Str != "response.completed" || rec.Header().Get("Content-Length") != "" {
		t.Fatalf("%v %v\n%s", err, rec.Header(), rec.Body.String())
	}
}

// An answer that cannot be translated is a failed attempt, not an answer.
func TestEncoderInvalidAnswer(t *testing.T) {
	for _, body := range []string{`not json`, `{"error":{"message":"x"}}`, ``} {
		req := parse(t, []byte(`{"model":"m","input":"x"}`))
		rec := httptest.NewRecorder()
		w := stream.NewWriter(rec)
		enc := API{}.NewEncoder(w, req)
		enc.Header().Set("Content-Type", "application/json")
		if body != "" {
			_, _ = enc.Write([]byte(body))
		}
		err := enc.Finish()
		var e *llm.Error
		if !asError(err, &e) || e.Kind != llm.KindInvalid || w.Committed() {
			t.Fatalf("%q: %v, committed %v", body, err, w.Committed())
		}
	}
}

func asError(err error, e **llm.Error) bool {
	pe, ok := err.(*llm.Error)
	*e = pe
	return ok
}

// StreamError on a passthrough stream (no translated event yet) writes
// only response.failed; on a non-streamed request nothing.
func TestEncoderStreamErrorAlone(t *testing.T) {
	req := parse(t, []byte(`{"model":"m","input":"x","stream":true}`))
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	_, _ = w.Write([]byte("event: response.created\ndata: {}\n\n")) // what a relay sent
	API{}.NewEncoder(w, req).StreamError(&llm.Error{Status: 504, Code: "upstream_timeout", Message: "too slow"})
	body := strings.TrimPrefix(rec.Body.String(), "event: response.created\ndata: {}\n\n")
	events, err := splitEvents(body)
	if err != nil || len(events) != 1 || events[0].Get("type").Str != "response.failed" || events[0].Get("response.error.code").Str != "upstream_timeout" {
		t.Fatalf("%v %s", err, body)
	}

	req = parse(t, []byte(`{"model":"m","input":"x"}`))
	rec = httptest.NewRecorder()
	w = stream.NewWriter(rec)
	_, _ = w.Write([]byte("{"))
	API{}.NewEncoder(w, req).StreamError(&llm.Error{Status: 502, Message: "x"})
	if rec.Body.String() != "{" {
		t.Fatalf("body %q", rec.Body.String())
	}
}
