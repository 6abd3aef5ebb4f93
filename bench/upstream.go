package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The fake upstreams: pre-built answers, written as fast as a Go HTTP
// server can. One process serves three data ports (the OpenAI-format
// upstream of reverse_proxy, the OpenAI-format upstream of the passthrough
// router, the Anthropic Messages upstream of the translating router) and a
// control port on which the orchestrator sets the stream shape of the next
// runs and reads how many connections each data port accepted.
//
// A request whose body contains "stream":true gets a stream, any other a
// JSON answer. Nothing is recorded per request.

// streamShape is what the fakes stream: chunks content chunks, the first at
// once and each following one after delay; with idle, only the first frame
// is sent and the stream is then held open until the client goes away.
type streamShape struct {
	Chunks int
	Delay  time.Duration
	Idle   bool
}

// fakeMode is a shape with its pre-built bodies. A stream is a list of
// frames, each written with one Write and flushed: frame 0 at once, the
// content frames after the delay, the last frame (finish, usage, [DONE] or
// its Anthropic equivalent) right after the last content chunk.
type fakeMode struct {
	shape           streamShape
	openaiJSON      []byte
	openaiStream    [][]byte
	anthropicJSON   []byte
	anthropicStream [][]byte
}

const answerText = "Hello! How can I help you today?"

// goBenchChunks is the stream length of the Go benchmarks in paths_test.go.
const goBenchChunks = 50

// chunkWord is the text of content chunk i, the same in every variant (the
// mock's answer is made of the same words).
func chunkWord(i int) string { return "word" + strconv.Itoa(i) }

// mockAnswer is the mock target's configured answer: the same chunk words.
func mockAnswer(chunks int) string {
	w := make([]string, chunks)
	for i := range w {
		w[i] = chunkWord(i)
	}
	return strings.Join(w, " ")
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func newFakeMode(s streamShape) *fakeMode {
	if s.Chunks < 1 {
		s.Chunks = 1
	}
	m := &fakeMode{shape: s}
	m.openaiJSON = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":` + jsonString(answerText) + `,"refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":9,"total_tokens":34}}`)
	m.anthropicJSON = []byte(`{"id":"msg_bench","type":"message","role":"assistant","model":"bench-model","content":[{"type":"text","text":` + jsonString(answerText) + `}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`)

	oaChunk := func(delta, finish string) string {
		return `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + finish + `}]}` + "\n\n"
	}
	content := func(i int) string {
		w := chunkWord(i)
		if i < s.Chunks-1 {
			w += " "
		}
		return jsonString(w)
	}
	m.openaiStream = append(m.openaiStream, []byte(
		oaChunk(`{"role":"assistant","content":"","refusal":null}`, "null")+
			oaChunk(`{"content":`+content(0)+`}`, "null")))
	for i := 1; i < s.Chunks; i++ {
		m.openaiStream = append(m.openaiStream, []byte(oaChunk(`{"content":`+content(i)+`}`, "null")))
	}
	m.openaiStream = append(m.openaiStream, []byte(
		oaChunk(`{}`, `"stop"`)+
			`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":[],"usage":{"prompt_tokens":25,"completion_tokens":`+strconv.Itoa(s.Chunks)+`,"total_tokens":`+strconv.Itoa(25+s.Chunks)+`}}`+"\n\n"+
			"data: [DONE]\n\n"))

	ev := func(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }
	delta := func(i int) string {
		return ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+content(i)+`}}`)
	}
	m.anthropicStream = append(m.anthropicStream, []byte(
		ev("message_start", `{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"bench-model","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}`)+
			ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)+
			ev("ping", `{"type":"ping"}`)+
			delta(0)))
	for i := 1; i < s.Chunks; i++ {
		m.anthropicStream = append(m.anthropicStream, []byte(delta(i)))
	}
	m.anthropicStream = append(m.anthropicStream, []byte(
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`)+
			ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":`+strconv.Itoa(s.Chunks)+`}}`)+
			ev("message_stop", `{"type":"message_stop"}`)))
	return m
}

// fake is one fake upstream server: its wire format and its mode.
type fake struct {
	anthropic bool
	mode      *atomic.Pointer[fakeMode]
	conns     atomic.Int64 // connections accepted
}

var (
	hdrJSON   = []string{"application/json"}
	hdrSSE    = []string{"text/event-stream"}
	hdrNoCach = []string{"no-cache"}
	bodyPool  = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
	streamKey = []byte(`"stream":true`)
	streamSp  = []byte(`"stream": true`)
)

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bp := bodyPool.Get().(*[]byte)
	body := (*bp)[:0]
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := r.Body.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err != nil {
			break
		}
	}
	stream := bytes.Contains(body, streamKey) || bytes.Contains(body, streamSp)
	*bp = body
	bodyPool.Put(bp)

	m := f.mode.Load()
	h := w.Header()
	if !stream {
		b := m.openaiJSON
		if f.anthropic {
			b = m.anthropicJSON
		}
		h["Content-Type"] = hdrJSON
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
		_, _ = w.Write(b)
		return
	}
	frames := m.openaiStream
	if f.anthropic {
		frames = m.anthropicStream
	}
	h["Content-Type"] = hdrSSE
	h["Cache-Control"] = hdrNoCach
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	var t *time.Timer
	for i, fr := range frames {
		if i > 0 && i < len(frames)-1 && m.shape.Delay > 0 {
			if t == nil {
				t = time.NewTimer(m.shape.Delay)
			} else {
				t.Reset(m.shape.Delay)
			}
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if _, err := w.Write(fr); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		if m.shape.Idle {
			<-r.Context().Done()
			return
		}
	}
}

// fakeServer starts f on addr.
func fakeServer(addr string, f *fake) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:  f,
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				f.conns.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// runUpstream is `-role upstream`: serve the fakes until killed.
func runUpstream(args []string) {
	fs := flag.NewFlagSet("upstream", flag.ExitOnError)
	ctl := fs.String("ctl", "127.0.0.1:0", "control address")
	rp := fs.String("rp", "", "address of the OpenAI-format upstream for reverse_proxy")
	oa := fs.String("openai", "", "address of the OpenAI-format upstream for the passthrough router")
	an := fs.String("anthropic", "", "address of the Anthropic-format upstream")
	_ = fs.Parse(args)
	debug.SetGCPercent(400)

	mode := new(atomic.Pointer[fakeMode])
	mode.Store(newFakeMode(streamShape{Chunks: 50}))
	fakes := map[string]*fake{}
	for name, addr := range map[string]string{"rp": *rp, "openai": *oa, "anthropic": *an} {
		if addr == "" {
			continue
		}
		f := &fake{anthropic: name == "anthropic", mode: mode}
		if _, err := fakeServer(addr, f); err != nil {
			log.Fatalf("upstream %s: %v", name, err)
		}
		fakes[name] = f
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mode", func(w http.ResponseWriter, r *http.Request) {
		var s streamShape
		s.Chunks, _ = strconv.Atoi(r.FormValue("chunks"))
		s.Delay, _ = time.ParseDuration(r.FormValue("delay"))
		s.Idle = r.FormValue("idle") == "1"
		mode.Store(newFakeMode(s))
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]int64{}
		for name, f := range fakes {
			out[name] = f.conns.Load()
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	ln, err := net.Listen("tcp", *ctl)
	if err != nil {
		log.Fatalf("upstream control: %v", err)
	}
	log.Fatal(http.Serve(ln, mux))
}
