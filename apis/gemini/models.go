package gemini

import (
	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// supportedMethods is what every listed model offers through the router:
// the methods it routes, whichever target ends up serving them.
const supportedMethods = `["generateContent","countTokens","embedContent","batchEmbedContents"]`

// AppendModels renders the list as Gemini's ListModelsResponse,
// `{"models":[…]}`; the router lists everything at once, so there is no
// nextPageToken.
func (API) AppendModels(b []byte, models []apis.Model) []byte {
	b = append(b, `{"models":[`...)
	for i, m := range models {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendModel(b, m)
	}
	return append(b, "]}"...)
}

// AppendModel renders one Model resource: `name` is `models/<id>`,
// baseModelId and displayName the id, the description names who serves it.
func (API) AppendModel(b []byte, m apis.Model) []byte {
	return appendModel(b, m)
}

func appendModel(b []byte, m apis.Model) []byte {
	b = append(b, `{"name":`...)
	b = llm.AppendString(b, "models/"+m.ID)
	b = append(b, `,"baseModelId":`...)
	b = llm.AppendString(b, m.ID)
	b = append(b, `,"displayName":`...)
	b = llm.AppendString(b, m.ID)
	b = append(b, `,"description":`...)
	b = llm.AppendString(b, "served by llm_router ("+m.OwnedBy+")")
	b = append(b, `,"supportedGenerationMethods":`...)
	b = append(b, supportedMethods...)
	return append(b, '}')
}
