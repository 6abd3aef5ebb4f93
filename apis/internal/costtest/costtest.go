// Package costtest holds what the tests of the inbound APIs' usage_cost
// filters share: a price, a budget, a filter runner and the property
// checks their fuzz targets make.
package costtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// Price is the tests' price: cache reads and writes at their own rates.
var Price = llm.Price{Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75}

// Budget is what the tests' key has left before the request.
const Budget = 10.0

// Pricer prices usage at Price and records what it priced.
type Pricer struct {
	// Budget adds budget_remaining (Budget minus the cost).
	Budget bool
	// Unpriced leaves the cost out, as for a target without a price.
	Unpriced bool
	// Seen is every usage priced, in order.
	Seen []llm.Usage
}

// Func returns the CostFunc.
func (p *Pricer) Func() apis.CostFunc {
	return func(u llm.Usage) apis.Cost {
		p.Seen = append(p.Seen, u)
		c := apis.Cost{USD: Price.Cost(u), Priced: !p.Unpriced}
		if !c.Priced {
			c.USD = 0
		}
		if p.Budget {
			c.Remaining, c.HasBudget = Budget-c.USD, true
		}
		return c
	}
}

// Run passes writes through f as a stream.Writer would, then releases what
// f holds, and returns what the client would receive.
func Run(f *apis.CostFilter, writes ...[]byte) []byte {
	var out []byte
	for _, w := range writes {
		out = append(out, f.Filter(w)...)
	}
	return append(out, f.Filter(nil)...)
}

// Split cuts b at the given offsets (taken modulo len(b)+1, sorted out of
// order ones ignored).
func Split(b []byte, cuts ...int) [][]byte {
	var parts [][]byte
	last := 0
	for _, c := range cuts {
		if len(b) == 0 {
			break
		}
		c %= len(b) + 1
		if c < 0 {
			c = -c
		}
		if c <= last {
			continue
		}
		parts = append(parts, b[last:c])
		last = c
	}
	return append(parts, b[last:])
}

// USD formats an amount as the filters write it.
func USD(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// CheckObject checks that out is in with the usage object at path
// (gjson) edited, and nothing else: the bytes before and after it are
// in's, out is valid JSON, and the object keeps every member of in's but
// `cost` and `budget_remaining`, which hold want (nil: absent, as in in).
// An in without an object at path must come out unchanged.
func CheckObject(in, out []byte, path string, cost, remaining *float64) error {
	if !json.Valid(in) {
		return fmt.Errorf("test input is not JSON: %s", in)
	}
	obj := gjson.GetBytes(in, path)
	if !obj.IsObject() || cost == nil && remaining == nil {
		if !bytes.Equal(in, out) {
			return fmt.Errorf("changed without a usage object at %s:\n in: %s\nout: %s", path, in, out)
		}
		return nil
	}
	if !json.Valid(out) {
		return fmt.Errorf("invalid JSON out:\n in: %s\nout: %s", in, out)
	}
	start, end := obj.Index, obj.Index+len(obj.Raw)
	tail := len(in) - end
	if len(out) < start+tail || !bytes.Equal(out[:start], in[:start]) || !bytes.Equal(out[len(out)-tail:], in[end:]) {
		return fmt.Errorf("bytes outside %s changed:\n in: %s\nout: %s", path, in, out)
	}
	var was, now map[string]json.RawMessage
	if err := json.Unmarshal([]byte(obj.Raw), &was); err != nil {
		return err
	}
	if err := json.Unmarshal(out[start:len(out)-tail], &now); err != nil {
		return fmt.Errorf("%s is no longer an object: %v\nout: %s", path, err, out)
	}
	for k, v := range was {
		if k == "cost" && cost != nil || k == "budget_remaining" && remaining != nil {
			continue
		}
		if !jsonEqual(now[k], v) {
			return fmt.Errorf("member %q changed: %s → %s", k, v, now[k])
		}
	}
	for _, m := range []struct {
		key  string
		want *float64
	}{{"cost", cost}, {"budget_remaining", remaining}} {
		got, ok := now[m.key]
		switch {
		case m.want == nil:
			if !jsonEqual(got, was[m.key]) {
				return fmt.Errorf("%s added or changed: %s", m.key, got)
			}
		case !ok:
			return fmt.Errorf("no %s in %s", m.key, out[start:len(out)-tail])
		case bytes.ContainsAny(got, "eE"):
			return fmt.Errorf("%s %s has an exponent", m.key, got)
		default:
			v, err := strconv.ParseFloat(string(got), 64)
			if err != nil || math.Abs(v-*m.want) > 1e-12 {
				return fmt.Errorf("%s %s, want %v", m.key, got, *m.want)
			}
		}
	}
	return nil
}

func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// Events splits an event stream into its events, each with its blank
// line, as the filters see them.
func Events(b []byte) [][]byte {
	var evs [][]byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\n\n"))
		j := bytes.Index(b, []byte("\n\r\n"))
		end := len(b)
		switch {
		case i >= 0 && (j < 0 || i < j):
			end = i + 2
		case j >= 0:
			end = j + 3
		}
		evs = append(evs, b[:end])
		b = b[end:]
	}
	return evs
}

// Data returns the joined data of an event, and whether it has any.
func Data(ev []byte) ([]byte, bool) {
	var data []byte
	has := false
	for _, line := range bytes.Split(ev, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		v, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		v = bytes.TrimPrefix(v, []byte(" "))
		if has {
			data = append(data, '\n')
		}
		data = append(data, v...)
		has = true
	}
	return data, has
}
