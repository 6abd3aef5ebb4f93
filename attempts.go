package llmrouter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/routing"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// now is the clock, replaceable in tests.
var now = time.Now

var (
	errAttemptTimeout   = errors.New("attempt timed out")
	errFirstByteTimeout = errors.New("no first event within first_byte_timeout")
)

// exchange is one client request on its way through the candidates.
type exchange struct {
	h        *Handler
	api      apis.API
	w        *stream.Writer
	enc      apis.Encoder // w as a hub provider writes to it
	r        *http.Request
	req      *request
	repl     *caddy.Replacer
	routeReq routing.Request
	start    time.Time

	attempts    int
	last        *llm.Error // the last failure
	lastTarget  *Target
	lastModel   string
	unsupported *llm.Error // the first candidate that could not serve
	full        bool       // a candidate was skipped at its max_in_flight
	seen        []member   // candidates attempted already
	seenBuf     [4]member
	cands       []routing.Candidate
	candsBuf    [8]routing.Candidate
	usage       llm.Usage
	ttfb        time.Duration
	status      int
}

// verdict tells the candidate loop whether the request was answered.
type verdict bool

const (
	answered verdict = true
	tryNext  verdict = false
)

// serveAPI serves one operation of an inbound API.
func (h *Handler) serveAPI(rw http.ResponseWriter, r *http.Request, api apis.API, rt apis.Route) {
	req, e := readRequest(r, api, rt, h.maxRequestBody)
	if e != nil {
		api.WriteError(rw, e)
		return
	}
	defer req.release()
	g, e := h.resolve(req)
	if e != nil {
		api.WriteError(rw, e)
		return
	}
	x := &exchange{
		h:     h,
		api:   api,
		w:     stream.NewWriter(rw),
		r:     r,
		req:   req,
		start: now(),
	}
	x.enc = api.NewEncoder(x.w, req.Request)
	x.seen, x.cands = x.seenBuf[:0], x.candsBuf[:0]
	x.repl, _ = r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	x.routeReq = routing.Request{User: req.User, ClientKey: req.ClientKey, Now: x.start}
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok {
		x.routeReq.ClientIP = ip
	} else {
		x.routeReq.ClientIP = r.RemoteAddr
	}
	x.run(g)
	x.finish()
}

// run tries the candidates: the group's in its strategy's order, then each
// fallback entry's (not for a request that forced its target), then — only
// when nothing else is left — the members that were skipped for being in
// cooldown.
func (x *exchange) run(g *group) {
	var deferred []member
	fallbacks := len(x.h.fallbacks)
	if x.req.forceTarget != "" {
		fallbacks = 0
	}
	for i := -1; i < fallbacks; i++ {
		if i >= 0 {
			g = x.h.fallbacks[i].group(x.req.Model)
		}
		var buf [8]int
		var order []int
		if n := len(g.members); n <= len(buf) {
			order = buf[:n]
		} else {
			order = make([]int, n)
		}
		g.policy.Order(x.candidates(g.members), &x.routeReq, order)
		for _, idx := range order {
			m := g.members[idx]
			if x.attempted(m) || !x.supported(m) {
				continue
			}
			if m.target.state.CoolingDown(now()) {
				deferred = append(deferred, m)
				continue
			}
			if x.try(m) == answered {
				return
			}
		}
	}
	for _, m := range deferred {
		if x.attempted(m) {
			continue
		}
		if x.try(m) == answered {
			return
		}
	}
	x.fail()
}

// candidates presents members to a selection policy.
func (x *exchange) candidates(ms []member) []routing.Candidate {
	out := x.cands[:0]
	for _, m := range ms {
		out = append(out, routing.Candidate{ID: m.id, Weight: m.weight, Price: m.price, State: m.target.state})
	}
	return out
}

func (x *exchange) attempted(m member) bool {
	for _, s := range x.seen {
		if s.target == m.target && s.model == m.model {
			return true
		}
	}
	return false
}

// supported reports whether the member can serve the request: natively,
// or through the hub when the request translates and the provider accepts
// it.
func (x *exchange) supported(m member) bool {
	if x.native(m) {
		return true
	}
	if _, e := x.req.Hub(); e != nil {
		if x.unsupported == nil {
			x.unsupported = e
		}
		return false
	}
	if m.target.checker == nil {
		return true
	}
	call := x.call(m)
	if err := m.target.checker.Check(&call); err != nil {
		if x.unsupported == nil {
			var e *llm.Error
			if !errors.As(err, &e) {
				e = llm.Unsupported(m.target.Name, "this request", err.Error())
			}
			x.unsupported = e
		}
		return false
	}
	return true
}

// native reports whether the member's provider speaks the request's own
// wire format, so that the request passes through.
func (x *exchange) native(m member) bool {
	return !x.req.Op.Hub() && m.target.native != nil && m.target.native.Speaks(x.req.Op)
}

// call describes one attempt on m: the client's body as it is for a
// passthrough, else its hub translation.
func (x *exchange) call(m member) llm.Call {
	c := llm.Call{
		Op:           x.req.Op,
		Body:         x.req.Body,
		ClientModel:  x.req.Model,
		Model:        m.model,
		Stream:       x.req.Stream,
		IncludeUsage: x.req.IncludeUsage,
		ClientKey:    x.req.ClientKey,
		Upstream:     &m.target.upstream,
	}
	if x.native(m) {
		c.ClientHeader = x.req.Header
		return c
	}
	c.Op = x.req.HubOp
	c.Body, _ = x.req.Hub()
	return c
}

// failure classes, which decide what follows a failed attempt.
type class uint8

const (
	classRetry  class = iota // in retry_on: again on the same target, then next
	classNext                // this target cannot serve now: next candidate
	classClient              // the request itself is wrong: answer the client
)

func (h *Handler) classify(e *llm.Error) class {
	switch e.Kind {
	case llm.KindTimeout:
		if h.retryTimeout {
			return classRetry
		}
		return classNext
	case llm.KindConnect:
		if h.retryConnect {
			return classRetry
		}
		return classNext
	case llm.KindStream, llm.KindInvalid:
		if h.retryStatus[http.StatusBadGateway] {
			return classRetry
		}
		return classNext
	}
	if h.retryStatus[e.Status] {
		return classRetry
	}
	switch s := e.Status; {
	case s >= 500, s < 400, s == 401, s == 403, s == 404, s == 429:
		return classNext
	}
	return classClient
}

// try runs the attempts on one candidate: the first, then retries.
func (x *exchange) try(m member) verdict {
	st := m.target.state
	for n := 0; ; n++ {
		if !st.TryAcquire(m.target.MaxInFlight) {
			x.full = true
			return tryNext
		}
		if n == 0 {
			x.seen = append(x.seen, m)
		}
		done, e := x.attempt(m)
		st.Release()
		if done {
			return answered
		}
		c := x.h.classify(e)
		x.last = e
		if c == classClient {
			recordAttempt(m.target.Name, "client_error")
			x.answerFailure(e)
			return answered
		}
		recordAttempt(m.target.Name, outcomeOf(e))
		if st.Failure(x.h.cooldownN, x.h.cooldownD, now()) {
			x.h.logCooldown(m.target, e)
		}
		if e.RetryAfter > x.h.backoffMax {
			// Longer than the router will wait: the target is out for
			// that long, for this request and the next ones.
			st.CoolFor(e.RetryAfter, now())
			return tryNext
		}
		if c != classRetry || n >= x.h.retries {
			return tryNext
		}
		wait := e.RetryAfter
		if wait <= 0 {
			wait = routing.Backoff(x.h.backoffBase, x.h.backoffMax, n)
		}
		if !sleep(x.r.Context(), wait) {
			return answered // the client left; nobody to answer
		}
	}
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// attempt makes one attempt on m. It returns done when the request was
// answered (successfully, by an error written mid-stream, or because the
// client left), else the failure.
func (x *exchange) attempt(m member) (done bool, fail *llm.Error) {
	t := m.target
	x.attempts++
	x.lastTarget, x.lastModel = t, m.model
	x.w.ResetAttempt()
	call := x.call(m)

	ctx, cancel := context.WithTimeoutCause(x.r.Context(), time.Duration(t.timeout), errAttemptTimeout)
	defer cancel()
	var firstByte *time.Timer
	if x.req.Stream && t.FirstByteTimeout > 0 {
		var cancelCause context.CancelCauseFunc
		ctx, cancelCause = context.WithCancelCause(ctx)
		defer cancelCause(nil)
		firstByte = time.AfterFunc(time.Duration(t.FirstByteTimeout), func() { cancelCause(errFirstByteTimeout) })
		defer firstByte.Stop()
	}
	start := now()
	x.w.OnCommit = func(w *stream.Writer) {
		if firstByte != nil {
			firstByte.Stop()
		}
		x.ttfb = now().Sub(start)
		if x.req.Stream {
			t.state.ObserveTTFB(x.ttfb)
		}
		x.status = w.Status()
		x.setRouteHeaders(w.Header())
	}

	native := x.native(m)
	resp, err := x.send(ctx, t, &call, native)
	if err != nil {
		return x.transportFailure(ctx, t, &call, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := t.provider.ReadError(resp, llm.ReadErrorBody(resp.Body), &call)
		scrubSecrets(e, call.Key())
		return false, e
	}
	if !x.req.Stream {
		t.state.ObserveTTFB(now().Sub(start))
	}
	var usage llm.Usage
	if native {
		usage, err = t.native.RelayNative(x.w, resp, &call)
	} else {
		usage, err = t.provider.WriteResponse(x.enc, resp, &call)
		if err == nil {
			err = x.enc.Finish()
		}
	}
	if x.w.Committed() {
		x.usage = usage
	}
	if err == nil {
		if x.req.Stream {
			drainBody(resp.Body, cancel)
		}
		t.state.Success()
		recordAttempt(t.Name, "success")
		return true, nil
	}
	if x.r.Context().Err() != nil {
		recordAttempt(t.Name, "canceled")
		return true, nil // the client left
	}
	e := x.failureOf(ctx, t, &call, err)
	if !x.w.Committed() {
		return false, e
	}
	// Too late to retry: end the stream with an error event.
	x.last = e
	recordAttempt(t.Name, outcomeOf(e))
	t.state.Failure(x.h.cooldownN, x.h.cooldownD, now())
	x.writeStreamError(e)
	return true, nil
}

// drainTimeout bounds the wait for the rest of a finished stream's body.
const drainTimeout = 100 * time.Millisecond

// drainBody reads what is left of a finished stream — normally just the end
// of the chunked encoding after `[DONE]` — so the transport can reuse the
// connection; an upstream that keeps it open is cut off after drainTimeout.
func drainBody(body io.Reader, cancel context.CancelFunc) {
	t := time.AfterFunc(drainTimeout, cancel)
	_, _ = io.CopyN(io.Discard, body, 256<<10)
	t.Stop()
}

// send performs the upstream request. Its body holds the client's buffer
// until the transport closes it (see bodyMemory).
func (x *exchange) send(ctx context.Context, t *Target, call *llm.Call, native bool) (*http.Response, error) {
	if t.sender != nil && !native {
		return t.sender.Send(ctx, call)
	}
	var req *http.Request
	var err error
	if native {
		req, err = t.native.NewNativeRequest(ctx, call)
	} else {
		req, err = t.provider.NewRequest(ctx, call)
	}
	if err != nil {
		return nil, err
	}
	x.req.mem.track(req)
	return x.h.transport.RoundTrip(req)
}

// transportFailure classifies an attempt that got no response.
func (x *exchange) transportFailure(ctx context.Context, t *Target, call *llm.Call, err error) (bool, *llm.Error) {
	if x.r.Context().Err() != nil {
		recordAttempt(t.Name, "canceled")
		return true, nil
	}
	return false, x.failureOf(ctx, t, call, err)
}

// failureOf turns an error from sending or relaying into a failure, with
// the call's key removed from it.
func (x *exchange) failureOf(ctx context.Context, t *Target, call *llm.Call, err error) *llm.Error {
	e := describeFailure(ctx, t, err)
	scrubSecrets(e, call.Key())
	return e
}

func describeFailure(ctx context.Context, t *Target, err error) *llm.Error {
	var pe *llm.Error
	if errors.As(err, &pe) {
		return pe
	}
	switch context.Cause(ctx) {
	case errAttemptTimeout:
		return &llm.Error{
			Status: http.StatusGatewayTimeout, Kind: llm.KindTimeout, Code: "upstream_timeout", Type: "timeout_error",
			Message: fmt.Sprintf("target %q: no complete response within %s", t.Name, time.Duration(t.timeout)),
		}
	case errFirstByteTimeout:
		return &llm.Error{
			Status: http.StatusGatewayTimeout, Kind: llm.KindTimeout, Code: "upstream_timeout", Type: "timeout_error",
			Message: fmt.Sprintf("target %q: no first event within %s", t.Name, time.Duration(t.FirstByteTimeout)),
		}
	}
	return &llm.Error{
		Status: http.StatusBadGateway, Kind: llm.KindConnect, Code: "upstream_error", Type: "upstream_error",
		Message: fmt.Sprintf("target %q: %v", t.Name, err),
	}
}

// fail answers after every candidate failed or none could be tried.
func (x *exchange) fail() {
	switch {
	case x.last != nil:
		x.answerFailure(x.last)
	case x.full:
		x.answerFailure(errAllBusy())
	case x.unsupported != nil:
		// Nothing could serve it: an API may answer it itself (an
		// estimated count_tokens).
		if l, ok := x.api.(apis.Local); ok && l.Answer(x.w, x.req.Request) {
			return
		}
		x.answerFailure(x.unsupported)
	default:
		x.answerFailure(routerError(http.StatusBadGateway, "upstream_error", "no target could be tried for model %q", x.req.Model))
	}
}

// answerFailure writes the client's answer for failure e (SPEC 4.3): an
// upstream 4xx as it came, a 5xx or connection error as 502, a timeout as
// 504.
func (x *exchange) answerFailure(e *llm.Error) {
	out := e
	switch {
	case e.Kind == llm.KindHTTP && e.Status >= 400 && e.Status < 500:
		if e.Header != nil {
			providers.CopyResponseHeaders(x.w.Header(), e.Header)
			x.w.Header().Del("Content-Length")
		}
	case e.Kind == llm.KindTimeout:
		out = &llm.Error{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Type: "timeout_error", Message: e.Message}
	default:
		out = &llm.Error{Status: http.StatusBadGateway, Code: "upstream_error", Type: "upstream_error", Message: upstreamMessage(x.lastTarget, e)}
	}
	x.w.OnCommit = func(w *stream.Writer) {
		x.status = w.Status()
		if x.attempts > 0 {
			x.setRouteHeaders(w.Header())
		}
	}
	x.api.WriteError(x.w, out)
}

// upstreamMessage describes an upstream failure for a 502, naming the target.
func upstreamMessage(t *Target, e *llm.Error) string {
	if t == nil || strings.HasPrefix(e.Message, "target ") {
		return e.Message
	}
	if e.Kind == llm.KindHTTP {
		return fmt.Sprintf("target %q: upstream returned %d: %s", t.Name, e.Status, e.Message)
	}
	return fmt.Sprintf("target %q: %s", t.Name, e.Message)
}

// writeStreamError ends a committed stream with the API's error event.
func (x *exchange) writeStreamError(e *llm.Error) {
	if e.Relayed {
		return // the client has it already, in its own format
	}
	out := *e
	out.Body = nil
	switch e.Kind {
	case llm.KindTimeout:
		out.Code, out.Type = "upstream_timeout", "timeout_error"
	case llm.KindStream:
		// A provider's own in-stream error keeps its type and code.
	default:
		out.Code, out.Type = "upstream_error", "upstream_error"
		out.Message = upstreamMessage(x.lastTarget, e)
	}
	x.enc.StreamError(&out)
}

// setRouteHeaders adds X-LLM-Target, X-LLM-Model and X-LLM-Attempts and the
// matching placeholders, naming the last target tried.
func (x *exchange) setRouteHeaders(h http.Header) {
	vals := make([]string, 3) // one allocation for the three headers
	vals[0], vals[1], vals[2] = x.lastTarget.Name, x.lastModel, strconv.Itoa(x.attempts)
	h["X-Llm-Target"] = vals[0:1:1]
	h["X-Llm-Model"] = vals[1:2:2]
	h["X-Llm-Attempts"] = vals[2:3:3]
	if x.repl != nil {
		x.repl.Set("http.llm_router.target", x.lastTarget.Name)
		x.repl.Set("http.llm_router.model", x.lastModel)
		x.repl.Set("http.llm_router.attempts", x.attempts)
	}
}

// scrubSecrets removes a key from an error that an upstream echoed it in.
func scrubSecrets(e *llm.Error, key string) {
	if e == nil || len(key) < 4 {
		return
	}
	e.Message = strings.ReplaceAll(e.Message, key, "[redacted]")
	if bytes.Contains(e.Body, []byte(key)) {
		e.Body = bytes.ReplaceAll(e.Body, []byte(key), []byte("[redacted]"))
	}
}
