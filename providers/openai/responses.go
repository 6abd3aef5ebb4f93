package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// RelayResponses writes a Responses API 2xx answer to the client byte for
// byte: a JSON body (read whole first, so a failure while reading it can
// still be retried; as its event stream when the client asked for one, see
// responseEvents), or an event stream event by event (see
// responsesRelay). It reads the usage on the way.
func RelayResponses(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	if c.Stream && stream.IsEventStream(resp.Header) {
		rl := responsesRelay{w: w, resp: resp, c: c}
		return rl.run()
	}
	buf, err := llm.ReadAll(resp.Body, resp.ContentLength, c.MaxResponseBody)
	if err != nil {
		return llm.Usage{}, err
	}
	defer llm.PutBuffer(buf)
	body := buf.Bytes()
	doc := gjson.Parse(llm.BytesString(body))
	usage := ResponsesUsageOf(doc.Get("usage"))
	switch status := doc.Get("status").Str; status {
	case "completed":
		usage.FinishReason = finishReason(evCompleted, doc)
	case "incomplete":
		usage.FinishReason = finishReason(evIncomplete, doc)
	}
	providers.CopyResponseHeaders(w.Header(), resp.Header)
	if c.Stream && doc.Get("output").IsArray() {
		// A server that ignored `stream`: the client still gets a stream.
		return usage, writeResponseEvents(w, resp.StatusCode, body)
	}
	w.WriteHeader(resp.StatusCode)
	_, err = w.Write(body)
	return usage, err
}

// ResponsesUsageOf reads a Responses API `usage` object.
func ResponsesUsageOf(u gjson.Result) llm.Usage {
	if !u.IsObject() {
		return llm.Usage{}
	}
	return llm.Usage{
		PromptTokens:     u.Get("input_tokens").Int(),
		CompletionTokens: u.Get("output_tokens").Int(),
		CacheReadTokens:  u.Get("input_tokens_details.cached_tokens").Int(),
		ReasoningTokens:  u.Get("output_tokens_details.reasoning_tokens").Int(),
	}
}

// Events of a Responses stream the relay looks at.
const (
	evCreated    = "response.created"
	evInProgress = "response.in_progress"
	evQueued     = "response.queued"
	evCompleted  = "response.completed"
	evIncomplete = "response.incomplete"
	evFailed     = "response.failed"
	evError      = "error"
)

// responsesRelay passes a Responses event stream through event by event,
// flushing whenever no further upstream bytes are already waiting. The
// events that open the stream (response.created, .in_progress, .queued,
// comments) are held until the first event with output, so that a
// failure before any output can still be retried elsewhere. Usage comes
// from the terminal event's response. A `response.failed` or `error` event
// after that point reaches the client as it came and is returned as a
// relayed stream error; a stream that breaks off before its terminal
// event gets a `response.failed` event from the router, in sequence.
type responsesRelay struct {
	w    llm.ResponseWriter
	resp *http.Response
	c    *llm.Call

	held      []byte
	committed bool
	terminal  string     // evCompleted (or .incomplete) or evFailed: the stream ended
	failure   *llm.Error // from a response.failed or error event
	usage     llm.Usage  // from the terminal event
	sawUsage  bool
	deltas    int64 // output deltas, for an estimate when no usage came
	nextSeq   int64
	respID    string
	created   int64
	model     string
}

func (rl *responsesRelay) run() (llm.Usage, error) {
	r := stream.NewReader(rl.resp.Body, rl.c.MaxResponseBody)
	defer r.Release()
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return rl.end()
		}
		if err != nil {
			return rl.usageSoFar(), rl.broken(err)
		}
		if !ev.HasData {
			if err := rl.pass(ev.Raw, false); err != nil {
				return rl.usageSoFar(), err
			}
			continue
		}
		typ := eventType(ev)
		rl.read(typ, ev.Data)
		if !rl.committed && rl.failure != nil {
			// Failed before any output: the attempt can be retried.
			return rl.usageSoFar(), rl.failure
		}
		hold := typ == evCreated || typ == evInProgress || typ == evQueued
		if err := rl.pass(ev.Raw, !hold); err != nil {
			return rl.usageSoFar(), err
		}
		if rl.terminal != "" {
			if err := rl.w.Flush(); err != nil {
				return rl.usageSoFar(), err
			}
			if rl.terminal == evFailed {
				return rl.usageSoFar(), rl.relayed()
			}
			return rl.usage, nil
		}
		if rl.committed && r.Buffered() == 0 {
			if err := rl.w.Flush(); err != nil {
				return rl.usageSoFar(), err
			}
		}
	}
}

// eventType is an event's `event:` name, else its data's `type`. It views
// the event's buffer: valid until the next event.
func eventType(ev *stream.Event) string {
	if len(ev.Name) > 0 {
		return llm.BytesString(ev.Name)
	}
	return gjson.Get(llm.BytesString(ev.Data), "type").Str
}

// read notes what an event says about the stream: its sequence number,
// the response's id (from its first events), a terminal event's usage, a
// failure.
func (rl *responsesRelay) read(typ string, data []byte) {
	src := llm.BytesString(data)
	if seq := gjson.Get(src, "sequence_number"); seq.Type == gjson.Number {
		rl.nextSeq = seq.Int() + 1
	} else {
		rl.nextSeq++
	}
	switch typ {
	case evCreated, evInProgress, evQueued:
		if rl.respID == "" {
			r := gjson.Get(src, "response")
			rl.respID = strings.Clone(r.Get("id").Str)
			if at := r.Get("created_at"); at.Type == gjson.Number {
				rl.created = at.Int()
			}
			rl.model = strings.Clone(r.Get("model").Str)
		}
	case evCompleted, evIncomplete, evFailed:
		rl.terminal = evCompleted // a constant: typ views the event
		if typ == evFailed {
			rl.terminal = evFailed
		}
		r := gjson.Get(src, "response")
		if u := r.Get("usage"); u.IsObject() {
			rl.usage, rl.sawUsage = ResponsesUsageOf(u), true
		}
		rl.usage.FinishReason = finishReason(typ, r)
		if typ == evFailed {
			rl.failure = streamFailure(r.Get("error"), "the upstream answered response.failed")
		}
	case evError:
		if rl.failure == nil {
			rl.failure = streamFailure(gjson.Get(src, "@this"), "the upstream sent an error event")
		}
	default:
		if strings.HasSuffix(typ, ".delta") {
			rl.deltas++
		}
	}
}

// finishReason names why a response ended, in the hub's terms where they
// apply (for traces).
func finishReason(typ string, r gjson.Result) string {
	switch {
	case typ == evFailed:
		return "error"
	case typ == evCompleted:
		return "stop"
	case r.Get("incomplete_details.reason").Str == "content_filter":
		return "content_filter"
	}
	return "length"
}

// streamFailure reads a failure's code and message.
func streamFailure(obj gjson.Result, fallback string) *llm.Error {
	e := &llm.Error{Status: http.StatusBadGateway, Kind: llm.KindStream, Code: obj.Get("code").Str, Type: obj.Get("type").Str, Message: obj.Get("message").Str}
	if p := obj.Get("param"); p.Type == gjson.String {
		e.Param = p.Str
	}
	if e.Code == "" {
		e.Code = "upstream_error"
	}
	if e.Type == "" {
		e.Type = "upstream_error"
	}
	if e.Message == "" {
		e.Message = fallback
	}
	return e
}

// pass writes an event, or holds it while the stream has shown no output;
// out commits the response with the held events first.
func (rl *responsesRelay) pass(raw []byte, out bool) error {
	if !rl.committed && !out {
		rl.held = append(rl.held, raw...)
		return nil
	}
	if !rl.committed {
		rl.committed = true
		providers.CopyResponseHeaders(rl.w.Header(), rl.resp.Header)
		rl.w.WriteHeader(rl.resp.StatusCode)
		if len(rl.held) > 0 {
			if _, err := rl.w.Write(rl.held); err != nil {
				return err
			}
		}
	}
	_, err := rl.w.Write(raw)
	return err
}

// relayed marks the failure the client already received.
func (rl *responsesRelay) relayed() *llm.Error {
	if rl.failure == nil {
		rl.failure = &llm.Error{Status: http.StatusBadGateway, Kind: llm.KindStream, Code: "upstream_error", Type: "upstream_error", Message: "the upstream answered response.failed"}
	}
	rl.failure.Relayed = true
	return rl.failure
}

// end handles the end of the upstream body.
func (rl *responsesRelay) end() (llm.Usage, error) {
	switch {
	case rl.failure != nil && rl.committed:
		// An error event without response.failed after it.
		if err := rl.w.Flush(); err != nil {
			return rl.usageSoFar(), err
		}
		return rl.usageSoFar(), rl.relayed()
	case rl.failure != nil:
		return rl.usageSoFar(), rl.failure
	case !rl.committed:
		return rl.usageSoFar(), ErrStreamCut
	}
	return rl.usageSoFar(), rl.fail(&llm.Error{
		Status: http.StatusBadGateway, Kind: llm.KindConnect, Code: "upstream_error", Type: "upstream_error",
		Message: fmt.Sprintf("target %q: the upstream closed the stream before response.completed", rl.c.Upstream.Name),
	})
}

// broken handles a failed read of the upstream body: before commit the
// error goes back to the router as it is; after, the client gets a
// response.failed event. Its message names the kind of failure (the
// attempt's timeout, an event over max_response_body, a broken
// connection), never the upstream's address, which only the log gets.
func (rl *responsesRelay) broken(err error) error {
	if !rl.committed {
		return err
	}
	e := &llm.Error{Status: http.StatusBadGateway, Kind: llm.KindConnect, Code: "upstream_error", Type: "upstream_error", Cause: err,
		Message: fmt.Sprintf("target %q: the stream broke off before response.completed", rl.c.Upstream.Name)}
	switch req := rl.resp.Request; {
	case errors.Is(err, llm.ErrTooLarge), errors.Is(err, stream.ErrEventTooLarge):
		e.Kind = llm.KindInvalid
		e.Message = fmt.Sprintf("target %q: %v", rl.c.Upstream.Name, err)
	case req != nil && req.Context().Err() != nil:
		// The attempt's deadline (or the client leaving): the cause is
		// the router's own description of it.
		e.Status, e.Kind, e.Code, e.Type = http.StatusGatewayTimeout, llm.KindTimeout, "upstream_timeout", "timeout_error"
		e.Message = fmt.Sprintf("target %q: %v", rl.c.Upstream.Name, context.Cause(req.Context()))
	}
	return rl.fail(e)
}

// fail writes a response.failed event in the stream's sequence and returns
// e as relayed.
func (rl *responsesRelay) fail(e *llm.Error) error {
	b := make([]byte, 0, 512)
	b = append(b, "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":"...)
	b = strconv.AppendInt(b, rl.nextSeq, 10)
	b = append(b, `,"response":{"id":`...)
	b = llm.AppendString(b, rl.respID)
	b = append(b, `,"object":"response","created_at":`...)
	created := rl.created
	if created == 0 {
		created = time.Now().Unix()
	}
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"status":"failed","error":{"code":`...)
	b = llm.AppendString(b, e.Code)
	b = append(b, `,"message":`...)
	b = llm.AppendString(b, e.Message)
	b = append(b, `},"incomplete_details":null,"model":`...)
	b = llm.AppendString(b, rl.model)
	b = append(b, `,"output":[],"usage":null}}`...)
	b = append(b, "\n\n"...)
	if _, err := rl.w.Write(b); err == nil {
		_ = rl.w.Flush()
	}
	e.Relayed = true
	return e
}

// usageSoFar is the usage of a stream that ended without its own count:
// the prompt at about four bytes per token, a token per output delta.
func (rl *responsesRelay) usageSoFar() llm.Usage {
	if rl.sawUsage {
		return rl.usage
	}
	input := gjson.Get(llm.BytesString(rl.c.Body), "input")
	return llm.Usage{PromptTokens: int64(len(input.Raw)+3) / 4, CompletionTokens: rl.deltas}
}
