package gemini

import (
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
)

func TestGeminiChunksToAnswer(t *testing.T) {
	stream := "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Thinking\",\"thought\":true}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"gemini-x\",\"responseId\":\"r1\"}\r\n\r\n" +
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" more\",\"thought\":true},{\"text\": \"Hel\"}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"gemini-x\",\"responseId\":\"r1\"}\r\n\r\n" +
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"lo\",\"thoughtSignature\":\"sig\"},{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 3,\"candidatesTokenCount\": 4,\"totalTokenCount\": 7},\"modelVersion\": \"gemini-x\",\"responseId\":\"r1\"}\r\n\r\n"
	got, err := API{}.EventsToAnswer(&apis.Request{Op: llm.OpGenerateContent}, []byte(stream), llm.Usage{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"candidates":[{"content":{"parts":[{"text":"Thinking more","thought":true},{"text":"Hello","thoughtSignature":"sig"},{"functionCall":{"name":"f","args":{"a":1}}}],"role":"model"},"index":0,"finishReason":"STOP"}],
"modelVersion":"gemini-x","responseId":"r1","usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4,"totalTokenCount":7}}`
	if !goldenfile.SameJSON(t, got, []byte(want)) {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestGeminiAnswerToEventsAndBack(t *testing.T) {
	// As Gemini sends it: indented over several lines.
	answer := "{\n  \"candidates\": [\n    {\n      \"content\": {\n        \"parts\": [\n          {\n            \"text\": \"Hi\\nthere\"\n          }\n        ],\n        \"role\": \"model\"\n      },\n      \"finishReason\": \"STOP\",\n      \"index\": 0\n    }\n  ],\n  \"usageMetadata\": {\n    \"promptTokenCount\": 2,\n    \"candidatesTokenCount\": 2,\n    \"totalTokenCount\": 4\n  },\n  \"modelVersion\": \"gemini-x\"\n}\n"
	events, err := API{}.AnswerToEvents(&apis.Request{Op: llm.OpGenerateContent, Stream: true}, []byte(answer))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(events), "data: {\"candidates\":[") || strings.Count(string(events), "\n") != 2 {
		t.Errorf("not one compact event: %q", events)
	}
	back, err := API{}.EventsToAnswer(&apis.Request{Op: llm.OpGenerateContent}, events, llm.Usage{})
	if err != nil {
		t.Fatal(err)
	}
	if !goldenfile.SameJSON(t, back, []byte(answer)) {
		t.Errorf("round trip:\n got %s\nwant %s", back, answer)
	}
}
