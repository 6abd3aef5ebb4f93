package openai

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// ErrStreamCut is returned when an upstream event stream ends before it
// finished (no `[DONE]`, no finish_reason).
var ErrStreamCut = errors.New("upstream closed the stream before it finished")

// ErrInvalidAnswer is returned for a 2xx body that is not one complete
// JSON value (an upstream cut off mid-answer, an HTML page): the attempt
// fails like a 502 and may be retried.
var ErrInvalidAnswer = errors.New("the upstream's answer is not complete JSON")

// Relay writes an OpenAI-format 2xx response to the client: a JSON body
// unchanged (read whole and checked first, so a failure while reading it,
// or a truncated answer, can still be retried), an event stream event by
// event (see relayStream). A streamed request answered with one JSON body
// gets it as an event stream.
func Relay(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	if c.Stream && stream.IsEventStream(resp.Header) {
		return relayStream(w, resp, c)
	}
	buf, err := llm.ReadAll(resp.Body, resp.ContentLength, c.MaxResponseBody)
	if err != nil {
		return llm.Usage{}, err
	}
	defer llm.PutBuffer(buf)
	body := buf.Bytes()
	if llm.CheckJSON(body, llm.MaxDepth) != nil {
		return llm.Usage{}, ErrInvalidAnswer
	}
	doc := gjson.Parse(llm.BytesString(body)) // ParseBytes would copy the body
	usage := UsageOf(doc.Get("usage"))
	if f := doc.Get("choices.0.finish_reason"); f.Type == gjson.String {
		usage.FinishReason = f.Str
	}
	if c.Stream {
		providers.CopyResponseHeaders(w.Header(), resp.Header)
		return usage, writeAsStream(w, body, c)
	}
	providers.CopyResponseHeaders(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	_, err = w.Write(body)
	return usage, err
}

// UsageOf reads an OpenAI `usage` object: cached prompt tokens from
// prompt_tokens_details.cached_tokens (and cache writes from the hub's
// cache_creation_tokens), reasoning tokens from
// completion_tokens_details.reasoning_tokens.
func UsageOf(u gjson.Result) llm.Usage {
	if !u.IsObject() {
		return llm.Usage{}
	}
	usage := llm.Usage{
		PromptTokens:     u.Get("prompt_tokens").Int(),
		CompletionTokens: u.Get("completion_tokens").Int(),
	}
	if d := u.Get("prompt_tokens_details"); d.IsObject() {
		usage.CacheReadTokens = d.Get("cached_tokens").Int()
		usage.CacheWriteTokens = d.Get("cache_creation_tokens").Int()
	}
	if d := u.Get("completion_tokens_details"); d.IsObject() {
		usage.ReasoningTokens = d.Get("reasoning_tokens").Int()
	}
	return usage
}

var (
	usageKey  = []byte(`"usage"`)
	errorKey  = []byte(`"error"`)
	finishKey = []byte(`"finish_reason"`)
)

// hasFinishReason reports whether a chunk carries a non-null finish_reason,
// with one scan of it.
func hasFinishReason(data []byte) bool {
	for {
		i := bytes.Index(data, finishKey)
		if i < 0 {
			return false
		}
		rest := bytes.TrimLeft(data[i+len(finishKey):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			rest = bytes.TrimLeft(rest[1:], " \t\r\n")
			return len(rest) > 0 && rest[0] == '"'
		}
		data = data[i+len(finishKey):]
	}
}

// relayStream passes an OpenAI event stream through event by event, flushing
// whenever no further upstream bytes are already waiting. It records usage,
// drops the usage-only chunk the client did not ask for, holds comments that
// come before the first data event (so the attempt can still be retried),
// and turns an in-stream error object into a failure.
func relayStream(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (usage llm.Usage, err error) {
	r := stream.NewReader(resp.Body, c.MaxResponseBody)
	defer r.Release()
	var (
		held     []byte // comments before the first data event
		sawUsage bool
		finished bool
		chunks   int64
	)
	defer func() {
		if err != nil && !sawUsage {
			usage = estimateUsage(c, chunks)
		}
	}()
	for {
		ev, err := r.Next()
		if err == io.EOF {
			if !finished {
				return usage, ErrStreamCut
			}
			// Some compatible servers end without `[DONE]`; clients expect it.
			if !w.Committed() {
				providers.CopyResponseHeaders(w.Header(), resp.Header)
			}
			if err := llm.WriteDone(w); err != nil {
				return usage, err
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
		done := ev.HasData && llm.IsDone(ev.Data)
		if !done {
			data := ev.Data
			src := llm.BytesString(data)
			if bytes.Contains(data, errorKey) {
				if e := gjson.Get(src, "error"); e.Exists() && e.Type != gjson.Null {
					return usage, ParseStreamError(data)
				}
			}
			if bytes.Contains(data, usageKey) {
				if u := gjson.Get(src, "usage"); u.IsObject() {
					usage, sawUsage = UsageOf(u), true
					if !c.IncludeUsage && isEmptyArray(gjson.Get(src, "choices")) {
						finished = true
						continue // the usage chunk the router asked for itself
					}
				}
			}
			if !finished && hasFinishReason(data) {
				finished = true
			}
			chunks++
		}
		if !w.Committed() {
			providers.CopyResponseHeaders(w.Header(), resp.Header)
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
		if done {
			return usage, w.Flush()
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return usage, err
			}
		}
	}
}

func isEmptyArray(r gjson.Result) bool {
	if !r.Exists() || r.Type == gjson.Null {
		return true
	}
	if !r.IsArray() {
		return false
	}
	return strings.TrimSpace(r.Raw[1:len(r.Raw)-1]) == ""
}

// estimateUsage counts what a stream that failed or was cancelled delivered
// before it ended: one token per content chunk, and the prompt at about four
// bytes per token, since the upstream's own count never arrived.
func estimateUsage(c *llm.Call, chunks int64) llm.Usage {
	src := llm.BytesString(c.Body)
	prompt := gjson.Get(src, "messages")
	if !prompt.Exists() {
		prompt = gjson.Get(src, "prompt")
	}
	return llm.Usage{PromptTokens: int64(len(prompt.Raw)+3) / 4, CompletionTokens: chunks}
}
