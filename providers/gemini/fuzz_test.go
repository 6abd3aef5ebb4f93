package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// isObject reports whether b is what the router hands a provider: a valid
// JSON object.
func isObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}

// Any client body the router accepts translates without panicking, to valid
// JSON or to a 400.
func FuzzRequest(f *testing.F) {
	goldenfile.Seeds(f, "request/*.openai.json")
	goldenfile.Seeds(f, "embeddings/*.openai.json")
	f.Add([]byte(`{"messages":[{"role":"tool","tool_call_id":"call_x.sig","content":"{\"a\":1}"}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:,%zz"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !isObject(body) {
			return
		}
		for _, ep := range []llm.Op{llm.OpChat, llm.OpEmbeddings} {
			c := &llm.Call{Op: ep, Body: body, Model: "m", Upstream: upstream()}
			_ = Provider{}.Check(c)
			var out []byte
			var err *llm.Error
			if ep == llm.OpChat {
				out, err = translateChat(nil, c)
			} else {
				out, err = translateEmbeddings(nil, c)
			}
			if err != nil {
				if err.Status != 400 {
					t.Fatalf("error status %d", err.Status)
				}
				continue
			}
			if !json.Valid(out) {
				t.Fatalf("invalid JSON for %s:\n%s", body, out)
			}
		}
	})
}

// Any upstream answer translates without panicking, to valid JSON or an
// error.
func FuzzResponse(f *testing.F) {
	goldenfile.Seeds(f, "response/*.gemini.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		out, _, err := translateResponse(nil, body, "m")
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON for %s:\n%s", body, out)
		}
	})
}

// Any upstream event stream translates without panicking into valid SSE:
// `data:` events, each JSON or [DONE], [DONE] only last and only after a
// successful stream.
func FuzzStream(f *testing.F) {
	goldenfile.Seeds(f, "stream/*.gemini.sse")
	f.Add([]byte("data: {\"candidates\":[{\"index\":3},{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"x\",\"args\":[1]}}]}}]}\n\n"))
	f.Add([]byte("data: [{\"error\":\"text\"}]\r\n\r\ndata: \n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, includeUsage := range []bool{false, true} {
			rec := httptest.NewRecorder()
			w := stream.NewWriter(rec)
			c := chatCall([]byte(`{"model":"m","messages":[]}`), true, includeUsage)
			_, err := Provider{}.WriteResponse(w, sseResponse(body), c)
			out := rec.Body.Bytes()
			if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n\n")) {
				t.Fatalf("unterminated event: %q", out)
			}
			events := bytes.Split(bytes.TrimSuffix(out, []byte("\n\n")), []byte("\n\n"))
			for i, ev := range events {
				if len(out) == 0 {
					break
				}
				data, ok := bytes.CutPrefix(ev, []byte("data: "))
				if !ok || bytes.ContainsAny(data, "\r\n") {
					t.Fatalf("not a data event: %q", ev)
				}
				if string(data) == "[DONE]" {
					if i != len(events)-1 || err != nil {
						t.Fatalf("[DONE] at %d of %d, err %v", i, len(events), err)
					}
					continue
				}
				if !json.Valid(data) {
					t.Fatalf("invalid JSON event: %q", data)
				}
			}
			if err == nil && !bytes.HasSuffix(out, []byte("data: [DONE]\n\n")) {
				t.Fatalf("successful stream without [DONE]: %q", out)
			}
		}
	})
}

// A Gemini client's answer passes through whatever Gemini sends: without a
// failure, the client gets exactly the upstream's events (or a JSON array
// as events); with an error relayed midway, the upstream's events up to
// that one; an attempt that failed before committing sent nothing.
func FuzzRelayNative(f *testing.F) {
	goldenfile.Seeds(f, "stream/*.gemini.sse")
	goldenfile.Seeds(f, "response/*.gemini.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{"text/event-stream", "application/json"} {
			rec := httptest.NewRecorder()
			w := stream.NewWriter(rec)
			resp := sseResponse(body)
			resp.Header.Set("Content-Type", ct)
			_, err := Provider{}.RelayNative(w, resp, nativeCall(llm.OpGenerateContent, "{}", true))
			out := rec.Body.Bytes()
			var e *llm.Error
			switch {
			case err == nil && ct == "text/event-stream" && !bytes.Equal(out, rawEvents(body)):
				t.Fatalf("events changed: %q → %q", body, out)
			case errors.As(err, &e) && e.Relayed && ct == "text/event-stream" && !bytes.HasPrefix(rawEvents(body), out):
				t.Fatalf("relayed error not the upstream's events: %q → %q", body, out)
			case err != nil && !w.Committed() && len(out) > 0:
				t.Fatalf("bytes sent by a failed, uncommitted attempt: %q", out)
			}
			if err == nil && ct == "application/json" {
				for _, ev := range bytes.Split(bytes.TrimSuffix(out, []byte("\r\n\r\n")), []byte("\r\n\r\n")) {
					if data, ok := bytes.CutPrefix(ev, []byte("data: ")); !ok || !json.Valid(data) {
						t.Fatalf("not an event: %q", ev)
					}
				}
			}
		}
	})
}

// rawEvents is every event of an SSE body as the reader delimits it.
func rawEvents(body []byte) []byte {
	r := stream.NewReader(bytes.NewReader(body), 0)
	defer r.Release()
	var out []byte
	for {
		ev, err := r.Next()
		if err != nil {
			return out
		}
		out = append(out, ev.Raw...)
	}
}
