package openai

import (
	"net/http"
	"strings"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// parseForm reads a multipart/form-data upload (image edits,
// transcriptions, translations) without decoding its files or copying the
// body: one scan of the part boundaries and headers (llm.ScanForm) finds
// `model` (a text field, exactly once), `stream` and `user`. The body goes
// upstream as it came, with the client's Content-Type (its boundary).
func (a API) parseForm(r *http.Request, body []byte, rt apis.Route) (*apis.Request, *llm.Error) {
	ct := r.Header.Get("Content-Type")
	boundary, ok := llm.FormBoundary(ct)
	if !ok {
		return nil, apis.Invalid("", "the multipart/form-data Content-Type has no usable boundary")
	}
	req := &apis.Request{
		API: a, Op: rt.Op, Body: body,
		ClientKey: BearerToken(r.Header.Get("Authorization")),
		Header:    http.Header{"Content-Type": {ct}},
	}
	var (
		models int
		text   int64 // bytes of the text fields, for the prompt estimate
		e      *llm.Error
	)
	err := llm.ScanForm(body, boundary, func(p llm.FormPart) bool {
		v := llm.BytesString(body[p.Start:p.End])
		if !p.File {
			text += int64(len(v))
		}
		switch p.Name {
		case "model":
			models++
			if p.File {
				e = apis.Invalid("model", "'model' must be a form field, not a file")
				return false
			}
			// Cloned: the model lives on in logs and metrics.
			req.Model = strings.Clone(v)
		case "stream":
			req.Stream = formTrue(v)
		case "user":
			req.User = strings.Clone(v)
		}
		return true
	})
	switch {
	case err != nil:
		return nil, apis.Invalid("", "the request body is not a multipart/form-data body the router can read: %v", err)
	case e != nil:
		return nil, e
	case models == 0:
		return nil, apis.Invalid("model", "'model' is required")
	case models > 1:
		return nil, apis.Invalid("model", "'model' is given more than once")
	}
	if e := apis.CheckModel(req.Model); e != nil {
		return nil, e
	}
	// The files cost what the upstream says (audio seconds, image
	// tokens); the text fields are the estimate's only evidence.
	req.EstimatedPromptTokens = (text+3)/4 + 1
	return req, nil
}

// formTrue reads a boolean form field as the OpenAI API does.
func formTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}
