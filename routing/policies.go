package routing

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(Weighted{})
	caddy.RegisterModule(Fallback{})
	caddy.RegisterModule(Latency{})
	caddy.RegisterModule(LeastBusy{})
	caddy.RegisterModule(Cost{})
	caddy.RegisterModule(Sticky{})
}

// Weighted picks at random in proportion to the members' weights; a member
// of weight 0 is used only as a fallback. It is the default.
type Weighted struct{}

// CaddyModule returns the Caddy module information.
func (Weighted) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.selection_policies.weighted",
		New: func() caddy.Module { return new(Weighted) },
	}
}

// Order implements Policy.
func (Weighted) Order(cands []Candidate, _ *Request, order []int) { weightedOrder(cands, order) }

// Fallback tries the members in the order written.
type Fallback struct{}

// CaddyModule returns the Caddy module information.
func (Fallback) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.selection_policies.fallback",
		New: func() caddy.Module { return new(Fallback) },
	}
}

// Order implements Policy.
func (Fallback) Order(cands []Candidate, _ *Request, order []int) {
	writtenOrder(order)
	positiveFirst(cands, order)
}

// Latency tries first the member with the lowest moving average of time to
// first byte; an unmeasured member counts as fastest, so it gets measured.
// One request in ten (ExplorePercent) goes first to another member, chosen
// at random, so the figures of slower members stay fresh.
type Latency struct {
	// ExplorePercent is the share of requests, in percent, sent first to a
	// member other than the fastest. Default: 10.
	ExplorePercent *float64 `json:"explore_percent,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Latency) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.selection_policies.latency",
		New: func() caddy.Module { return new(Latency) },
	}
}

// Order implements Policy.
func (l Latency) Order(cands []Candidate, req *Request, order []int) {
	weightedOrder(cands, order)
	n := positiveFirst(cands, order)
	slices.SortStableFunc(order[:n], func(a, b int) int {
		return cmp.Compare(cands[a].State.Latency(), cands[b].State.Latency())
	})
	explore := 10.0
	if l.ExplorePercent != nil {
		explore = *l.ExplorePercent
	}
	if n > 1 && rand.Float64()*100 < explore {
		j := 1 + rand.IntN(n-1)
		order[0], order[j] = order[j], order[0]
	}
}

// LeastBusy tries first the member with the fewest requests in flight;
// ties are broken at random by weight.
type LeastBusy struct{}

// CaddyModule returns the Caddy module information.
func (LeastBusy) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.selection_policies.least_busy",
		New: func() caddy.Module { return new(LeastBusy) },
	}
}

// Order implements Policy.
func (LeastBusy) Order(cands []Candidate, _ *Request, order []int) {
	weightedOrder(cands, order)
	n := positiveFirst(cands, order)
	slices.SortStableFunc(order[:n], func(a, b int) int {
		return cmp.Compare(cands[a].State.InFlight(), cands[b].State.InFlight())
	})
}

// Cost tries the cheapest member first, by the sum of the input and output
// `price` of its upstream model; members without a matching price come
// last, in written order.
type Cost struct{}

// CaddyModule returns the Caddy module information.
func (Cost) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.selection_policies.cost",
		New: func() caddy.Module { return new(Cost) },
	}
}

// Order implements Policy.
func (Cost) Order(cands []Candidate, _ *Request, order []int) {
	writtenOrder(order)
	n := positiveFirst(cands, order)
	slices.SortStableFunc(order[:n], func(a, b int) int {
		pa, pb := cands[a].Price, cands[b].Price
		switch {
		case pa < 0 && pb < 0:
			return 0
		case pa < 0:
			return 1
		case pb < 0:
			return -1
		}
		return cmp.Compare(pa, pb)
	})
}

// Sticky is weighted, but the same user always lands on the same member
// while that member is healthy (key: the body's `user`, else the client key,
// else the client IP). It uses weighted rendezvous hashing: when a member
// leaves or goes into cooldown, only the users it had move.
type Sticky struct{}

// CaddyModule returns the Caddy module information.
func (Sticky) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.selection_policies.sticky",
		New: func() caddy.Module { return new(Sticky) },
	}
}

// Order implements Policy.
func (Sticky) Order(cands []Candidate, req *Request, order []int) {
	writtenOrder(order)
	n := positiveFirst(cands, order)
	key := req.StickyKey()
	var buf [16]float64
	scores := buf[:0]
	if len(cands) > len(buf) {
		scores = make([]float64, 0, len(cands))
	}
	for _, c := range cands {
		scores = append(scores, rendezvousScore(key, c.ID, c.Weight))
	}
	slices.SortStableFunc(order[:n], func(a, b int) int {
		return cmp.Compare(scores[b], scores[a])
	})
}

// rendezvousScore is the weighted highest-random-weight score of member id
// for key: w / -ln(u), u uniform in (0,1) from a hash of both.
func rendezvousScore(key, id string, weight int) float64 {
	x := fnv64a(fnv64a(fnv64a(fnvOffset, key), "\x00"), id)
	// Finalize (splitmix64) so similar ids spread evenly.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	u := (float64(x>>11) + 0.5) / (1 << 53)
	return float64(weight) / -math.Log(u)
}

// Interface guards
var (
	_ Policy = (*Weighted)(nil)
	_ Policy = (*Fallback)(nil)
	_ Policy = (*Latency)(nil)
	_ Policy = (*LeastBusy)(nil)
	_ Policy = (*Cost)(nil)
	_ Policy = (*Sticky)(nil)
)

const fnvOffset, fnvPrime = 14695981039346656037, 1099511628211

// fnv64a continues an FNV-1a hash over s without allocating.
func fnv64a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}
