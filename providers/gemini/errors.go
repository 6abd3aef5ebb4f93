package gemini

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// parseError reads Google's error shape,
// `{"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED","details":[…]}}`
// (also wrapped in an array, as streamGenerateContent without alt=sse
// sends it). The status is the upstream's, the message is kept, and the
// status string is both type and code; the body is kept for Gemini
// clients (the object, when it came wrapped in an array). Retry-After
// comes from the header, else from a google.rpc.RetryInfo retryDelay; a google.rpc.BadRequest
// field violation names the param.
func parseError(resp *http.Response, body []byte) *llm.Error {
	e := &llm.Error{
		Status:     resp.StatusCode,
		Kind:       llm.KindHTTP,
		RetryAfter: llm.ParseRetryAfter(resp.Header, now()),
	}
	trimmed := bytes.TrimSpace(body)
	obj := gjson.Result{}
	if gjson.ValidBytes(trimmed) {
		doc := gjson.ParseBytes(trimmed)
		if doc.IsArray() {
			doc = doc.Get("0")
		}
		obj = doc.Get("error")
	}
	if !obj.IsObject() {
		e.Type = llm.TypeForStatus(resp.StatusCode)
		e.Code = "upstream_error"
		e.Message = fmt.Sprintf("upstream returned %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		if s := providers.Snippet(trimmed); s != "" {
			e.Message += ": " + s
		}
		return e
	}
	fillError(e, obj)
	// Gemini clients get Google's own body back unchanged.
	e.Format = llm.FormatGemini
	if gjson.ParseBytes(trimmed).IsObject() {
		e.Body = trimmed
	} else {
		e.Body = append(append([]byte(`{"error":`), obj.Raw...), '}')
	}
	return e
}

// streamError is an error object Gemini sent inside a 2xx answer.
func streamError(obj gjson.Result) *llm.Error {
	e := &llm.Error{Status: http.StatusBadGateway, Kind: llm.KindStream}
	fillError(e, obj)
	if c := obj.Get("code").Int(); c >= 400 && c <= 599 {
		e.Status = int(c)
	}
	return e
}

// fillError reads message, status, RetryInfo and BadRequest details.
func fillError(e *llm.Error, obj gjson.Result) {
	// Cloned: obj may point into a stream reader's buffer.
	e.Message = strings.Clone(obj.Get("message").Str)
	if e.Message == "" {
		e.Message = "upstream error"
	}
	if status := obj.Get("status").Str; status != "" {
		status = strings.Clone(status)
		e.Type, e.Code = status, status
	} else {
		e.Type, e.Code = llm.TypeForStatus(e.Status), "upstream_error"
	}
	obj.Get("details").ForEach(func(_, d gjson.Result) bool {
		switch typ := d.Get(`\@type`).Str; {
		case strings.HasSuffix(typ, "google.rpc.RetryInfo"):
			if e.RetryAfter == 0 {
				e.RetryAfter = parseDelay(d.Get("retryDelay"))
			}
		case strings.HasSuffix(typ, "google.rpc.BadRequest"):
			if f := d.Get("fieldViolations.0.field").Str; f != "" && e.Param == "" {
				e.Param = strings.Clone(f)
			}
		}
		return true
	})
}

// parseDelay reads a google.protobuf.Duration in its JSON form ("31s",
// "1.5s"), or as {"seconds":…,"nanos":…}.
func parseDelay(v gjson.Result) time.Duration {
	switch {
	case v.Type == gjson.String:
		if d, err := time.ParseDuration(v.Str); err == nil && d > 0 {
			return d
		}
	case v.IsObject():
		d := time.Duration(v.Get("seconds").Int())*time.Second + time.Duration(v.Get("nanos").Int())
		if d > 0 {
			return d
		}
	}
	return 0
}
