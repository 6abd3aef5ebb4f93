package llmrouter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/discovery"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/stats"
)

func init() {
	// The dashboard's discovery section: every target with `discover` of
	// every loaded config, once per upstream identity.
	stats.SetDiscoveryReporter(func() []stats.DiscoveryStatus {
		reports := discovery.Report()
		out := make([]stats.DiscoveryStatus, len(reports))
		for i, r := range reports {
			out[i] = stats.DiscoveryStatus{Target: r.Target, Models: r.Models, LastFetch: r.LastFetch, LastError: r.LastError}
		}
		return out
	})
}

// provisionDiscovery attaches every target with `discover` to its shared
// discovery source, whose refresher fetches in the background: provision
// never waits on the network. It runs last in Provision, so that a config
// that fails earlier starts no fetch.
func (h *Handler) provisionDiscovery() error {
	for _, t := range h.Targets {
		if t.Discover == nil {
			continue
		}
		if t.Discover.Interval < 0 {
			return fmt.Errorf("target %q: discover: the interval must not be negative", t.Name)
		}
		lister, ok := t.provider.(providers.ModelLister)
		if !ok {
			return fmt.Errorf("target %q: discover: provider %s cannot list its models", t.Name, t.providerName)
		}
		interval := time.Duration(t.Discover.Interval)
		if interval == 0 {
			interval = discovery.DefaultInterval
		}
		up := t.upstream // a copy the refresher may keep after this config is gone
		key := discovery.Key(t.Name, up.BaseURL, t.discoveryIdentity(interval))
		t.source = discovery.Acquire(key, discovery.Config{
			Target:   t.Name,
			Interval: interval,
			List: func(ctx context.Context, c *http.Client) ([]string, error) {
				return lister.ListModels(ctx, &up, c)
			},
			Valid:  func(name string) bool { return apis.CheckModel(name) == nil },
			Redact: h.scrubber.ScrubString,
		}, h.logger)
		t.discoveryKey = key
		h.discovering = true
	}
	return nil
}

// cleanupDiscovery releases this config's references to its sources, once
// per Acquire; the last reference stops a source's refresher.
func (h *Handler) cleanupDiscovery() {
	for _, t := range h.Targets {
		if t != nil && t.discoveryKey != "" {
			discovery.Release(t.discoveryKey)
			t.discoveryKey = ""
		}
	}
}

// discoveryIdentity is a digest of what, besides the name and base_url,
// decides what a fetch returns: the provider and its options, the key,
// the version, the extra headers and the interval. Two targets that agree
// on all of it share one source; the key itself is never part of a pool
// key, only this digest.
func (t *Target) discoveryIdentity(interval time.Duration) string {
	d := sha256.New()
	write := func(s string) {
		d.Write([]byte(strconv.Itoa(len(s))))
		d.Write([]byte{':'})
		d.Write([]byte(s))
	}
	write(string(t.ProviderRaw))
	write(t.upstream.APIKey)
	write(t.upstream.APIVersion)
	names := make([]string, 0, len(t.upstream.Header))
	for k := range t.upstream.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		write(k)
		for _, v := range t.upstream.Header[k] {
			write(v)
		}
	}
	write(interval.String())
	return hex.EncodeToString(d.Sum(nil)[:16])
}

// discovered is the target's current discovered list: nil without
// `discover` or before its first successful fetch. It reads one atomic
// pointer to an immutable list.
func (t *Target) discovered() *discovery.List {
	if t.source == nil {
		return nil
	}
	return t.source.List()
}

// keepsDiscovered reports whether the target's `models` patterns keep a
// discovered model (all are kept without patterns).
func (t *Target) keepsDiscovered(model string) bool {
	if len(t.patterns) == 0 {
		return true
	}
	for _, p := range t.patterns {
		if p.Match(model) {
			return true
		}
	}
	return false
}

// listVersion is the version of what the handler derives from discovered
// lists (the implicit groups, the models list): constant without
// discovery, else the generation of every discovered list.
func (h *Handler) listVersion() uint64 {
	if !h.discovering {
		return 0
	}
	return discovery.Generation()
}
