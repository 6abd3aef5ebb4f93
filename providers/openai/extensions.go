package openai

import (
	"bytes"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// hubOnly are the top-level fields of the hub format that OpenAI's API does
// not have (it refuses unknown arguments).
var hubOnly = []string{"thinking", "top_k"}

// messageOnly are the hub's fields on messages (and cache_control also on
// content parts and tools).
var messageOnly = []string{"thinking_blocks", "reasoning_content", "cache_control"}

var extensionMarkers = [][]byte{[]byte(`"thinking"`), []byte(`"top_k"`), []byte(`"thinking_blocks"`), []byte(`"reasoning_content"`), []byte(`"cache_control"`)}

// WithoutHubExtensions returns a translated hub body without the hub's
// extensions (see llm.Call.Translated), or body itself when it has none.
// This runs on translated requests only: an OpenAI client's own body passes
// through byte for byte.
func WithoutHubExtensions(body []byte) []byte {
	found := false
	for _, m := range extensionMarkers {
		if bytes.Contains(body, m) {
			found = true
			break
		}
	}
	if !found {
		return body
	}
	out := body
	del := func(path string) {
		if b, err := sjson.DeleteBytes(out, path); err == nil {
			out = b
		}
	}
	src := llm.BytesString(body)
	for _, f := range hubOnly {
		if gjson.Get(src, f).Exists() {
			del(f)
		}
	}
	msgs := gjson.Get(src, "messages").Array()
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		prefix := "messages." + itoa(i)
		for _, f := range messageOnly {
			if m.Get(f).Exists() {
				del(prefix + "." + f)
			}
		}
		parts := m.Get("content").Array()
		for j := len(parts) - 1; j >= 0; j-- {
			if parts[j].Get("cache_control").Exists() {
				del(prefix + ".content." + itoa(j) + ".cache_control")
			}
		}
	}
	tools := gjson.Get(src, "tools").Array()
	for i := len(tools) - 1; i >= 0; i-- {
		if tools[i].Get("cache_control").Exists() {
			del("tools." + itoa(i) + ".cache_control")
		}
	}
	return out
}

func itoa(i int) string { return string(llm.AppendInt(nil, int64(i))) }
