package azure

import (
	"io"
	"net/http"
	"testing"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Responses requests go to the v1 path, without api-version, the
// deployment in the body's model and the key in api-key.
func TestNewNativeRequest(t *testing.T) {
	c := &llm.Call{
		Op: llm.OpResponses, Model: "my-deployment",
		Body:     []byte(`{"model":"gpt-5","input":"hi","store":true}`),
		Upstream: &llm.Upstream{Name: "az", BaseURL: "https://r.openai.azure.com", APIKey: "az-key", APIVersion: "2024-10-21"},
	}
	req, err := Provider{}.NewNativeRequest(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if req.URL.String() != "https://r.openai.azure.com/openai/v1/responses" || string(body) != `{"model":"my-deployment","input":"hi","store":true}` ||
		req.Header.Get("Api-Key") != "az-key" || req.Header.Get("Authorization") != "" || req.Method != http.MethodPost {
		t.Fatalf("%s %s %s %v", req.Method, req.URL, body, req.Header)
	}
	if !(Provider{}).Speaks(llm.OpResponses) || (Provider{}).Speaks(llm.OpGenerateContent) {
		t.Fatal("Speaks")
	}
}
