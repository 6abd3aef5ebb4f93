package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The load generator: fixed concurrency, closed loop, HTTP/1.1 keep-alive.
// Each worker owns one connection, writes a pre-built request with one
// Write and parses the answer with http.ReadResponse, so the client costs
// little next to the server under test.

// apiPath is the path of an API's request.
var apiPath = map[string]string{
	apiChat:      "/v1/chat/completions",
	apiMessages:  "/v1/messages",
	apiResponses: "/v1/responses",
}

// buildRequest is a complete HTTP/1.1 POST of body to the API's path, with
// the headers its SDK sends (Anthropic's anthropic-version) and extra (the
// router key, "" for none), each "Name: value".
func buildRequest(addr, api string, body []byte, extra ...string) []byte {
	var b bytes.Buffer
	b.WriteString("POST " + apiPath[api] + " HTTP/1.1\r\nHost: ")
	b.WriteString(addr)
	b.WriteString("\r\nUser-Agent: llm-router-bench\r\nContent-Type: application/json\r\nAccept: */*\r\n")
	if api == apiMessages {
		b.WriteString("anthropic-version: 2023-06-01\r\n")
	}
	for _, h := range extra {
		if h != "" {
			b.WriteString(h + "\r\n")
		}
	}
	b.WriteString("Content-Length: ")
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteString("\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}

// The client's request in each API: the same short conversation (a
// system prompt and one user message), streamed or not.
const (
	systemPrompt = "You are a helpful assistant."
	userPrompt   = "Hello! Please say hello back."
)

// requestBody is the body of the API's request.
func requestBody(api, model string, stream bool) []byte {
	switch api {
	case apiMessages:
		return messagesBody(model, stream)
	case apiResponses:
		return responsesBody(model, stream)
	}
	return chatBody(model, stream)
}

// chatBody is the Chat Completions request, with usage asked for on
// streams so that every chat variant sends the same chunks.
func chatBody(model string, stream bool) []byte {
	s := `{"model":"` + model + `","messages":[{"role":"system","content":"` + systemPrompt + `"},{"role":"user","content":"` + userPrompt + `"}],"temperature":0.7`
	if stream {
		s += `,"stream":true,"stream_options":{"include_usage":true}`
	}
	return []byte(s + "}")
}

// messagesBody is the Anthropic Messages request (max_tokens is required).
func messagesBody(model string, stream bool) []byte {
	s := `{"model":"` + model + `","max_tokens":1024,"system":"` + systemPrompt + `","messages":[{"role":"user","content":"` + userPrompt + `"}],"temperature":0.7`
	if stream {
		s += `,"stream":true`
	}
	return []byte(s + "}")
}

// responsesBody is the OpenAI Responses request.
func responsesBody(model string, stream bool) []byte {
	s := `{"model":"` + model + `","instructions":"` + systemPrompt + `","input":[{"type":"message","role":"user","content":"` + userPrompt + `"}],"max_output_tokens":1024,"temperature":0.7`
	if stream {
		s += `,"stream":true`
	}
	return []byte(s + "}")
}

// padBody pads a request body to about size bytes with a longer user
// message (for the allocation benchmarks at two body sizes).
func padBody(body []byte, size int) []byte {
	i := bytes.Index(body, []byte(userPrompt))
	if i < 0 || size <= len(body) {
		return body
	}
	pad := bytes.Repeat([]byte("x"), size-len(body))
	out := append([]byte(nil), body[:i+len(userPrompt)]...)
	out = append(out, ' ')
	out = append(out, pad...)
	return append(out, body[i+len(userPrompt):]...)
}

type runSpec struct {
	addr   string
	api    string // how the answers are checked (default chat)
	req    []byte
	stream bool
	// wantHeader, "Name: value", must be on every answer (the cache
	// variant's X-LLM-Cache: hit); an answer without it is an error.
	wantHeader string
	conc       int
	dur        time.Duration // run for this long (0: count mode)
	count      int           // requests in all (count mode)
	stagger    time.Duration // spread the workers' first requests over this
	// around is called once all connections are open, right before the
	// first request (with "start") and right after the last answer (with
	// "end"): the CPU counters are read there.
	around func(string)
}

type runResult struct {
	wall       time.Duration
	requests   int   // answered requests or finished streams
	errors     int   // non-200, bad body, broken connection
	streams    int   // streams started
	incomplete int   // streams that did not end with data: [DONE]
	chunks     int64 // data: events other than [DONE], over all streams
	lat        []time.Duration
	firstErr   string
}

type client struct {
	addr string
	api  string
	// wantName and wantValue: a header every answer must carry.
	wantName, wantValue string
	conn                net.Conn
	br                  *bufio.Reader
	sr                  *bufio.Reader
	body                []byte
}

func dial(addr, api, wantHeader string) (*client, error) {
	c := &client{addr: addr, api: api}
	if c.api == "" {
		c.api = apiChat
	}
	if name, value, ok := strings.Cut(wantHeader, ":"); ok {
		c.wantName, c.wantValue = strings.TrimSpace(name), strings.TrimSpace(value)
	}
	return c, c.redial()
}

func (c *client) redial() error {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
	if err != nil {
		c.conn = nil
		return err
	}
	c.conn = conn
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 16<<10)
	} else {
		c.br.Reset(conn)
	}
	return nil
}

func (c *client) close() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
}

var (
	dataPrefix  = []byte("data:")
	eventPrefix = []byte("event:")
	doneData    = []byte("[DONE]")
	errorData   = []byte(`{"error"`)
	// answerKey is a key every non-streamed answer of the API has.
	answerKey = map[string][]byte{apiChat: []byte(`"choices"`), apiMessages: []byte(`"stop_reason"`), apiResponses: []byte(`"output"`)}
	// endEvent ends a stream of the API (chat streams end with [DONE]).
	endEvent = map[string][]byte{apiMessages: []byte("message_stop"), apiResponses: []byte("response.completed")}
	// errorEvents are the APIs' in-stream errors.
	errorEvents = [][]byte{[]byte("error"), []byte("response.failed"), []byte("response.incomplete")}
	typeKey     = []byte(`"type":"`)
)

// endWhat names the end of the API's stream, for messages.
func endWhat(api string) string {
	if e := endEvent[api]; e != nil {
		return string(e)
	}
	return "data: [DONE]"
}

func isErrorEvent(name []byte) bool {
	for _, e := range errorEvents {
		if bytes.Equal(name, e) {
			return true
		}
	}
	return false
}

// one sends one request and reads its answer. lat is the latency (JSON) or
// the time to the first data: event (stream).
func (c *client) one(req []byte, stream bool) (lat time.Duration, chunks int64, ok, complete bool, why string) {
	if c.conn == nil {
		if err := c.redial(); err != nil {
			return 0, 0, false, false, err.Error()
		}
	}
	start := time.Now()
	if _, err := c.conn.Write(req); err != nil {
		_ = c.redial()
		return 0, 0, false, false, "write: " + err.Error()
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		_ = c.redial()
		return 0, 0, false, false, "read: " + err.Error()
	}
	defer func() {
		if resp.Close || !ok {
			_ = c.redial()
		}
	}()
	if !stream || resp.StatusCode != http.StatusOK {
		c.body = c.body[:0]
		for {
			if len(c.body) == cap(c.body) {
				c.body = append(c.body, 0)[:len(c.body)]
			}
			n, err := resp.Body.Read(c.body[len(c.body):cap(c.body)])
			c.body = c.body[:len(c.body)+n]
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, 0, false, false, "body: " + err.Error()
			}
		}
		lat = time.Since(start)
		if resp.StatusCode != http.StatusOK {
			return lat, 0, false, false, fmt.Sprintf("status %d: %.200s", resp.StatusCode, c.body)
		}
		if !bytes.Contains(c.body, answerKey[c.api]) {
			return lat, 0, false, false, fmt.Sprintf("unexpected body: %.200s", c.body)
		}
		if why := c.checkHeader(resp); why != "" {
			return lat, 0, false, false, why
		}
		return lat, 0, true, true, ""
	}
	if why := c.checkHeader(resp); why != "" {
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, 0, false, false, why
	}
	if c.sr == nil {
		c.sr = bufio.NewReaderSize(resp.Body, 8<<10)
	} else {
		c.sr.Reset(resp.Body)
	}
	first, done, bad, mid := true, false, false, false
	var event []byte // the current event's name (event: line), if any
	end := endEvent[c.api]
	for {
		line, err := c.sr.ReadSlice('\n')
		switch {
		case mid:
		case bytes.HasPrefix(line, eventPrefix):
			event = append(event[:0], bytes.TrimSpace(line[len(eventPrefix):])...)
		case bytes.HasPrefix(line, dataPrefix):
			if first {
				lat = time.Since(start)
				first = false
			}
			p := bytes.TrimSpace(line[len(dataPrefix):])
			if end == nil && bytes.Equal(p, doneData) {
				done = true // [DONE] is not a chunk
				break
			}
			name := event
			switch {
			case end == nil && bytes.HasPrefix(p, errorData):
				name = errorEvents[0]
			case end != nil && len(name) == 0:
				name = typeOf(p)
			}
			switch {
			case isErrorEvent(name):
				bad = true
				why = fmt.Sprintf("%s event: %.200s", name, p)
			case end != nil && bytes.Equal(name, end):
				done = true
			}
			chunks++
		case len(bytes.TrimSpace(line)) == 0:
			event = event[:0]
		}
		mid = err == bufio.ErrBufferFull
		if err == nil || mid {
			continue
		}
		if err != io.EOF {
			return lat, chunks, false, false, "stream: " + err.Error()
		}
		break
	}
	if bad {
		return lat, chunks, true, false, why
	}
	if !done {
		return lat, chunks, true, false, "stream ended without " + endWhat(c.api)
	}
	return lat, chunks, true, true, ""
}

// typeOf is the "type" of an event's data (when it has no event: line).
func typeOf(p []byte) []byte {
	i := bytes.Index(p, typeKey)
	if i < 0 {
		return nil
	}
	p = p[i+len(typeKey):]
	if j := bytes.IndexByte(p, '"'); j >= 0 {
		return p[:j]
	}
	return nil
}

// checkHeader reports a missing wanted header.
func (c *client) checkHeader(resp *http.Response) string {
	if c.wantName == "" {
		return ""
	}
	if got := resp.Header.Get(c.wantName); got != c.wantValue {
		return fmt.Sprintf("%s: %q, want %q", c.wantName, got, c.wantValue)
	}
	return ""
}

// run is one measured run: spec.conc workers in a closed loop.
func run(spec runSpec) (runResult, error) {
	clients := make([]*client, spec.conc)
	for i := range clients {
		c, err := dial(spec.addr, spec.api, spec.wantHeader)
		if err != nil {
			for _, c := range clients[:i] {
				c.close()
			}
			return runResult{}, err
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	type part struct {
		requests, errors, streams, incomplete int
		chunks                                int64
		lat                                   []time.Duration
		firstErr                              string
	}
	parts := make([]part, spec.conc)
	var issued atomic.Int64
	var wg sync.WaitGroup
	if spec.around != nil {
		spec.around("start")
	}
	start := time.Now()
	deadline := start.Add(spec.stagger + spec.dur)
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := &parts[i]
			if spec.stagger > 0 {
				time.Sleep(spec.stagger * time.Duration(i) / time.Duration(spec.conc))
			}
			for {
				if spec.dur > 0 {
					if time.Now().After(deadline) {
						return
					}
				} else if issued.Add(1) > int64(spec.count) {
					return
				}
				lat, chunks, ok, complete, why := clients[i].one(spec.req, spec.stream)
				if spec.stream {
					p.streams++
					p.chunks += chunks
					if !complete {
						p.incomplete++
					}
				}
				if ok && (complete || spec.stream) {
					p.requests++
					if lat > 0 {
						p.lat = append(p.lat, lat)
					}
				} else {
					p.errors++
				}
				if why != "" && p.firstErr == "" {
					p.firstErr = why
				}
				if !ok && clients[i].conn == nil {
					time.Sleep(10 * time.Millisecond) // cannot connect: do not spin
				}
			}
		}(i)
	}
	wg.Wait()
	wall := time.Since(start)
	if spec.around != nil {
		spec.around("end")
	}
	var res runResult
	res.wall = wall
	for _, p := range parts {
		res.requests += p.requests
		res.errors += p.errors
		res.streams += p.streams
		res.incomplete += p.incomplete
		res.chunks += p.chunks
		res.lat = append(res.lat, p.lat...)
		if res.firstErr == "" {
			res.firstErr = p.firstErr
		}
	}
	return res, nil
}

// idleStreams holds open streams: each has received its headers and its
// first data: event.
type idleStreams struct {
	opened  int
	failed  int
	why     string
	release chan struct{}
	wg      sync.WaitGroup
}

// openIdle opens n streams, at most par at a time, and returns once every
// one has its first event or failed.
func openIdle(addr string, req []byte, n, par int, timeout time.Duration) *idleStreams {
	s := &idleStreams{release: make(chan struct{})}
	var mu sync.Mutex
	var ready sync.WaitGroup
	sem := make(chan struct{}, par)
	fail := func(why string) {
		mu.Lock()
		s.failed++
		if s.why == "" {
			s.why = why
		}
		mu.Unlock()
	}
	for i := 0; i < n; i++ {
		ready.Add(1)
		s.wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer s.wg.Done()
			conn, err := net.DialTimeout("tcp", addr, timeout)
			if err != nil {
				<-sem
				fail("dial: " + err.Error())
				ready.Done()
				return
			}
			defer func() {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // no TIME_WAIT pile-up over many runs
				}
				_ = conn.Close()
			}()
			_ = conn.SetDeadline(time.Now().Add(timeout))
			err = func() error {
				if _, err := conn.Write(req); err != nil {
					return err
				}
				br := bufio.NewReaderSize(conn, 2048)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("status %d", resp.StatusCode)
				}
				sr := bufio.NewReaderSize(resp.Body, 2048)
				for {
					line, err := sr.ReadSlice('\n')
					if bytes.HasPrefix(line, dataPrefix) {
						return nil
					}
					if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
						return err
					}
				}
			}()
			<-sem
			if err != nil {
				fail(err.Error())
				ready.Done()
				return
			}
			_ = conn.SetDeadline(time.Time{})
			mu.Lock()
			s.opened++
			mu.Unlock()
			ready.Done()
			<-s.release
		}()
	}
	ready.Wait()
	return s
}

// close ends every held stream (with a reset, as a client that goes away).
func (s *idleStreams) close() {
	close(s.release)
	s.wg.Wait()
}
