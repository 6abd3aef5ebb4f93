package responses

import (
	"errors"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/openaiwire"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// The response cache's conversions (apis.Replayer) between a `response`
// object and its event stream.

var errNotResponse = errors.New("responses: the stored answer is not a response")

// AnswerToEvents renders a response object as its event stream, as the
// openai provider does for a server that ignored `stream`
// (openaiwire.ResponseEvents):
// response.created and .in_progress, each output item added, its content
// as one delta, done, and the terminal event of its status.
func (API) AnswerToEvents(_ *apis.Request, answer []byte) ([]byte, error) {
	// An event is one line: the response as compact JSON.
	doc := gjson.Get(llm.BytesString(answer), "@ugly")
	if !doc.Get("output").IsArray() {
		return nil, errNotResponse
	}
	return openaiwire.ResponseEvents([]byte(doc.Raw)), nil
}

// EventsToAnswer returns the response of the stream's terminal event
// (response.completed or response.incomplete), which holds the whole
// response, output and usage included.
func (API) EventsToAnswer(_ *apis.Request, events []byte, _ llm.Usage) ([]byte, error) {
	var out []byte
	err := apis.EachEvent(events, func(_, data []byte) bool {
		ev := gjson.ParseBytes(data)
		switch ev.Get("type").Str {
		case "response.completed", "response.incomplete":
			if r := ev.Get("response"); r.IsObject() {
				out = []byte(r.Raw)
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, errNotResponse
	}
	return out, nil
}

// ReplayEvents returns the stream as it was.
func (API) ReplayEvents(_ *apis.Request, events []byte, _ llm.Usage) []byte { return events }

// Interface guards
var _ apis.Replayer = API{}
