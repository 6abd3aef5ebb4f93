package llmrouter

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// maxModelLabels bounds the distinct `model` label values: with a target
// that serves any model, clients choose the name, and each new name would
// otherwise be a new time series.
const maxModelLabels = 500

var modelLabels struct {
	sync.Mutex
	seen map[string]struct{}
}

// boundedModel returns model as a metric label, or "other" once
// maxModelLabels distinct names were seen. Invalid UTF-8 (which the
// request check refuses, but an upstream may answer with) is replaced.
func boundedModel(model string) string {
	if !utf8.ValidString(model) {
		model = strings.ToValidUTF8(model, "\uFFFD")
	}
	modelLabels.Lock()
	defer modelLabels.Unlock()
	if _, ok := modelLabels.seen[model]; ok {
		return model
	}
	if modelLabels.seen == nil {
		modelLabels.seen = make(map[string]struct{})
	}
	if len(modelLabels.seen) >= maxModelLabels {
		return "other"
	}
	modelLabels.seen[model] = struct{}{}
	return model
}
