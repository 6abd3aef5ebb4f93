package llmrouter

import (
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/redact"
)

// maxErrorMessage bounds an error message the router passes on from an
// upstream.
const maxErrorMessage = 512

// newScrubber collects every secret of the configuration: each target's
// api_key and the values of its `header` lines, as expanded.
func (h *Handler) provisionScrubber() {
	h.secrets = h.secrets[:0]
	for _, t := range h.Targets {
		h.secrets = append(h.secrets, t.upstream.APIKey)
		for _, vals := range t.upstream.Header {
			h.secrets = append(h.secrets, vals...)
		}
	}
	h.scrubber = redact.New(h.secrets...)
}

// scrub removes every configured secret, and the key of the call (a
// client's own key forwarded upstream), from an error an upstream sent, in
// every encoding it may have echoed them in: message, passed-through body
// and headers. The message is cut short only after scrubbing, and the cut
// never leaves a piece of a key.
func (x *exchange) scrub(e *llm.Error, call *llm.Call) {
	if e == nil {
		return
	}
	s := x.h.scrubber
	if call != nil && call.Upstream.APIKey == "" && call.ClientKey != "" {
		s = redact.New(append([]string{call.ClientKey}, x.h.secrets...)...)
	}
	e.Message = s.Truncate(e.Message, maxErrorMessage)
	if e.Body != nil {
		e.Body = s.Scrub(e.Body)
	}
	if e.Header != nil && s.HeaderContains(e.Header) {
		e.Header = e.Header.Clone()
		s.ScrubHeader(e.Header)
	}
}
