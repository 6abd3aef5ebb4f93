package routing

import (
	"math/rand/v2"
	"time"
)

// Candidate is one member of a request's candidate list, as a selection
// policy sees it.
type Candidate struct {
	// ID identifies the member stably across requests and reloads (target
	// name and upstream model); sticky hashing uses it.
	ID string
	// Weight is the member's weight; 0 means it is tried only after every
	// member with a positive weight.
	Weight int
	// Price is the sum of the input and output USD per 1M tokens of the
	// member's upstream model; negative when no `price` matches.
	Price float64
	// State is the target's shared state.
	State *State
}

// Request is what a policy may know of the client request.
type Request struct {
	// User is the body's `user` field.
	User string
	// ClientKey is the client's key (bearer token), if any.
	ClientKey string
	// ClientIP is the client's address as Caddy determined it.
	ClientIP string
	// Now is the time the request is routed.
	Now time.Time
}

// StickyKey is the identity a sticky policy keeps together: the body's
// `user`, else the client key, else the client IP.
func (r *Request) StickyKey() string {
	switch {
	case r.User != "":
		return r.User
	case r.ClientKey != "":
		return r.ClientKey
	}
	return r.ClientIP
}

// Policy orders a request's candidates. Order fills order (len(order) ==
// len(cands)) with a permutation of the candidates' indexes, best first; the
// router tries them in that order, skipping members in cooldown until
// nothing else is left.
//
// Policies are Caddy modules in the `http.llm_router.selection_policies`
// namespace, so a third party can add one.
type Policy interface {
	Order(cands []Candidate, req *Request, order []int)
}

// weightedOrder fills order by weighted random sampling without replacement
// among positive weights, then the zero-weight members in written order.
func weightedOrder(cands []Candidate, order []int) {
	n := 0
	total := 0
	for i, c := range cands {
		if c.Weight > 0 {
			order[n] = i
			n++
			total += c.Weight
		}
	}
	zero := n
	for i, c := range cands {
		if c.Weight <= 0 {
			order[zero] = i
			zero++
		}
	}
	// Roulette-wheel draws over the positive prefix; candidate lists are
	// short, so O(n²) beats sorting random keys.
	for k := 0; k < n-1; k++ {
		pick := rand.IntN(total)
		j := k
		for ; j < n-1; j++ {
			pick -= cands[order[j]].Weight
			if pick < 0 {
				break
			}
		}
		total -= cands[order[j]].Weight
		order[k], order[j] = order[j], order[k]
	}
}

// writtenOrder fills order with 0..n-1.
func writtenOrder(order []int) {
	for i := range order {
		order[i] = i
	}
}

// positiveFirst moves zero-weight members behind the others, keeping the
// relative order of both groups; it returns how many have a positive weight.
func positiveFirst(cands []Candidate, order []int) int {
	var zero [16]int
	z := zero[:0]
	n := 0
	for _, i := range order {
		if cands[i].Weight > 0 {
			order[n] = i
			n++
		} else {
			z = append(z, i)
		}
	}
	copy(order[n:], z)
	return n
}
