package llmrouter

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/cache"
	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/routing"
	"github.com/llmrouter/caddy-llm-router/stores"
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
	spans       spans
	// Router keys (nil key: none configured).
	key           *keys.Key
	keyName       string
	ticket        *stores.Ticket
	decision      stores.Decision // the store's latest, for the headers
	keyErr        *llm.Error      // a refusal that ends the request
	budgetRefused *llm.Error      // an attempt the budget could not fit
	forbidden     bool            // a candidate's target is not the key's
	spent         float64         // cost of the attempts made so far
	// noneQualified: no member of the requested model met its `when`
	// conditions
	noneQualified bool
	// abort: a committed answer that is not an event stream failed
	// midway; the connection is cut once the request is accounted for.
	abort bool
	// The response cache (nil: none configured): the request's part in
	// it, the entry that answered it, and whether the answering attempt
	// finished without error.
	cache    *cached
	hit      *cache.Entry
	complete bool
}

// verdict tells the candidate loop whether the request was answered.
type verdict bool

const (
	answered verdict = true
	tryNext  verdict = false
)

// serveAPI serves one operation of an inbound API.
func (h *Handler) serveAPI(rw http.ResponseWriter, r *http.Request, api apis.API, rt apis.Route) {
	key, ok := h.authenticate(rw, r, api.WriteError)
	if !ok {
		return
	}
	req, e := readRequest(r, api, rt, h.maxRequestBody)
	if e != nil {
		api.WriteError(rw, e)
		return
	}
	defer req.release()
	if key != nil && !key.AllowsModel(req.Model) {
		recordKeyRequest(key.Name, http.StatusForbidden)
		api.WriteError(rw, errModelNotAllowed(key.Name, req.Model))
		return
	}
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
	if key != nil {
		x.key, x.keyName = key, key.Name
		// Client models the key may not use are passed over.
		kept := req.Models[:0]
		for _, m := range req.Models {
			if key.AllowsModel(m) {
				kept = append(kept, m)
			}
		}
		req.Models = kept
	}
	x.seen, x.cands = x.seenBuf[:0], x.candsBuf[:0]
	x.repl, _ = r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	x.startTracing()
	if h.cache != nil && x.lookup(g) {
		x.finishHit()
		return
	}
	x.routeReq = routing.Request{User: req.User, ClientKey: req.ClientKey, Now: x.start}
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok {
		x.routeReq.ClientIP = ip
	} else {
		x.routeReq.ClientIP = r.RemoteAddr
	}
	x.run(g)
	x.storeAnswer()
	x.finish()
	if x.abort {
		_ = x.w.Flush()
		panic(http.ErrAbortHandler) // as the reverse proxy does; no log from net/http
	}
}

// run tries the candidates: the group's in its strategy's order, then each
// fallback entry's (not for a request that forced its target), then — only
// when nothing else is left — the members that were skipped for being in
// cooldown.
func (x *exchange) run(g *group) {
	var deferred []member
	clientModels, fallbacks := len(x.req.Models), len(x.h.fallbacks)
	if x.req.forceTarget != "" {
		clientModels, fallbacks = 0, 0
	}
	for i := -1; i < clientModels+fallbacks; i++ {
		switch {
		case i < 0:
		case i < clientModels:
			// The body's `models` list, before the router's fallbacks; a
			// name that resolves to nothing is passed over.
			var e *llm.Error
			if g, e = x.h.resolveModel(x.req.Models[i]); e != nil {
				continue
			}
		default:
			g = x.h.fallbacks[i-clientModels].group(x.req.Model)
		}
		members := g.members
		if g.conditional {
			members = x.qualified(members)
			if len(members) == 0 && i < 0 {
				x.noneQualified = true
			}
		}
		var buf [8]int
		var order []int
		if n := len(members); n <= len(buf) {
			order = buf[:n]
		} else {
			order = make([]int, n)
		}
		g.policy.Order(x.candidates(members), &x.routeReq, order)
		for _, idx := range order {
			m := members[idx]
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

// qualified returns the members whose `when` conditions hold for the
// request (evaluated from the request's features, computed once).
func (x *exchange) qualified(ms []member) []member {
	out := make([]member, 0, len(ms))
	for _, m := range ms {
		if qualifies(m.when, x.req.Request) {
			out = append(out, m)
		}
	}
	return out
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
	if x.key != nil && !x.key.AllowsTarget(m.target.Name) {
		x.forbidden = true
		return false
	}
	if x.native(m) {
		return true
	}
	if _, e := x.req.Hub(); e != nil {
		if x.unsupported == nil {
			x.unsupported = e
			if x.req.Op.Media() {
				// Passed through only: name the target and the endpoint.
				x.unsupported = llm.Unsupported(m.target.Name, x.req.Op.String(), "its provider does not serve this endpoint")
				x.unsupported.Param = "model"
			}
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

// clientKey is the client's key to forward upstream to a target without
// an api_key (bring your own key) — never once router keys exist.
func (x *exchange) clientKey() string {
	if x.h.keysConfigured {
		return ""
	}
	return x.req.ClientKey
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
		ClientKey:    x.clientKey(),
		Upstream:     &m.target.upstream,
	}
	if x.native(m) {
		c.ClientHeader = x.req.Header
		return c
	}
	c.Op = x.req.HubOp
	c.Body, _ = x.req.Hub()
	c.Translated = !x.req.Op.Hub()
	return c
}

// try runs the attempts on one candidate: the first, then retries.
func (x *exchange) try(m member) verdict {
	st := m.target.state
	for n := 0; ; n++ {
		if !st.TryAcquire(m.target.MaxInFlight) {
			x.full = true
			return tryNext
		}
		if !x.admit(m) {
			st.Release()
			if x.keyErr != nil {
				x.answerFailure(x.keyErr)
				return answered
			}
			return tryNext // the budget does not fit this attempt
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
		x.h.logAttemptFailure(m.target, e)
		if st.Failure(x.h.cooldownN, x.h.cooldownD, now()) {
			x.h.logCooldown(m.target, x.h.cooldownD, e)
		}
		if e.RetryAfter > x.h.backoffMax {
			// Longer than the router will wait: the target is out for
			// that long, for this request and the next ones.
			if st.CoolFor(e.RetryAfter, now()) {
				x.h.logCooldown(m.target, e.RetryAfter, e)
			}
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
	x.cache.reset() // nothing of a failed attempt is recorded
	if x.attempts > 1 {
		// An encoder may hold what a failed attempt wrote before anything
		// reached the client: each attempt starts with a fresh one.
		x.enc = x.api.NewEncoder(x.w, x.req.Request)
	}
	call := x.call(m)
	if x.h.UsageCost {
		if f := x.startCost(m); f != nil {
			defer x.endCost(f)
		}
	}

	call.MaxResponseBody = x.h.maxResponseBody
	ctx, cancel := context.WithTimeoutCause(x.r.Context(), time.Duration(t.timeout), errAttemptTimeout)
	defer cancel()
	var firstByte *time.Timer
	var cancelCause context.CancelCauseFunc
	if x.req.Stream {
		ctx, cancelCause = context.WithCancelCause(ctx)
		defer cancelCause(nil)
		if t.FirstByteTimeout > 0 {
			firstByte = time.AfterFunc(time.Duration(t.FirstByteTimeout), func() { cancelCause(errFirstByteTimeout) })
			defer firstByte.Stop()
		}
	}
	start := now()
	x.w.OnCommit = func(w *stream.Writer) {
		if firstByte != nil {
			firstByte.Stop()
		}
		x.ttfb = now().Sub(start)
		h := w.Header()
		if x.req.Stream {
			t.state.ObserveTTFB(x.ttfb)
			// A relayed stream may differ from the upstream's bytes
			// (usage chunk, translation, an error event at the end).
			delete(h, "Content-Length")
		}
		if w.Filter != nil {
			delete(h, "Content-Length") // usage_cost lengthens the body
		}
		if x.h.scrubber.HeaderContains(h) {
			x.h.scrubber.ScrubHeader(h) // an upstream echoing a key in a header
		}
		x.status = w.Status()
		x.setRouteHeaders(h)
		x.setKeyHeaders(h)
	}

	native := x.native(m)
	ctx, span := x.startAttempt(ctx, m)
	resp, err := x.send(ctx, t, &call, native)
	if err != nil {
		done, e := x.transportFailure(ctx, t, &call, err)
		endAttempt(span, 0, e)
		return done, e
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := t.provider.ReadError(resp, llm.ReadErrorBody(resp.Body), &call)
		x.scrub(e, &call)
		endAttempt(span, resp.StatusCode, e)
		return false, e
	}
	if e := unexpectedAnswer(t, resp, call.Op, x.req.Stream); e != nil {
		endAttempt(span, resp.StatusCode, e)
		return false, e
	}
	if !x.req.Stream {
		t.state.ObserveTTFB(now().Sub(start))
	} else if idle := time.Duration(t.idleTimeout); idle > 0 {
		ib := newIdleBody(resp.Body, idle, func() { cancelCause(errIdleTimeout) })
		defer ib.stop()
		resp.Body = ib
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
		if c, ok := t.cost(m.model, usage); ok {
			x.spent += c
		}
	}
	if err == nil {
		x.complete = true
		if x.req.Stream {
			drainBody(resp.Body, cancel)
		}
		t.state.Success()
		recordAttempt(t.Name, "success")
		endAttempt(span, resp.StatusCode, nil)
		return true, nil
	}
	if x.r.Context().Err() != nil {
		recordAttempt(t.Name, "canceled")
		endAttempt(span, resp.StatusCode, &llm.Error{Status: 499, Kind: llm.KindConnect, Message: "the client left"})
		return true, nil // the client left
	}
	e := x.failureOf(ctx, t, &call, err)
	endAttempt(span, resp.StatusCode, e)
	if !x.w.Committed() {
		return false, e
	}
	// Too late to retry: end the stream with an error event.
	x.last = e
	recordAttempt(t.Name, outcomeOf(e))
	t.state.Failure(x.h.cooldownN, x.h.cooldownD, now())
	if !stream.IsEventStream(x.w.Header()) {
		// A body that is not an event stream (audio being relayed) has
		// no room for an error: the connection is cut instead, so the
		// client sees the answer is incomplete.
		x.abort = true
		return true, nil
	}
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
	x.injectTraceparent(ctx, req)
	return x.h.transport.RoundTrip(req)
}
