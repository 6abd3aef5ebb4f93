package keys

import (
	"errors"
	"fmt"
	"math"
)

// MaxBudgetUSD is the largest budget a key may have. Stores count money in
// nano-dollars (1e-9 USD) as integers that stay exact up to 2^53.
const MaxBudgetUSD = 9_000_000

// KeyConfig is one router key: the secret a client presents, the name it
// is known by, what it may use and what it may spend.
type KeyConfig struct {
	// Secret is the key itself, a placeholder such as `{env.ALICE_KEY}`
	// (expanded at provision, so the JSON config keeps the placeholder),
	// or `sha256:<64 hex digits>`, the SHA-256 of the key, so the config
	// need not hold the key in clear. Required.
	Secret string `json:"secret,omitempty"`

	// Name is what logs, metrics and the admin API show; never the
	// secret. Required, unique among the keys of one llm_router. Spend and
	// limits are kept per name, process-wide (store-wide with a shared
	// store): every llm_router that defines the same name shares them.
	Name string `json:"name,omitempty"`

	// Models are the models and aliases the key may ask for, as the client
	// writes them; `*` matches any run of characters. Default: all.
	Models []string `json:"models,omitempty"`

	// Targets are the targets the key may reach. Default: all.
	Targets []string `json:"targets,omitempty"`

	// RPM is the most requests in any 60-second sliding window. Default 0:
	// no limit.
	RPM int64 `json:"rpm,omitempty"`

	// TPM is the most tokens (prompt + completion) of the requests of any
	// 60-second sliding window; a request in flight counts with its
	// estimated prompt tokens until its usage is known. Default 0: no
	// limit.
	TPM int64 `json:"tpm,omitempty"`

	// Budgets cap the spend in USD per period, one per period at most.
	// Default: none.
	Budgets []BudgetConfig `json:"budgets,omitempty"`
}

// BudgetConfig caps the spend of a key in one period.
type BudgetConfig struct {
	// USD is the most the key may spend in the period, above 0 and at
	// most 9,000,000.
	USD float64 `json:"usd,omitempty"`

	// Period is `daily`, `weekly` (ISO weeks, from Monday), `monthly`
	// (calendar months) or `total` (forever); all in UTC. Required.
	Period Period `json:"period,omitempty"`
}

// Validate checks one key's settings. Its errors name the key by its name
// (or its position when it has none), never by its secret.
func (c *KeyConfig) Validate() error {
	if c.Name == "" {
		return errors.New("name is required")
	}
	if c.Secret == "" {
		return fmt.Errorf("key %q: secret is required", c.Name)
	}
	if c.RPM < 0 {
		return fmt.Errorf("key %q: rpm must not be negative", c.Name)
	}
	if c.TPM < 0 {
		return fmt.Errorf("key %q: tpm must not be negative", c.Name)
	}
	seen := make(map[Period]bool, len(c.Budgets))
	for _, b := range c.Budgets {
		if !b.Period.Valid() {
			return fmt.Errorf("key %q: budget period %q is not daily, weekly, monthly or total", c.Name, b.Period)
		}
		if seen[b.Period] {
			return fmt.Errorf("key %q: two %s budgets", c.Name, b.Period)
		}
		seen[b.Period] = true
		if !(b.USD > 0) || b.USD > MaxBudgetUSD || math.IsInf(b.USD, 0) {
			return fmt.Errorf("key %q: %s budget must be above 0 and at most %d USD", c.Name, b.Period, MaxBudgetUSD)
		}
	}
	for _, m := range c.Models {
		if m == "" {
			return fmt.Errorf("key %q: empty model pattern", c.Name)
		}
	}
	for _, t := range c.Targets {
		if t == "" {
			return fmt.Errorf("key %q: empty target name", c.Name)
		}
	}
	return nil
}

// Validate checks every key and that their names are unique.
func Validate(cfgs []KeyConfig) error {
	names := make(map[string]bool, len(cfgs))
	for i := range cfgs {
		c := &cfgs[i]
		if err := c.Validate(); err != nil {
			if c.Name == "" {
				return fmt.Errorf("key #%d: %w", i+1, err)
			}
			return err
		}
		if names[c.Name] {
			return fmt.Errorf("key %q: name used twice", c.Name)
		}
		names[c.Name] = true
	}
	return nil
}
