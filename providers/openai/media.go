package openai

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// The media operations (llm.Op.Media: images, audio, moderations) pass
// through byte for byte: the client's body and Content-Type go upstream as
// they came, but for the model, and the answer — JSON, audio, plain text,
// an event stream — comes back as the upstream sent it, with its
// Content-Type, its usage read where it has one.

// newMediaRequest builds `POST {base_url}{op path}` with the client's body
// (see AttachMediaBody; an upload's `model` field is set to the upstream
// model) and `Authorization: Bearer`.
func newMediaRequest(ctx context.Context, c *llm.Call) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Upstream.BaseURL+c.Op.String(), nil)
	if err != nil {
		return nil, err
	}
	if err := AttachMediaBody(req, c, true); err != nil {
		return nil, err
	}
	if key := c.Key(); key != "" {
		req.Header["Authorization"] = []string{"Bearer " + key}
	}
	providers.SetExtraHeaders(req, c.Upstream.Header)
	return req, nil
}

// AttachMediaBody sets a media request's body and Content-Type. A JSON body
// is the client's with `model` set to the upstream model, as for chat. An
// upload (multipart/form-data) keeps the client's Content-Type, and so its
// boundary, and every byte; with spliceModel, when the upstream model
// differs from the client's (an alias, a `target/model` name, model_map),
// the value of its `model` field is replaced in place, the rest of the
// body untouched. (Azure takes the deployment from the path and gets the
// upload unchanged.)
func AttachMediaBody(req *http.Request, c *llm.Call, spliceModel bool) error {
	ct := c.ClientHeader.Get("Content-Type")
	if !llm.IsForm(ct) {
		providers.NewPassthroughBody(c.Body, c.Model, false).Attach(req)
		req.Header["Content-Type"] = jsonContentType
	} else {
		segs := [3][]byte{c.Body}
		if spliceModel && c.Model != c.ClientModel {
			start, end, err := formModel(c.Body, ct)
			if err != nil {
				return err
			}
			segs = [3][]byte{c.Body[:start], []byte(c.Model), c.Body[end:]}
		}
		attachSegments(req, segs)
		req.Header["Content-Type"] = []string{ct}
	}
	if c.Stream {
		req.Header["Accept"] = eventStreamValue
	}
	return nil
}

// errNoFormModel: the upload the API parsed has no model field any more,
// which cannot happen short of a bug.
var errNoFormModel = errors.New("the upload's model field was not found")

// formModel finds the value of an upload's `model` field.
func formModel(body []byte, contentType string) (start, end int, err error) {
	boundary, ok := llm.FormBoundary(contentType)
	if !ok {
		return 0, 0, llm.ErrForm
	}
	start = -1
	err = llm.ScanForm(body, boundary, func(p llm.FormPart) bool {
		if p.Name == "model" && !p.File {
			start, end = p.Start, p.End
			return false
		}
		return true
	})
	if err == nil && start < 0 {
		err = errNoFormModel
	}
	return start, end, err
}

// attachSegments makes the concatenation of segs req's body, replayable
// by the transport, without copying them.
func attachSegments(req *http.Request, segs [3][]byte) {
	var n int64
	for _, s := range segs {
		n += int64(len(s))
	}
	open := func() io.ReadCloser {
		return io.NopCloser(io.MultiReader(bytes.NewReader(segs[0]), bytes.NewReader(segs[1]), bytes.NewReader(segs[2])))
	}
	req.Body = open()
	req.ContentLength = n
	req.GetBody = func() (io.ReadCloser, error) { return open(), nil }
}

// RelayMedia copies a media answer to the client byte for byte, with the
// upstream's headers: an event stream event by event (relayMediaStream), a
// JSON answer read whole and checked first (so a failure while reading it,
// or a truncated answer, can still be retried) with its `usage`, anything
// else (audio, text) as it arrives.
func RelayMedia(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == stream.ContentType:
		return relayMediaStream(w, resp, c)
	case mt == "application/json", strings.HasSuffix(mt, "+json"):
		buf, err := llm.ReadAll(resp.Body, resp.ContentLength, c.MaxResponseBody)
		if err != nil {
			return llm.Usage{}, err
		}
		defer llm.PutBuffer(buf)
		body := buf.Bytes()
		if llm.CheckJSON(body, llm.MaxDepth) != nil {
			return llm.Usage{}, ErrInvalidAnswer // cut off: retried
		}
		usage := MediaUsageOf(gjson.Get(llm.BytesString(body), "usage"))
		providers.CopyResponseHeaders(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, err = w.Write(body)
		return usage, err
	}
	return llm.Usage{}, copyMedia(w, resp, c)
}

// MediaUsageOf reads the `usage` of a media answer: the input_tokens /
// output_tokens of image generations, transcriptions and speech events
// (a transcription billed by duration has none), or an OpenAI chat-style
// usage as some compatible servers send.
func MediaUsageOf(u gjson.Result) llm.Usage {
	if !u.IsObject() {
		return llm.Usage{}
	}
	in, out := u.Get("input_tokens"), u.Get("output_tokens")
	if !in.Exists() && !out.Exists() {
		return UsageOf(u)
	}
	return llm.Usage{
		PromptTokens:     in.Int(),
		CompletionTokens: out.Int(),
		CacheReadTokens:  u.Get("input_tokens_details.cached_tokens").Int(),
	}
}

// copyChunk is the piece in which a binary answer is relayed.
const copyChunk = 32 << 10

var copyPool = sync.Pool{New: func() any { b := make([]byte, copyChunk); return &b }}

// copyMedia relays a binary or text answer as it arrives, flushing each
// piece (speech is played while it is generated). The response commits
// with its first byte: a failure before it can be retried. A failure
// after it cannot be reported inside audio: the body just ends short of
// its Content-Length, and the failure is returned as already relayed.
func copyMedia(w llm.ResponseWriter, resp *http.Response, c *llm.Call) error {
	max := c.MaxResponseBody
	if max <= 0 {
		max = llm.DefaultMaxResponseBody
	}
	if resp.ContentLength > max {
		return llm.ErrTooLarge
	}
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			total += int64(n)
			if total > max {
				return brokenMedia(w, resp, c, llm.ErrTooLarge, total-int64(n))
			}
			if !w.Committed() {
				providers.CopyResponseHeaders(w.Header(), resp.Header)
				w.WriteHeader(resp.StatusCode)
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if err == io.EOF {
			if !w.Committed() { // an empty answer
				providers.CopyResponseHeaders(w.Header(), resp.Header)
				w.WriteHeader(resp.StatusCode)
			}
			return nil
		}
		if err != nil {
			return brokenMedia(w, resp, c, err, total)
		}
	}
}

// brokenMedia handles a failed read of a binary answer: before commit the
// error goes back to the router as it is (the attempt can be retried);
// after, it is described (the attempt's timeout, an answer over
// max_response_body, a broken connection — never the upstream's address)
// and marked relayed, since nothing can be added to the body.
func brokenMedia(w llm.ResponseWriter, resp *http.Response, c *llm.Call, err error, written int64) error {
	if !w.Committed() {
		return err
	}
	e := &llm.Error{Status: http.StatusBadGateway, Kind: llm.KindConnect, Code: "upstream_error", Type: "upstream_error", Cause: err, Relayed: true,
		Message: fmt.Sprintf("target %q: the answer broke off after %d bytes", c.Upstream.Name, written)}
	switch req := resp.Request; {
	case errors.Is(err, llm.ErrTooLarge):
		e.Kind = llm.KindInvalid
		e.Message = fmt.Sprintf("target %q: %v", c.Upstream.Name, err)
	case req != nil && req.Context().Err() != nil:
		e.Status, e.Kind, e.Code, e.Type = http.StatusGatewayTimeout, llm.KindTimeout, "upstream_timeout", "timeout_error"
		e.Message = fmt.Sprintf("target %q: %v", c.Upstream.Name, context.Cause(req.Context()))
	}
	return e
}

// relayMediaStream passes a media event stream through event by event
// (transcript.text.delta … transcript.text.done, speech.audio.delta …
// speech.audio.done, image_generation.partial_image …
// image_generation.completed), flushing whenever no further upstream bytes
// are already waiting. Usage comes from the event that carries it;
// comments before the first event are held so that an error event right
// after them can still be retried. An error event after the first one
// reaches the client as it came and is returned as relayed; a stream that
// ends before its `.done` / `.completed` event is cut.
func relayMediaStream(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (usage llm.Usage, err error) {
	r := stream.NewReader(resp.Body, c.MaxResponseBody)
	defer r.Release()
	var (
		held     []byte
		finished bool
	)
	commit := func() error {
		if w.Committed() {
			return nil
		}
		providers.CopyResponseHeaders(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		if len(held) > 0 {
			_, err := w.Write(held)
			return err
		}
		return nil
	}
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
			if !w.Committed() {
				held = append(held, ev.Raw...)
				continue
			}
			if _, err := w.Write(ev.Raw); err != nil {
				return usage, err
			}
			continue
		}
		typ := eventType(ev)
		src := llm.BytesString(ev.Data)
		if typ == evError || bytes.Contains(ev.Data, errorKey) && gjson.Get(src, "error").IsObject() {
			e := ParseStreamError(ev.Data)
			if !w.Committed() {
				return usage, e // before any output: the attempt can be retried
			}
			if _, err := w.Write(ev.Raw); err == nil {
				_ = w.Flush()
			}
			e.Relayed = true
			return usage, e
		}
		if bytes.Contains(ev.Data, usageKey) {
			if u := gjson.Get(src, "usage"); u.IsObject() {
				usage = MediaUsageOf(u)
			}
		}
		if strings.HasSuffix(typ, ".done") || strings.HasSuffix(typ, ".completed") || llm.IsDone(ev.Data) {
			finished = true
		}
		if err := commit(); err != nil {
			return usage, err
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
