package gemini

import (
	"fmt"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// embeddingsToHub appends the OpenAI embeddings body for an embedContent
// request (`input` the content's text) or a batchEmbedContents request
// (`input` an array, one string per request); outputDimensionality →
// dimensions (the same for every request of a batch). A content's text
// parts are joined with a newline; taskType and title have no OpenAI
// equivalent and are dropped; other parts are refused.
func embeddingsToHub(b, body []byte, model string, op llm.Op) ([]byte, *llm.Error) {
	doc := gjson.Parse(llm.BytesString(body))
	if b == nil {
		b = make([]byte, 0, len(body)+64)
	}
	b = append(b, `{"model":`...)
	b = llm.AppendString(b, model)
	b = append(b, `,"input":`...)
	var dims gjson.Result
	var err *llm.Error
	if op == llm.OpEmbedContent {
		dims = field(doc, "outputDimensionality", "output_dimensionality")
		if b, err = appendEmbedText(b, doc.Get("content"), "content"); err != nil {
			return nil, err
		}
	} else {
		reqs := doc.Get("requests")
		if !reqs.IsArray() || len(reqs.Array()) == 0 {
			return nil, apis.Invalid("requests", "'requests' must be a non-empty array")
		}
		b = append(b, '[')
		i := 0
		reqs.ForEach(func(_, r gjson.Result) bool {
			if i > 0 {
				b = append(b, ',')
			}
			d := field(r, "outputDimensionality", "output_dimensionality")
			if i == 0 {
				dims = d
			} else if d.Raw != dims.Raw {
				err = unsupported(fmt.Sprintf("requests[%d].outputDimensionality", i), "a batch with different outputDimensionality values cannot be translated")
				return false
			}
			b, err = appendEmbedText(b, r.Get("content"), fmt.Sprintf("requests[%d].content", i))
			i++
			return err == nil
		})
		if err != nil {
			return nil, err
		}
		b = append(b, ']')
	}
	if dims.Type == gjson.Number {
		b = append(b, `,"dimensions":`...)
		b = append(b, dims.Raw...)
	}
	return append(b, '}'), nil
}

// appendEmbedText appends a Content's text parts as one JSON string.
func appendEmbedText(b []byte, content gjson.Result, param string) ([]byte, *llm.Error) {
	if !content.IsObject() {
		return nil, apis.Invalid(param, "'%s' must be an object", param)
	}
	b = append(b, '"')
	n := 0
	var err *llm.Error
	content.Get("parts").ForEach(func(_, p gjson.Result) bool {
		t := p.Get("text")
		if t.Type != gjson.String {
			err = unsupported(param+".parts", "only text is embedded by this target")
			return false
		}
		if n > 0 {
			b = append(b, `\n`...)
		}
		n++
		b = appendInner(b, t)
		return true
	})
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

// appendEmbeddings appends the Gemini answer for a hub embeddings list:
// `{"embedding":{"values":[…]}}` for embedContent, `{"embeddings":[…]}`
// for batchEmbedContents, in the order of the inputs.
func appendEmbeddings(b, hub []byte, op llm.Op) ([]byte, *llm.Error) {
	src := llm.BytesString(hub)
	if !gjson.Valid(src) {
		return nil, badAnswer("embeddings")
	}
	data := gjson.Get(src, "data")
	if !data.IsArray() {
		return nil, badAnswer("embeddings")
	}
	values := func(e gjson.Result) {
		b = append(b, `{"values":`...)
		if v := e.Get("embedding"); v.IsArray() {
			b = llm.AppendCompact(b, v.Raw)
		} else {
			b = append(b, "[]"...)
		}
		b = append(b, '}')
	}
	if op == llm.OpEmbedContent {
		b = append(b, `{"embedding":`...)
		values(data.Get("0"))
		return append(b, '}'), nil
	}
	b = append(b, `{"embeddings":[`...)
	i := 0
	data.ForEach(func(_, e gjson.Result) bool {
		if i > 0 {
			b = append(b, ',')
		}
		i++
		values(e)
		return true
	})
	return append(b, "]}"...), nil
}

// badAnswer is the failure for a hub answer the encoder cannot read: the
// attempt failed like a 502 and may be retried.
func badAnswer(what string) *llm.Error {
	return &llm.Error{
		Status: http.StatusBadGateway, Kind: llm.KindInvalid, Code: "upstream_error", Type: "upstream_error",
		Message: "the target's " + what + " answer could not be read",
	}
}
