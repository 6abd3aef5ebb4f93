package azure

import (
	"io"
	"net/http"
	"testing"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Media requests go to the deployment's path with the api-version and the
// api-key; an upload goes unchanged (its model field too: the path names
// the deployment), a JSON body with the deployment as its model.
func TestNewMediaRequest(t *testing.T) {
	upload := "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF\r\n--b--\r\n"
	tests := []struct {
		op         llm.Op
		ct, body   string
		path, want string
	}{
		{llm.OpTranscription, "multipart/form-data; boundary=b", upload, "/openai/deployments/my%20whisper/audio/transcriptions", upload},
		{llm.OpTranslation, "multipart/form-data; boundary=b", upload, "/openai/deployments/my%20whisper/audio/translations", upload},
		{llm.OpImageEdit, "multipart/form-data; boundary=b", upload, "/openai/deployments/my%20whisper/images/edits", upload},
		{llm.OpSpeech, "application/json", `{"model":"whisper","input":"x"}`, "/openai/deployments/my%20whisper/audio/speech", `{"model":"my whisper","input":"x"}`},
		{llm.OpImageGeneration, "application/json", `{"model":"whisper","prompt":"x"}`, "/openai/deployments/my%20whisper/images/generations", `{"model":"my whisper","prompt":"x"}`},
	}
	for _, tt := range tests {
		c := &llm.Call{
			Op: tt.op, Body: []byte(tt.body), ClientModel: "whisper", Model: "my whisper",
			ClientHeader: http.Header{"Content-Type": {tt.ct}},
			Upstream:     &llm.Upstream{Name: "az", BaseURL: "https://r.openai.azure.com", APIKey: "az-key", APIVersion: "2025-04-01-preview"},
		}
		req, err := Provider{}.NewNativeRequest(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(req.Body)
		if req.URL.EscapedPath() != tt.path || req.URL.RawQuery != "api-version=2025-04-01-preview" || string(body) != tt.want ||
			req.Header.Get("Content-Type") != tt.ct || req.Header.Get("Api-Key") != "az-key" || req.Header.Get("Authorization") != "" {
			t.Errorf("%v: %s %s %v", tt.op, req.URL, body, req.Header)
		}
	}
	if (Provider{}).Speaks(llm.OpModeration) || !(Provider{}).Speaks(llm.OpSpeech) {
		t.Fatal("Speaks: Azure OpenAI has no moderations endpoint, and serves speech")
	}
}
