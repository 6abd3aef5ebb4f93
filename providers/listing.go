package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Bounds of a models listing (see ModelLister): a page larger than
// MaxListPage bytes, or a listing longer than MaxListPages pages, fails.
const (
	MaxListPage  = 16 << 20
	MaxListPages = 100
)

// ListError is a models list request that the upstream refused. It names
// the path and the status only: an upstream's error message may quote the
// credentials it was sent.
type ListError struct {
	// Path is the list endpoint's path, without host or query.
	Path string
	// Status is the upstream's HTTP status.
	Status int
}

func (e *ListError) Error() string {
	if text := http.StatusText(e.Status); text != "" {
		return fmt.Sprintf("GET %s: %d %s", e.Path, e.Status, text)
	}
	return fmt.Sprintf("GET %s: %d", e.Path, e.Status)
}

// GetList sends one GET of a models list page to rawURL with header and
// returns the body of a 2xx answer; any other answer is a *ListError. A
// transport failure is described without the URL's query.
func GetList(ctx context.Context, client *http.Client, rawURL string, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	path := req.URL.Path
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header["Accept"] = jsonAccept
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &ListError{Path: path, Status: resp.StatusCode}
	}
	// The buffer is not given back to the pool: the caller keeps the body.
	buf, err := llm.ReadAll(resp.Body, resp.ContentLength, MaxListPage)
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the list: %w", path, err)
	}
	return buf.Bytes(), nil
}

var jsonAccept = []string{"application/json"}

// Interface guards
var _ error = (*ListError)(nil)
