package llmrouter

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/providers"
)

// request is a client request, read and checked once and shared by all of
// its attempts.
type request struct {
	ep           providers.Endpoint
	buf          *bytes.Buffer // pooled; holds body
	body         []byte
	model        string
	stream       bool
	includeUsage bool
	user         string
	clientKey    string       // the client's bearer key, if any
	forceTarget  string       // X-LLM-Target
	unread       atomic.Int32 // body readers not read to the end, see release
}

// readRequest reads the body, at most maxBody bytes, and checks what the
// router itself relies on: a JSON object with a string `model` (once), and
// `messages` for chat. The caller must call release.
func readRequest(r *http.Request, ep providers.Endpoint, maxBody int64) (*request, *providers.Error) {
	if r.ContentLength > maxBody {
		return nil, errTooLarge(maxBody)
	}
	buf := providers.GetBuffer()
	if err := readBody(buf, r.Body, r.ContentLength, maxBody); err != nil {
		providers.PutBuffer(buf)
		if err == errBodyTooLarge {
			return nil, errTooLarge(maxBody)
		}
		return nil, errInvalid("", "reading the request body: %v", err)
	}
	req := &request{ep: ep, buf: buf, body: buf.Bytes()}
	if e := req.parse(); e != nil {
		req.release()
		return nil, e
	}
	req.clientKey = bearerToken(r.Header.Get("Authorization"))
	req.forceTarget = r.Header.Get("X-LLM-Target")
	return req, nil
}

// release gives the body's buffer back to the pool — unless a transport may
// still read from it (an upstream answered before reading the whole body),
// in which case the garbage collector takes it once nobody does: another
// request's bytes must never go out on this one's connection.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads body into buf, stopping with errBodyTooLarge as soon as it
// holds more than max bytes (the rest is never read).
func readBody(buf *bytes.Buffer, body io.Reader, size, max int64) error {
	if size > 0 {
		buf.Grow(int(size))
	}
	for {
		if buf.Available() < 512 {
			buf.Grow(buf.Len() + 512) // doubles, like ReadFrom
		}
		free := buf.AvailableBuffer()
		free = free[:cap(free)]
		if room := max + 1 - int64(buf.Len()); int64(len(free)) > room {
			free = free[:room]
		}
		n, err := body.Read(free)
		buf.Write(free[:n]) // the buffer's own spare room: no copy
		if int64(buf.Len()) > max {
			return errBodyTooLarge
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (req *request) release() {
	if req.buf != nil {
		if req.unread.Load() == 0 {
			providers.PutBuffer(req.buf)
		}
		req.buf, req.body = nil, nil
	}
}

// parse reads the top-level fields in one pass over the body.
func (req *request) parse() *providers.Error {
	src := providers.BytesString(req.body)
	trimmed := strings.TrimLeft(src, " \t\r\n")
	if trimmed == "" {
		return errInvalid("", "the request body is empty; expected a JSON object")
	}
	if !gjson.Valid(src) {
		return errInvalid("", "the request body is not valid JSON")
	}
	if trimmed[0] != '{' {
		return errInvalid("", "the request body must be a JSON object")
	}
	var (
		models      int
		hasMessages bool
		e           *providers.Error
	)
	gjson.Parse(src).ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "model":
			models++
			if value.Type != gjson.String {
				e = errInvalid("model", "'model' must be a string")
				return false
			}
			// Cloned: the body's buffer is reused after the request, while
			// the model lives on in logs and metrics.
			req.model = strings.Clone(value.Str)
		case "stream":
			switch value.Type {
			case gjson.True:
				req.stream = true
			case gjson.False, gjson.Null:
				req.stream = false
			default:
				e = errInvalid("stream", "'stream' must be a boolean")
				return false
			}
		case "stream_options":
			req.includeUsage = value.Get("include_usage").Type == gjson.True
		case "user":
			req.user = strings.Clone(value.Str)
		case "messages":
			if !value.IsArray() {
				e = errInvalid("messages", "'messages' must be an array")
				return false
			}
			hasMessages = true
		}
		return true
	})
	switch {
	case e != nil:
		return e
	case models == 0:
		return errInvalid("model", "'model' is required")
	case models > 1:
		// A parser that keeps the last key would see another model than
		// the router routed on.
		return errInvalid("model", "'model' is given more than once")
	case req.model == "":
		return errInvalid("model", "'model' must not be empty")
	case req.ep == providers.ChatCompletions && !hasMessages:
		return errInvalid("messages", "'messages' is required")
	}
	if req.ep == providers.Embeddings {
		req.stream = false
	}
	return nil
}

// bearerToken returns the token of an `Authorization: Bearer` header.
func bearerToken(auth string) string {
	const prefix = "Bearer "
	if len(auth) > len(prefix) && strings.EqualFold(auth[:len(prefix)], prefix) {
		return strings.TrimSpace(auth[len(prefix):])
	}
	return ""
}
