package gemini

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// RelayNative copies a 2xx Gemini answer to a Gemini client unchanged: a
// JSON body whole (read first, bounded, so a failure while reading it can
// be retried), an event stream event by event (see relayStream). The usage
// is read from usageMetadata on the way, the finish reason (Gemini's own,
// for traces) from the first candidate.
func (Provider) RelayNative(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	if c.Stream && stream.IsEventStream(resp.Header) {
		return relayStream(w, resp, c)
	}
	buf, err := llm.ReadAll(resp.Body, resp.ContentLength, c.MaxResponseBody)
	if err != nil {
		return llm.Usage{}, err
	}
	defer llm.PutBuffer(buf)
	body := buf.Bytes()
	if !gjson.ValidBytes(body) {
		return llm.Usage{}, unreadable("response")
	}
	if c.Stream {
		// Gemini without alt=sse (or a server ignoring it) sends the
		// stream as one JSON array: the client asked for events.
		return relayArray(w, resp, body)
	}
	doc := gjson.Parse(llm.BytesString(body))
	usage := usageOf(doc.Get("usageMetadata"))
	usage.FinishReason = strings.Clone(doc.Get("candidates.0.finishReason").Str)
	setHeaders(w, resp)
	w.WriteHeader(resp.StatusCode)
	_, err = w.Write(body)
	return usage, err
}

// setHeaders passes the upstream's response headers on, except hop-by-hop
// ones and Content-Length (the router may still edit the body).
func setHeaders(w llm.ResponseWriter, resp *http.Response) {
	h := w.Header()
	providers.CopyResponseHeaders(h, resp.Header)
	h.Del("Content-Length")
}

// usageOf reads usageMetadata: prompt tokens include those of tool use,
// completion tokens the thoughts.
func usageOf(u gjson.Result) llm.Usage {
	if !u.IsObject() {
		return llm.Usage{}
	}
	thoughts := u.Get("thoughtsTokenCount").Int()
	return llm.Usage{
		PromptTokens:     u.Get("promptTokenCount").Int() + u.Get("toolUsePromptTokenCount").Int(),
		CompletionTokens: u.Get("candidatesTokenCount").Int() + thoughts,
		CacheReadTokens:  u.Get("cachedContentTokenCount").Int(),
		ReasoningTokens:  thoughts,
	}
}

var (
	usageMetadataKey = []byte(`"usageMetadata"`)
	errorKey         = []byte(`"error"`)
	finishReasonKey  = []byte(`"finishReason"`)
	promptBlockKey   = []byte(`"blockReason"`)
	sseFrameEnd      = []byte("\r\n\r\n")
)

// relayStream passes Gemini's event stream through byte for byte,
// flushing whenever no further upstream bytes are already waiting. Events
// before the first data event (comments) are held, and the first data
// event is looked at before anything is committed, so a stream that fails
// at once can still be retried elsewhere. An error object later in the
// stream is passed on as it came and ends the attempt with a KindStream
// error marked Relayed. Usage is the last usageMetadata seen; a stream
// that ends before any candidate finished is cut.
func relayStream(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (usage llm.Usage, err error) {
	r := stream.NewReader(resp.Body, c.MaxResponseBody)
	defer r.Release()
	var (
		held     []byte
		finished bool
		meta     []byte // the last usageMetadata, read once at the end
		reason   string
	)
	defer func() {
		if meta != nil {
			usage = usageOf(gjson.Parse(llm.BytesString(meta)))
		}
		usage.FinishReason = reason
	}()
	for {
		ev, err := r.Next()
		if err == io.EOF {
			if !finished {
				return usage, ErrStreamCut
			}
			return usage, w.Flush()
		}
		if err != nil {
			return usage, err
		}
		if !ev.HasData {
			if w.Committed() {
				if _, err := w.Write(ev.Raw); err != nil {
					return usage, err
				}
			} else {
				held = append(held, ev.Raw...)
			}
			continue
		}
		if bytes.Contains(ev.Data, errorKey) {
			if e := frameError(ev.Data); e != nil {
				if !w.Committed() {
					return usage, e
				}
				if _, err := w.Write(ev.Raw); err != nil {
					return usage, err
				}
				e.Relayed = true
				return usage, e
			}
		}
		if bytes.Contains(ev.Data, usageMetadataKey) {
			if u := gjson.Get(llm.BytesString(ev.Data), "usageMetadata"); u.IsObject() {
				meta = append(meta[:0], u.Raw...)
			}
		}
		if bytes.Contains(ev.Data, finishReasonKey) {
			finished = true
			if r := gjson.Get(llm.BytesString(ev.Data), "candidates.0.finishReason").Str; r != "" && r != reason {
				reason = strings.Clone(r)
			}
		} else if !finished && bytes.Contains(ev.Data, promptBlockKey) {
			finished = true
		}
		if !w.Committed() {
			setHeaders(w, resp)
			w.WriteHeader(resp.StatusCode)
			if len(held) > 0 {
				if _, err := w.Write(held); err != nil {
					return usage, err
				}
			}
		}
		if _, err := w.Write(ev.Raw); err != nil {
			return usage, err
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return usage, err
			}
		}
	}
}

// frameError is the error a stream frame carries, or nil. The error owns
// a copy of the frame: data belongs to the stream's reader.
func frameError(data []byte) *llm.Error {
	if !gjson.Get(llm.BytesString(data), "error").Exists() && !gjson.Get(llm.BytesString(data), "0.error").Exists() {
		return nil
	}
	data = bytes.Clone(bytes.TrimSpace(data))
	doc := gjson.Parse(llm.BytesString(data))
	if doc.IsArray() {
		doc = doc.Get("0")
	}
	e := doc.Get("error")
	if !e.Exists() || e.Type == gjson.Null {
		return nil
	}
	if !e.IsObject() {
		return &llm.Error{Status: http.StatusBadGateway, Kind: llm.KindStream,
			Message: e.String(), Type: "upstream_error", Code: "upstream_error"}
	}
	out := streamError(e)
	out.Body, out.Format = data, llm.FormatGemini
	return out
}

// relayArray sends a stream Gemini delivered as one JSON array (or one
// object) as events, one per element, framed as Gemini frames them. The
// whole answer is at hand, so one that is not GenerateContentResponse
// objects, or that never finished, fails before anything is sent.
func relayArray(w llm.ResponseWriter, resp *http.Response, body []byte) (llm.Usage, error) {
	doc := gjson.Parse(llm.BytesString(body))
	var (
		usage    llm.Usage
		reason   string
		failure  *llm.Error
		finished bool
		bad      bool
	)
	out := make([]byte, 0, len(body)+64)
	each := func(v gjson.Result) bool {
		if !v.IsObject() {
			bad = true
			return false
		}
		if e := v.Get("error"); e.Exists() && e.Type != gjson.Null {
			failure = frameError([]byte(v.Raw))
			if len(out) == 0 {
				return false // nothing sent yet: the attempt can be retried
			}
		}
		if u := v.Get("usageMetadata"); u.IsObject() {
			usage = usageOf(u)
		}
		if r := v.Get("candidates.0.finishReason").Str; r != "" {
			finished, reason = true, strings.Clone(r)
		} else if v.Get("promptFeedback.blockReason").Exists() {
			finished = true
		}
		out = append(out, "data: "...)
		out = llm.AppendCompact(out, v.Raw)
		out = append(out, sseFrameEnd...)
		return failure == nil
	}
	if doc.IsArray() {
		doc.ForEach(func(_, v gjson.Result) bool { return each(v) })
	} else {
		each(doc)
	}
	usage.FinishReason = reason
	switch {
	case bad:
		return llm.Usage{}, unreadable("stream")
	case len(out) == 0 && failure != nil:
		return usage, failure
	case failure == nil && !finished:
		return usage, ErrStreamCut
	}
	setHeaders(w, resp)
	h := w.Header()
	h["Content-Type"] = eventStreamValue
	w.WriteHeader(resp.StatusCode)
	if _, err := w.Write(out); err != nil {
		return usage, err
	}
	if failure != nil {
		failure.Relayed = true
		return usage, failure
	}
	return usage, w.Flush()
}
