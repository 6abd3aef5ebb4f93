package gemini

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/apis/internal/costtest"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	provider "github.com/llmrouter/caddy-llm-router/providers/gemini"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Gemini answers as Google sends them: a pretty-printed JSON answer, a
// stream framed with CRLF whose every chunk has cumulative usageMetadata,
// a function call whose arguments have a usageMetadata key of their own.
const (
	nativeAnswer = `{
  "candidates": [
    {
      "content": {
        "parts": [
          {
            "functionCall": {
              "name": "report",
              "args": {
                "usageMetadata": {
                  "promptTokenCount": 1
                }
              }
            }
          }
        ],
        "role": "model"
      },
      "finishReason": "STOP",
      "index": 0
    }
  ],
  "usageMetadata": {
    "promptTokenCount": 1200,
    "candidatesTokenCount": 40,
    "totalTokenCount": 1290,
    "cachedContentTokenCount": 1000,
    "promptTokensDetails": [
      {
        "modality": "TEXT",
        "tokenCount": 1200
      }
    ],
    "cacheTokensDetails": [
      {
        "modality": "TEXT",
        "tokenCount": 1000
      }
    ],
    "thoughtsTokenCount": 50,
    "toolUsePromptTokenCount": 10
  },
  "modelVersion": "gemini-2.5-flash",
  "responseId": "r1"
}
`

	nativeStream = `data: {"candidates": [{"content": {"parts": [{"text": "usageMetadata"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 1200,"totalTokenCount": 1200,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 1200}]},"modelVersion": "gemini-2.5-flash","responseId": "r1"}` + "\r\n\r\n" +
		`data: {"candidates": [{"content": {"parts": [{"text": " there"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 1200,"candidatesTokenCount": 40,"totalTokenCount": 1290,"cachedContentTokenCount": 1000,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 1200}],"thoughtsTokenCount": 50},"modelVersion": "gemini-2.5-flash","responseId": "r1"}` + "\r\n\r\n"
)

func costPath(string, []byte) string { return "usageMetadata" }

func relay(t *testing.T, stream bool, ct, body string, p *costtest.Pricer) ([]byte, llm.Usage) {
	t.Helper()
	c := &llm.Call{Op: llm.OpGenerateContent, Stream: stream, Model: "gemini-2.5-flash", Upstream: &llm.Upstream{Name: "gemini"}}
	var f *apis.CostFilter
	if p != nil {
		f = API{}.CostFilter(chatRequest(nil, stream), true, p.Func())
	}
	out, u, err := costtest.Relay(provider.Provider{}.RelayNative, c, ct, body, f)
	if err != nil {
		t.Fatal(err)
	}
	return out, costtest.Tokens(u)
}

// A native stream: every chunk's usageMetadata gets the cost of the
// figures it reports; the last one's is the usage the relay counts. Written
// in any two pieces, it comes out the same.
func TestCostNativeStream(t *testing.T) {
	plain, u := relay(t, true, stream.ContentType, nativeStream, nil)
	p := &costtest.Pricer{Budget: true}
	out, _ := relay(t, true, stream.ContentType, nativeStream, p)
	if err := costtest.CheckStream(plain, out, p, costPath); err != nil {
		t.Fatal(err)
	}
	if len(p.Seen) != 2 || p.Seen[1] != u || u.PromptTokens != 1200 || u.CompletionTokens != 90 || u.CacheReadTokens != 1000 {
		t.Fatalf("priced %+v, the relay counted %+v", p.Seen, u)
	}
	for cut := 1; cut < len(plain); cut += 29 {
		f := API{}.CostFilter(chatRequest(nil, true), true, (&costtest.Pricer{Budget: true}).Func())
		if got := costtest.Run(f, plain[:cut], plain[cut:]); string(got) != string(out) {
			t.Fatalf("cut at %d:\n%s", cut, got)
		}
	}
	// A stream Gemini sent as one JSON array reaches the client as events.
	array := "[" + strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(nativeStream, "data: "), "\r\n\r\n"), "\r\n\r\ndata: ", ",") + "]"
	plain, u = relay(t, true, "application/json", array, nil)
	p = &costtest.Pricer{}
	out, _ = relay(t, true, "application/json", array, p)
	if err := costtest.CheckStream(plain, out, p, costPath); err != nil {
		t.Fatal(err)
	}
	if len(p.Seen) != 2 || p.Seen[1] != u {
		t.Fatalf("array: priced %+v, the relay counted %+v", p.Seen, u)
	}
}

// A native answer, pretty-printed: its usageMetadata gets the cost (tool
// use prompt tokens and thoughts counted as the relay counts them), the
// function call's arguments do not.
func TestCostNativeAnswer(t *testing.T) {
	plain, u := relay(t, false, "application/json", nativeAnswer, nil)
	p := &costtest.Pricer{Budget: true}
	out, _ := relay(t, false, "application/json", nativeAnswer, p)
	if err := costtest.CheckAnswer(plain, out, p, "usageMetadata"); err != nil {
		t.Fatal(err)
	}
	if p.Seen[0] != u || u.PromptTokens != 1210 || u.CompletionTokens != 90 {
		t.Fatalf("priced %+v, the relay counted %+v", p.Seen, u)
	}
	if !strings.Contains(string(out), `"toolUsePromptTokenCount": 10,"cost":`) {
		t.Fatalf("cost not after the last member:\n%s", out)
	}
}

// Translated answers and streams: the usageMetadata (of the last chunk)
// gets the cost of the hub's usage; nothing else changes, however the hub
// bytes come.
func TestCostTranslated(t *testing.T) {
	for _, in := range goldenfile.Cases(t, "stream/*.hub.sse") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			hub, _, _ := bytes.Cut(goldenfile.Read(t, in), []byte("#!error"))
			for _, n := range []int{0, 7} {
				plain, err := costtest.Encode(API{}, chatRequest(nil, true), stream.ContentType, hub, n, nil)
				p := &costtest.Pricer{Budget: true}
				out, err2 := costtest.Encode(API{}, chatRequest(nil, true), stream.ContentType, hub, n, API{}.CostFilter(chatRequest(nil, true), false, p.Func()))
				if (err == nil) != (err2 == nil) {
					t.Fatalf("errors %v / %v", err, err2)
				}
				if err := costtest.CheckStream(plain, out, p, costPath); err != nil {
					t.Fatal(err)
				}
				hu := costtest.HubUsage(hub)
				if !hu.Zero() && (len(p.Seen) != 1 || p.Seen[0] != hu) {
					t.Fatalf("priced %+v, hub usage %+v", p.Seen, hu)
				}
			}
		})
	}
	for _, in := range goldenfile.Cases(t, "answer/*.hub.json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			hub := goldenfile.Read(t, in)
			req := chatRequest(nil, false)
			plain, err := costtest.Encode(API{}, req, "application/json", hub, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := &costtest.Pricer{}
			out, _ := costtest.Encode(API{}, req, "application/json", hub, 0, API{}.CostFilter(req, false, p.Func()))
			if err := costtest.CheckAnswer(plain, out, p, "usageMetadata"); err != nil {
				t.Fatal(err)
			}
			if hu := costtest.HubUsage(hub); !hu.Zero() && (len(p.Seen) != 1 || p.Seen[0] != hu) {
				t.Fatalf("priced %+v, hub usage %+v", p.Seen, hu)
			}
		})
	}
}

// Token counting has no usage: no filter.
func TestCostCountTokens(t *testing.T) {
	req := &apis.Request{Op: llm.OpGeminiCountTokens}
	if f := (API{}).CostFilter(req, true, (&costtest.Pricer{}).Func()); f != nil {
		t.Fatal("a filter for countTokens")
	}
}

// Any chunk among a native stream's, written in any pieces, and any JSON
// answer: the output differs from the input only in usageMetadata.
func FuzzCostFilter(f *testing.F) {
	for _, ev := range costtest.Events([]byte(nativeStream)) {
		data, _ := costtest.Data(ev)
		f.Add(data, 7, 50, true)
	}
	f.Add([]byte(nativeAnswer), 1, 90, false)
	f.Add([]byte(`{"usageMetadata":{"cost":"x","promptTokenCount":1e3}}`), 1, 9, true)
	f.Fuzz(func(t *testing.T, data []byte, a, b int, budget bool) {
		if !gjson.ValidBytes(data) {
			return
		}
		if !strings.ContainsAny(string(data), "\r\n") {
			in := []byte(nativeStream + "data: " + string(data) + "\r\n\r\n")
			p := &costtest.Pricer{Budget: budget}
			out := costtest.Run(API{}.CostFilter(chatRequest(nil, true), true, p.Func()), costtest.Split(in, a, b, a*b)...)
			if err := costtest.CheckStream(in, out, p, costPath); err != nil {
				t.Fatal(err)
			}
		}
		if d := strings.TrimSpace(string(data)); d == "" || d[0] != '{' && d[0] != '[' {
			return
		}
		p := &costtest.Pricer{Budget: budget}
		out := costtest.Run(API{}.CostFilter(chatRequest(nil, false), true, p.Func()), costtest.Split(data, a, b)...)
		if err := costtest.CheckAnswer(data, out, p, "usageMetadata"); err != nil {
			t.Fatal(err)
		}
	})
}
