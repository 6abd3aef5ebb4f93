package keys

import (
	"context"
	"time"
)

// Status is what a store knows of one key name now.
type Status struct {
	// Requests is the number of requests of the last 60 seconds.
	Requests int64 `json:"requests"`
	// Tokens is the number of tokens of the last 60 seconds, requests in
	// flight counted with their estimates.
	Tokens int64 `json:"tokens"`
	// Budgets has one entry per budget of the key's Limits, in order.
	Budgets []BudgetStatus `json:"budgets,omitempty"`
}

// BudgetStatus is the state of one budget in its current period.
type BudgetStatus struct {
	// Period is the budget's period.
	Period Period `json:"period"`
	// USD is the budget.
	USD float64 `json:"usd"`
	// Spend is what settled requests cost in the current period.
	Spend float64 `json:"spend"`
	// Reserved is the worst-case cost of the requests in flight.
	Reserved float64 `json:"reserved"`
	// Remaining is USD - Spend - Reserved; it may be negative when
	// requests without max_tokens cost more than was reserved.
	Remaining float64 `json:"remaining"`
	// Start is when the current period began (zero for total).
	Start time.Time `json:"period_start,omitzero"`
	// End is when it ends and the spend starts again from 0 (zero for
	// total).
	End time.Time `json:"period_end,omitzero"`
}

// StatusSource is the part of a store the admin API needs: the current
// state of a key name.
type StatusSource interface {
	Status(ctx context.Context, key Limits) (Status, error)
}
