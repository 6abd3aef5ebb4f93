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

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The fake upstreams: pre-built answers, written as fast as a Go HTTP
// server can. One process serves three data ports (the upstream of the
// reverse_proxy sites, the OpenAI upstream of the routers, the Anthropic
// upstream of the routers) and a control port on which the orchestrator
// sets the stream shape of the next runs, reads how many connections each
// data port accepted and how many spans the OTLP sink received. The sink
// (POST /v1/traces on the control port) is the tracing variant's OTLP/HTTP
// endpoint: it decodes each export to count its spans and drops it.
//
// Every data port answers by path, as the real APIs do: a path ending in
// /messages gets an Anthropic Messages answer, one ending in /responses an
// OpenAI Responses answer, any other an OpenAI chat completion. A request
// whose body contains "stream":true gets a stream, any other a JSON
// answer. Nothing is recorded per request.

// streamShape is what the fakes stream: chunks content chunks, the first at
// once and each following one after delay; with idle, only the first frame
// is sent and the stream is then held open until the client goes away.
type streamShape struct {
	Chunks int
	Delay  time.Duration
	Idle   bool
}

// fakeMode is a shape with its pre-built bodies, per API (chat, messages,
// responses). A stream is a list of frames, each written with one Write
// and flushed: frame 0 at once, the content frames after the delay, the
// last frame (finish, usage, [DONE] or the API's equivalent) right after
// the last content chunk.
type fakeMode struct {
	shape  streamShape
	json   map[string][]byte
	stream map[string][][]byte
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
	m := &fakeMode{shape: s, json: map[string][]byte{}, stream: map[string][][]byte{}}
	m.json[apiChat] = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":` + jsonString(answerText) + `,"refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":9,"total_tokens":34}}`)
	m.json[apiMessages] = []byte(`{"id":"msg_bench","type":"message","role":"assistant","model":"bench-model","content":[{"type":"text","text":` + jsonString(answerText) + `}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`)

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
	m.stream[apiChat] = append(m.stream[apiChat], []byte(
		oaChunk(`{"role":"assistant","content":"","refusal":null}`, "null")+
			oaChunk(`{"content":`+content(0)+`}`, "null")))
	for i := 1; i < s.Chunks; i++ {
		m.stream[apiChat] = append(m.stream[apiChat], []byte(oaChunk(`{"content":`+content(i)+`}`, "null")))
	}
	m.stream[apiChat] = append(m.stream[apiChat], []byte(
		oaChunk(`{}`, `"stop"`)+
			`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":[],"usage":{"prompt_tokens":25,"completion_tokens":`+strconv.Itoa(s.Chunks)+`,"total_tokens":`+strconv.Itoa(25+s.Chunks)+`}}`+"\n\n"+
			"data: [DONE]\n\n"))

	ev := func(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }
	delta := func(i int) string {
		return ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+content(i)+`}}`)
	}
	m.stream[apiMessages] = append(m.stream[apiMessages], []byte(
		ev("message_start", `{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"bench-model","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}`)+
			ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)+
			ev("ping", `{"type":"ping"}`)+
			delta(0)))
	for i := 1; i < s.Chunks; i++ {
		m.stream[apiMessages] = append(m.stream[apiMessages], []byte(delta(i)))
	}
	m.stream[apiMessages] = append(m.stream[apiMessages], []byte(
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`)+
			ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":`+strconv.Itoa(s.Chunks)+`}}`)+
			ev("message_stop", `{"type":"message_stop"}`)))
	m.json[apiResponses], m.stream[apiResponses] = responsesAnswer(s, content)
	return m
}

// responsesAnswer is the Responses API's answer, in the shapes of OpenAI's
// API reference (as internal/fakeupstream serves them): the response
// object, and its stream of named events, each with its sequence_number:
// response.created, response.in_progress, output_item.added,
// content_part.added, one output_text.delta per chunk, output_text.done,
// content_part.done, output_item.done, response.completed with usage.
func responsesAnswer(s streamShape, content func(int) string) ([]byte, [][]byte) {
	text := ""
	for i := 0; i < s.Chunks; i++ {
		var w string
		_ = json.Unmarshal([]byte(content(i)), &w)
		text += w
	}
	usage := func(out int) string {
		return `{"input_tokens":25,"input_tokens_details":{"cached_tokens":0},"output_tokens":` + strconv.Itoa(out) +
			`,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":` + strconv.Itoa(25+out) + `}`
	}
	message := func(status, text string) string {
		content := `[]`
		if status == "completed" {
			content = `[{"type":"output_text","text":` + jsonString(text) + `,"annotations":[],"logprobs":[]}]`
		}
		return `{"id":"msg_bench","type":"message","status":"` + status + `","role":"assistant","content":` + content + `}`
	}
	response := func(status, output, usage string) string {
		return `{"id":"resp_bench","object":"response","created_at":1700000000,"status":"` + status + `","error":null,"incomplete_details":null,"instructions":"You are a helpful assistant.","max_output_tokens":1024,"model":"bench-model","output":` + output +
			`,"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":0.7,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1,"truncation":"disabled","usage":` + usage + `,"user":null,"metadata":{}}`
	}
	seq := 0
	ev := func(typ, fields string) string {
		e := "event: " + typ + "\ndata: {\"type\":\"" + typ + "\"," + fields + ",\"sequence_number\":" + strconv.Itoa(seq) + "}\n\n"
		seq++
		return e
	}
	const ids = `"item_id":"msg_bench","output_index":0,"content_index":0`
	delta := func(i int) string {
		return ev("response.output_text.delta", ids+`,"delta":`+content(i)+`,"logprobs":[]`)
	}
	var frames [][]byte
	frames = append(frames, []byte(
		ev("response.created", `"response":`+response("in_progress", "[]", "null"))+
			ev("response.in_progress", `"response":`+response("in_progress", "[]", "null"))+
			ev("response.output_item.added", `"output_index":0,"item":`+message("in_progress", ""))+
			ev("response.content_part.added", ids+`,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}`)+
			delta(0)))
	for i := 1; i < s.Chunks; i++ {
		frames = append(frames, []byte(delta(i)))
	}
	frames = append(frames, []byte(
		ev("response.output_text.done", ids+`,"text":`+jsonString(text)+`,"logprobs":[]`)+
			ev("response.content_part.done", ids+`,"part":{"type":"output_text","text":`+jsonString(text)+`,"annotations":[],"logprobs":[]}`)+
			ev("response.output_item.done", `"output_index":0,"item":`+message("completed", text))+
			ev("response.completed", `"response":`+response("completed", "["+message("completed", text)+"]", usage(s.Chunks)))))
	body := []byte(response("completed", "["+message("completed", answerText)+"]", usage(9)))
	return body, frames
}

// The inbound APIs (and the fakes' wire formats).
const (
	apiChat      = "chat"
	apiMessages  = "messages"
	apiResponses = "responses"
)

// apiOf is the API a fake upstream answers for path.
func apiOf(path string) string {
	switch {
	case strings.HasSuffix(path, "/messages"):
		return apiMessages
	case strings.HasSuffix(path, "/responses"):
		return apiResponses
	}
	return apiChat
}

// fake is one fake upstream server.
type fake struct {
	mode  *atomic.Pointer[fakeMode]
	conns atomic.Int64 // connections accepted
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
	api := apiOf(r.URL.Path)
	h := w.Header()
	if !stream {
		b := m.json[api]
		h["Content-Type"] = hdrJSON
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
		_, _ = w.Write(b)
		return
	}
	frames := m.stream[api]
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
	an := fs.String("anthropic", "", "address of the Anthropic upstream")
	_ = fs.Parse(args)
	debug.SetGCPercent(400)

	mode := new(atomic.Pointer[fakeMode])
	mode.Store(newFakeMode(streamShape{Chunks: 50}))
	fakes := map[string]*fake{}
	for name, addr := range map[string]string{"rp": *rp, "openai": *oa, "anthropic": *an} {
		if addr == "" {
			continue
		}
		f := &fake{mode: mode}
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
	var sink traceSink
	mux.Handle("/v1/traces", &sink)
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]int64{}
		for name, f := range fakes {
			out[name] = f.conns.Load()
		}
		out["spans"], out["exports"], out["bad_exports"] = sink.spans.Load(), sink.exports.Load(), sink.bad.Load()
		_ = json.NewEncoder(w).Encode(out)
	})
	ln, err := net.Listen("tcp", *ctl)
	if err != nil {
		log.Fatalf("upstream control: %v", err)
	}
	log.Fatal(http.Serve(ln, mux))
}

// traceSink is an OTLP/HTTP trace endpoint that counts the spans of each
// export (protobuf) and keeps nothing.
type traceSink struct {
	spans, exports, bad atomic.Int64
}

func (t *traceSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if err != nil || r.Method != http.MethodPost {
		t.bad.Add(1)
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	var n int64
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += int64(len(ss.Spans))
		}
	}
	t.spans.Add(n)
	t.exports.Add(1)
	// An empty ExportTraceServiceResponse: full success.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}
