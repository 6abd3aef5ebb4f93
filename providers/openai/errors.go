package openai

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// ParseError reads an OpenAI-compatible error response. A JSON body is kept
// to be passed to the client unchanged; anything else is described in the
// router's own error shape with code upstream_error.
func ParseError(resp *http.Response, body []byte) *llm.Error {
	e := &llm.Error{
		Status:     resp.StatusCode,
		Kind:       llm.KindHTTP,
		RetryAfter: llm.ParseRetryAfter(resp.Header, time.Now()),
		Header:     resp.Header,
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' && gjson.ValidBytes(trimmed) {
		e.Body = body // passed on byte for byte to OpenAI-format clients
		e.Format = llm.FormatOpenAI
		fillFromJSON(e, gjson.ParseBytes(trimmed))
		return e
	}
	e.Code = "upstream_error"
	e.Type = llm.TypeForStatus(resp.StatusCode)
	e.Message = fmt.Sprintf("upstream returned %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if text := providers.Snippet(trimmed); text != "" {
		e.Message += ": " + text
	}
	return e
}

// ParseStreamError reads an error object sent inside a 200 event stream
// (vLLM and others send `data: {"error":{…}}`).
func ParseStreamError(data []byte) *llm.Error {
	e := &llm.Error{Status: http.StatusBadGateway, Kind: llm.KindStream}
	fillFromJSON(e, gjson.ParseBytes(data))
	if e.Code == "" {
		e.Code = "upstream_error"
	}
	if e.Type == "" {
		e.Type = "upstream_error"
	}
	return e
}

// fillFromJSON reads message, type, code and param from `{"error":…}` or, as
// some servers send, a bare `{"message":…}` / `{"error":"text"}`.
func fillFromJSON(e *llm.Error, doc gjson.Result) {
	obj := doc.Get("error")
	switch {
	case obj.IsObject():
	case obj.Type == gjson.String:
		e.Message = obj.String()
		obj = doc
	default:
		obj = doc
	}
	if e.Message == "" {
		e.Message = obj.Get("message").String()
	}
	e.Type = obj.Get("type").String()
	switch code := obj.Get("code"); code.Type {
	case gjson.String:
		e.Code = code.Str
	case gjson.Number:
		e.Code = strconv.FormatInt(code.Int(), 10)
	}
	if p := obj.Get("param"); p.Type == gjson.String {
		e.Param = p.Str
	}
	if e.Message == "" {
		e.Message = "upstream error"
	}
}
