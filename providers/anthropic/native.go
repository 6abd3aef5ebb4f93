package anthropic

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/anthropicwire"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Speaks reports the Messages API's own operations, which pass through:
// messages and count_tokens.
func (Provider) Speaks(op llm.Op) bool {
	return op == llm.OpMessages || op == llm.OpCountTokens
}

// NewNativeRequest builds `POST {base_url}/v1/messages` (or
// `/v1/messages/count_tokens`) with the client's body byte for byte but
// for `model`, the key in `x-api-key`, the client's `anthropic-version`
// (else the target's api_version, else DefaultVersion), the client's
// `anthropic-beta`, and the target's extra headers.
func (Provider) NewNativeRequest(ctx context.Context, c *llm.Call) (*http.Request, error) {
	path := "/v1/messages"
	if c.Op == llm.OpCountTokens {
		path = "/v1/messages/count_tokens"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Upstream.BaseURL+path, nil)
	if err != nil {
		return nil, err
	}
	providers.NewPassthroughBody(c.Body, c.Model, false).Attach(req)
	h := req.Header
	h["Content-Type"] = jsonContentType
	if c.Stream {
		h["Accept"] = eventStreamValue
	}
	if key := c.Key(); key != "" {
		h["X-Api-Key"] = []string{key}
	}
	if v := c.ClientHeader["Anthropic-Version"]; len(v) > 0 {
		h["Anthropic-Version"] = v
	} else if c.Upstream.APIVersion != "" {
		h["Anthropic-Version"] = []string{c.Upstream.APIVersion}
	} else {
		h["Anthropic-Version"] = defaultVersion
	}
	if v := c.ClientHeader["Anthropic-Beta"]; len(v) > 0 {
		h["Anthropic-Beta"] = v
	}
	providers.SetExtraHeaders(req, c.Upstream.Header)
	return req, nil
}

var defaultVersion = []string{DefaultVersion}

// RelayNative copies a 2xx Messages API answer to the client unchanged,
// reading its usage on the way: a JSON body whole (read first, so a failure
// to read it can still be retried), an event stream event by event (see
// relayEvents). The upstream's response headers pass, except hop-by-hop
// ones.
func (Provider) RelayNative(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	if c.Stream && stream.IsEventStream(resp.Header) {
		return relayEvents(w, resp, c)
	}
	buf, err := llm.ReadAll(resp.Body, resp.ContentLength, c.MaxResponseBody)
	if err != nil {
		return llm.Usage{}, err
	}
	defer llm.PutBuffer(buf)
	body := buf.Bytes()
	if !gjson.ValidBytes(body) {
		return llm.Usage{}, invalidResponse("the answer is not JSON")
	}
	var u anthropicwire.Usage
	if c.Op == llm.OpMessages {
		u.Read(gjson.GetBytes(body, "usage"))
	}
	providers.CopyResponseHeaders(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	_, err = w.Write(body)
	return u.Counted(), err
}

var (
	eventMessageStart = []byte("message_start")
	eventMessageDelta = []byte("message_delta")
	eventMessageStop  = []byte("message_stop")
	eventPing         = []byte("ping")
	eventError        = []byte("error")
)

// relayEvents passes a Messages API event stream through byte for byte,
// flushing whenever no further upstream bytes are already waiting. Usage
// comes from message_start and message_delta. message_start and pings are
// held until the first other event, so that an error event arriving before
// any content can still be retried elsewhere; an error event after that
// reaches the client as it is and ends the relay with a KindStream error
// marked Relayed. A stream that ends before message_stop is an error.
func relayEvents(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	r := stream.NewReader(resp.Body, c.MaxResponseBody)
	defer r.Release()
	var (
		u    anthropicwire.Usage
		held []byte
	)
	commit := func() error {
		providers.CopyResponseHeaders(w.Header(), resp.Header)
		w.Header().Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		if len(held) == 0 {
			return nil
		}
		_, err := w.Write(held)
		return err
	}
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return u.Counted(), ErrStreamCut
		}
		if err != nil {
			return u.Counted(), err
		}
		name := ev.Name
		if len(name) == 0 && ev.HasData {
			// Unnamed events still carry their type in the data.
			name = []byte(gjson.GetBytes(ev.Data, "type").Str)
		}
		switch {
		case bytes.Equal(name, eventMessageStart):
			u.Read(gjson.GetBytes(ev.Data, "message.usage"))
		case bytes.Equal(name, eventMessageDelta):
			u.Read(gjson.GetBytes(ev.Data, "usage"))
		case bytes.Equal(name, eventError):
			e := streamError(ev.Data)
			if !w.Committed() {
				return u.Counted(), e
			}
			e.Relayed = true
			if _, err := w.Write(ev.Raw); err != nil {
				return u.Counted(), err
			}
			_ = w.Flush()
			return u.Counted(), e
		}
		if !w.Committed() {
			if bytes.Equal(name, eventMessageStart) || bytes.Equal(name, eventPing) || !ev.HasData {
				held = append(held, ev.Raw...)
				continue
			}
			if err := commit(); err != nil {
				return u.Counted(), err
			}
		}
		if _, err := w.Write(ev.Raw); err != nil {
			return u.Counted(), err
		}
		if bytes.Equal(name, eventMessageStop) {
			return u.Counted(), w.Flush()
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return u.Counted(), err
			}
		}
	}
}

// streamError reads the data of an error event.
func streamError(data []byte) *llm.Error {
	obj := gjson.GetBytes(data, "error")
	if !obj.IsObject() {
		obj = gjson.Result{}
	}
	return errorOf(obj, llm.KindStream)
}
