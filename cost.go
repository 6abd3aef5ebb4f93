package llmrouter

import (
	"math"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// startCost installs the `usage_cost` filter of the attempt on m, when the
// API has one for the request: the usage objects of the answer get the
// cost at m's target and upstream model (what the router logs and settles
// for the attempt) and, for a key with a budget, what the budget keeps
// once the request settles. It returns the filter, nil when none.
func (x *exchange) startCost(m member) *apis.CostFilter {
	cs, ok := x.api.(apis.CostSplicer)
	if !ok {
		return nil
	}
	t, model := m.target, m.model
	f := cs.CostFilter(x.req.Request, x.native(m), func(u llm.Usage) apis.Cost {
		var c apis.Cost
		c.USD, c.Priced = t.cost(model, u)
		if x.ticket != nil && x.decision.HasBudget {
			// x.spent: what earlier committed attempts cost (none, as
			// only one attempt can commit), as settle counts it. Rounded
			// to the nano-dollars stores count in.
			r := x.ticket.RemainingAfter(x.decision, x.spent+c.USD)
			c.Remaining, c.HasBudget = math.Round(r*1e9)/1e9, true
		}
		return c
	})
	if f == nil {
		return nil
	}
	x.w.Filter = f.Func()
	return f
}

// endCost ends the attempt's filter: what it still holds (an event the
// attempt left incomplete) reaches the client unedited, and the failure
// answers written after a failed attempt pass unfiltered.
func (x *exchange) endCost(f *apis.CostFilter) {
	if f.Pending() && x.w.Committed() {
		_, _ = x.w.Write(nil) // an empty write releases what f holds
	}
	x.w.Filter = nil
	f.Release()
}
