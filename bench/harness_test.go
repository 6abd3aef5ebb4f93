package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

// Tests of the harness itself: the fakes' pre-built answers are what the
// APIs send, the load generator tells a complete answer from a broken one
// in each API's terms, and the generated Caddyfile adapts.

// sseEvents splits a stream into its events: name (or "") and data.
func sseEvents(t *testing.T, stream []byte) [][2]string {
	t.Helper()
	var out [][2]string
	for _, block := range strings.Split(strings.TrimSpace(string(stream)), "\n\n") {
		var ev [2]string
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				ev[0] = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev[1] = strings.TrimPrefix(line, "data: ")
			default:
				t.Fatalf("unexpected line %q", line)
			}
		}
		out = append(out, ev)
	}
	return out
}

func TestFakeAnswers(t *testing.T) {
	const chunks = 5
	m := newFakeMode(streamShape{Chunks: chunks})
	for _, api := range []string{apiChat, apiMessages, apiResponses} {
		if !json.Valid(m.json[api]) || !bytes.Contains(m.json[api], answerKey[api]) {
			t.Errorf("%s: JSON answer %s", api, m.json[api])
		}
		if got := len(m.stream[api]); got != chunks+1 {
			t.Errorf("%s: %d frames, want %d (the first chunk with the opening events, one per chunk, the end)", api, got, chunks+1)
		}
		events := sseEvents(t, bytes.Join(m.stream[api], nil))
		deltas := 0
		for i, ev := range events {
			if ev[1] == "[DONE]" {
				if api != apiChat || i != len(events)-1 {
					t.Errorf("%s: [DONE] at %d of %d", api, i, len(events))
				}
				continue
			}
			if !json.Valid([]byte(ev[1])) {
				t.Fatalf("%s: event %d is not JSON: %s", api, i, ev[1])
			}
			var d struct {
				Type string
				Seq  *int `json:"sequence_number"`
			}
			_ = json.Unmarshal([]byte(ev[1]), &d)
			if api != apiChat && d.Type != ev[0] {
				t.Errorf("%s: event %q carries type %q", api, ev[0], d.Type)
			}
			if api == apiResponses && (d.Seq == nil || *d.Seq != i) {
				t.Errorf("responses: event %d (%s) has sequence_number %v", i, ev[0], d.Seq)
			}
			if strings.Contains(ev[1], `"delta":{"content":"word`) || strings.Contains(ev[1], `"text_delta"`) || ev[0] == "response.output_text.delta" {
				deltas++
			}
		}
		if deltas != chunks {
			t.Errorf("%s: %d content deltas, want %d", api, deltas, chunks)
		}
		last := events[len(events)-1]
		if want := map[string]string{apiChat: "", apiMessages: "message_stop", apiResponses: "response.completed"}[api]; last[0] != want {
			t.Errorf("%s: last event %q, want %q", api, last[0], want)
		}
	}
	var done struct {
		Response struct {
			Status string
			Usage  struct {
				Output int `json:"output_tokens"`
			}
			Output []struct {
				Content []struct{ Text string }
			}
		}
	}
	events := sseEvents(t, bytes.Join(m.stream[apiResponses], nil))
	if err := json.Unmarshal([]byte(events[len(events)-1][1]), &done); err != nil {
		t.Fatal(err)
	}
	if r := done.Response; r.Status != "completed" || r.Usage.Output != chunks || len(r.Output) != 1 || r.Output[0].Content[0].Text != "word0 word1 word2 word3 word4" {
		t.Errorf("response.completed: %+v", r)
	}
}

// serveFake starts a fake upstream with the mode; cut, when set, ends each
// stream before its last frame.
func serveFake(t *testing.T, shape streamShape, cut bool) string {
	t.Helper()
	mode := new(atomic.Pointer[fakeMode])
	m := newFakeMode(shape)
	if cut {
		for api, frames := range m.stream {
			m.stream[api] = frames[:len(frames)-1]
		}
	}
	mode.Store(m)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	srv, err := fakeServer(addr, &fake{mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return addr
}

func TestClientChecksAnswers(t *testing.T) {
	const chunks = 7
	addr := serveFake(t, streamShape{Chunks: chunks}, false)
	cutAddr := serveFake(t, streamShape{Chunks: chunks}, true)
	// Events per stream: chat role + chunks + finish + usage ([DONE] not
	// counted); Messages start, block start, ping, chunks, block stop,
	// delta, stop; Responses four opening events, chunks, four closing.
	want := map[string]int64{apiChat: chunks + 3, apiMessages: chunks + 6, apiResponses: chunks + 8}
	for _, api := range []string{apiChat, apiMessages, apiResponses} {
		c, err := dial(addr, api, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok, complete, why := c.one(buildRequest(addr, api, requestBody(api, "m", false)), false); !ok || !complete {
			t.Errorf("%s JSON: %s", api, why)
		}
		_, n, ok, complete, why := c.one(buildRequest(addr, api, requestBody(api, "m", true)), true)
		if !ok || !complete || n != want[api] {
			t.Errorf("%s stream: ok %v complete %v, %d events (want %d): %s", api, ok, complete, n, want[api], why)
		}
		c.close()

		c, err = dial(cutAddr, api, "")
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, complete, why = c.one(buildRequest(cutAddr, api, requestBody(api, "m", true)), true)
		if complete || !strings.Contains(why, "without "+endWhat(api)) {
			t.Errorf("%s: a stream cut before its end passed: complete %v, %q", api, complete, why)
		}
		c.close()
	}
	// A header every answer must carry.
	c, err := dial(addr, apiChat, "X-LLM-Cache: hit")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if _, _, ok, _, why := c.one(buildRequest(addr, apiChat, chatBody("m", false)), false); ok || !strings.Contains(why, "X-LLM-Cache") {
		t.Errorf("an answer without the wanted header passed: %q", why)
	}
}

// TestClientErrorEvents: an error event fails the stream, in each API's
// terms.
func TestClientErrorEvents(t *testing.T) {
	streams := map[string]string{
		apiChat:      "data: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n",
		apiMessages:  "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}\n\n",
		apiResponses: "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":0}\n\n",
	}
	for api, body := range streams {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte(body))
		})}
		go func() { _ = srv.Serve(ln) }()
		c, err := dial(ln.Addr().String(), api, "")
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, complete, why := c.one(buildRequest(ln.Addr().String(), api, requestBody(api, "m", true)), true)
		if complete || !strings.Contains(why, "event") {
			t.Errorf("%s: an error event passed: complete %v, %q", api, complete, why)
		}
		c.close()
		_ = srv.Close()
	}
}

func TestRequestBodies(t *testing.T) {
	for _, api := range []string{apiChat, apiMessages, apiResponses} {
		for _, stream := range []bool{false, true} {
			b := requestBody(api, "bench-fast", stream)
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("%s: %v", api, err)
			}
			if (v["stream"] == true) != stream {
				t.Errorf("%s: stream %v in %s", api, v["stream"], b)
			}
			switch api {
			case apiMessages:
				if v["max_tokens"] == nil {
					t.Errorf("messages body without max_tokens: %s", b)
				}
			case apiResponses:
				if v["input"] == nil {
					t.Errorf("responses body without input: %s", b)
				}
			}
			padded := padBody(b, 4096)
			if len(padded) != 4096+1 || !json.Valid(padded) {
				t.Errorf("%s: padded body of %d bytes, valid %v", api, len(padded), json.Valid(padded))
			}
		}
	}
	req := buildRequest("h:1", apiMessages, []byte("{}"), "Authorization: Bearer k")
	for _, want := range []string{"POST /v1/messages HTTP/1.1\r\n", "anthropic-version: 2023-06-01\r\n", "Authorization: Bearer k\r\n", "Content-Length: 2\r\n\r\n{}"} {
		if !bytes.Contains(req, []byte(want)) {
			t.Errorf("request lacks %q:\n%s", want, req)
		}
	}
}

func TestCommandStats(t *testing.T) {
	before := parseCommandStats("# Commandstats\r\ncmdstat_evalsha:calls=10,usec=5,usec_per_call=0.5,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=3,usec=1\r\ncmdstat_zadd:calls=20,usec=1\r\n")
	after := parseCommandStats("# Commandstats\r\ncmdstat_evalsha:calls=30,usec=5\r\ncmdstat_eval:calls=1,usec=1\r\ncmdstat_info:calls=5,usec=1\r\ncmdstat_zadd:calls=60,usec=1\r\ncmdstat_client|setinfo:calls=2,usec=1\r\ncmdstat_hello:calls=1,usec=1\r\n")
	d := diffCommandStats(before, after)
	if d.trips != 24 || d.scripts != 21 || d.inScripts != 40 || d.byName["info"] != 0 {
		t.Errorf("diff %+v", d)
	}
}

// TestCaddyfileAdapts: every site of the generated Caddyfile adapts.
func TestCaddyfileAdapts(t *testing.T) {
	p := ports{admin: 2019, ctl: 9000, upRP: 9001, upOpenAI: 9002, upAnthropic: 9003, redis: 6379, site: map[string]int{}}
	for i, s := range siteOrder {
		p.site[s] = 8000 + i
	}
	cfg := &config{chunks: 50, ttfcDelay: 20 * time.Millisecond}
	adapter := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}
	for _, site := range siteOrder {
		body := caddyConfig(p, []string{site}, cfg, t.TempDir())
		if _, _, err := adapter.Adapt([]byte(body), nil); err != nil {
			t.Errorf("site %s: %v\n%s", site, err, body)
		}
	}
}

// TestRoundOrder: every variant has its place, pairs are neighbours, and
// even rounds run backwards.
func TestRoundOrder(t *testing.T) {
	keys := func(vs []*variant) string {
		var b strings.Builder
		for _, v := range vs {
			b.WriteString(v.Key)
		}
		return b.String()
	}
	vs := allVariants()
	if got := keys(roundOrder(vs, 1)); got != measureOrder {
		t.Errorf("round 1: %s, want %s", got, measureOrder)
	}
	rev := []byte(measureOrder)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if got := keys(roundOrder(vs, 2)); got != string(rev) {
		t.Errorf("round 2: %s, want %s", got, rev)
	}
	for _, v := range vs {
		if v.Base != "" && strings.Index(measureOrder, v.Base) > strings.Index(measureOrder, v.Key) {
			t.Errorf("(%s) runs before its baseline (%s) in odd rounds", v.Key, v.Base)
		}
	}
}
