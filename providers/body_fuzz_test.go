package providers

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzPassthroughBody: for any JSON object, the spliced body is valid JSON
// whose `model` is the new one and, when asked, whose
// `stream_options.include_usage` is true; nothing else changes.
func FuzzPassthroughBody(f *testing.F) {
	for _, seed := range []string{
		`{"model":"a"}`, `{"model":"a","stream_options":null}`, `{"stream_options":{},"model":1}`,
		`{"model":"a","stream_options":{"include_usage":false,"x":[1,{"y":"}"}]}}`, " {\n\"model\" : \"\\u0061\" } \n",
		`{"stream_options":"x","model":"a"}`, `{"model":"a","model":"b"}`, `{}`,
	} {
		f.Add([]byte(seed), "m-1", true)
		f.Add([]byte(seed), "", false)
	}
	f.Fuzz(func(t *testing.T, body []byte, model string, inject bool) {
		var before map[string]any
		if json.Unmarshal(body, &before) != nil || bytes.Count(body, []byte(`"model"`)) != 1 {
			return // the router only splices objects with one model key
		}
		if _, ok := before["model"]; !ok {
			return
		}
		out := NewPassthroughBody(body, model, inject).AppendTo(nil)
		var after map[string]any
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("invalid JSON %q from %q: %v", out, body, err)
		}
		// encoding/json's reading of the model (invalid UTF-8 becomes U+FFFD).
		quoted, _ := json.Marshal(model)
		var want string
		_ = json.Unmarshal(quoted, &want)
		if after["model"] != want {
			t.Fatalf("model %q, want %q", after["model"], want)
		}
		if inject {
			if so, ok := before["stream_options"]; !ok || so == nil || isObject(so) {
				opts, _ := after["stream_options"].(map[string]any)
				if opts["include_usage"] != true {
					t.Fatalf("include_usage not set: %s", out)
				}
			}
		}
		for k, v := range before {
			if k == "model" || k == "stream_options" {
				continue
			}
			a, _ := json.Marshal(after[k])
			b, _ := json.Marshal(v)
			if !bytes.Equal(a, b) {
				t.Fatalf("field %q changed: %s → %s", k, b, a)
			}
		}
	})
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }
