// Package costtest holds what the tests of the inbound APIs' usage_cost
// filters share: a price, a budget, a filter runner and the property
// checks their fuzz targets make.
package costtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	openaiprovider "github.com/llmrouter/caddy-llm-router/providers/openai"
	"github.com/llmrouter/caddy-llm-router/stream"
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

// Split cuts b at the given offsets, taken modulo len(b)+1; an offset not
// after the previous cut is ignored.
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

// frame is an event without the values of its data lines.
func frame(ev []byte) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(ev, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("data:")) {
			line = []byte("data:")
		}
		out = append(out, line...)
	}
	return out
}

func eventName(ev []byte) string {
	for _, line := range bytes.Split(ev, []byte("\n")) {
		if v, ok := bytes.CutPrefix(bytes.TrimSuffix(line, []byte("\r")), []byte("event:")); ok {
			return string(bytes.TrimPrefix(v, []byte(" ")))
		}
	}
	return ""
}

// Relay runs a provider's relay of an upstream answer (status 200, the
// given Content-Type and body) to a client writer with f as its filter
// (none when nil), and returns what the client received and the usage the
// relay counted — what the router logs.
func Relay(relay func(llm.ResponseWriter, *http.Response, *llm.Call) (llm.Usage, error), c *llm.Call, contentType, body string, f *apis.CostFilter) ([]byte, llm.Usage, error) {
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	if f != nil {
		w.Filter = f.Filter
	}
	resp := &http.Response{
		StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {contentType}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: -1,
	}
	u, err := relay(w, resp, c)
	if f != nil && f.Pending() {
		_, _ = w.Write(nil)
	}
	return rec.Body.Bytes(), u, err
}

// Encode writes a hub answer (Content-Type ct) in pieces of n bytes (0: at
// once) to api's encoder for req on a client writer with f as its filter
// (none when nil), finishes it, and returns what the client received.
func Encode(api apis.API, req *apis.Request, ct string, hub []byte, n int, f *apis.CostFilter) ([]byte, error) {
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	if f != nil {
		w.Filter = f.Filter
	}
	enc := api.NewEncoder(w, req)
	enc.Header().Set("Content-Type", ct)
	enc.WriteHeader(http.StatusOK)
	if n <= 0 {
		n = len(hub) + 1
	}
	for len(hub) > 0 {
		k := min(n, len(hub))
		if _, err := enc.Write(hub[:k]); err != nil {
			return rec.Body.Bytes(), err
		}
		hub = hub[k:]
	}
	err := enc.Finish()
	if f != nil && f.Pending() {
		_, _ = w.Write(nil)
	}
	return rec.Body.Bytes(), err
}

// HubUsage is the usage of the last `usage` object of a hub answer or
// stream, as the router counts it; zero when it has none.
func HubUsage(hub []byte) llm.Usage {
	var u llm.Usage
	for _, ev := range Events(hub) {
		data, ok := Data(ev)
		if !ok {
			data = ev
		}
		if obj := gjson.GetBytes(data, "usage"); obj.IsObject() {
			u = openaiprovider.UsageOf(obj)
		}
	}
	return u
}

// Want is the cost of u at Price and the budget remaining after it.
func Want(u llm.Usage) (cost, remaining *float64) {
	c := Price.Cost(u)
	r := Budget - c
	return &c, &r
}

// CheckStream checks a stream written with a filter (out) against the
// same stream written without (plain): the same events, framed alike; an
// event whose data has an object at the gjson path that path names for it
// ("" when none may change) has it edited with what p priced, in turn;
// every other event is unchanged.
func CheckStream(plain, out []byte, p *Pricer, path func(name string, data []byte) string) error {
	a, b := Events(plain), Events(out)
	if len(a) != len(b) {
		return fmt.Errorf("%d events, want %d:\n%s", len(b), len(a), out)
	}
	k := 0
	for i := range a {
		was, _ := Data(a[i])
		at := ""
		if json.Valid(was) {
			at = path(eventName(a[i]), was)
		}
		if at == "" || !gjson.GetBytes(was, at).IsObject() {
			if !bytes.Equal(a[i], b[i]) {
				return fmt.Errorf("event %d changed:\n%q\n%q", i, a[i], b[i])
			}
			continue
		}
		if !bytes.Equal(frame(a[i]), frame(b[i])) {
			return fmt.Errorf("event %d reframed:\n%q\n%q", i, a[i], b[i])
		}
		if k >= len(p.Seen) {
			return fmt.Errorf("event %d has usage at %s, not priced:\n%s", i, at, was)
		}
		cost, remaining := p.want(p.Seen[k])
		k++
		data, _ := Data(b[i])
		if err := CheckObject(was, data, at, cost, remaining); err != nil {
			return fmt.Errorf("event %d: %v", i, err)
		}
	}
	if k != len(p.Seen) {
		return fmt.Errorf("%d usage objects priced, %d found:\n%s", len(p.Seen), k, out)
	}
	return nil
}

// want is what p adds for u.
func (p *Pricer) want(u llm.Usage) (cost, remaining *float64) {
	c, r := Want(u)
	if p.Unpriced {
		cost = nil
		*r = Budget
	} else {
		cost = c
	}
	if p.Budget {
		remaining = r
	}
	return cost, remaining
}

// CheckAnswer checks a JSON answer written with a filter (out) against
// the same answer written without (plain): only the object at path
// changed, priced once by p.
func CheckAnswer(plain, out []byte, p *Pricer, path string) error {
	if !gjson.GetBytes(plain, path).IsObject() {
		if !bytes.Equal(plain, out) || len(p.Seen) != 0 {
			return fmt.Errorf("changed without a usage object:\n%s\n%s", plain, out)
		}
		return nil
	}
	if len(p.Seen) != 1 {
		return fmt.Errorf("%d usage objects priced", len(p.Seen))
	}
	cost, remaining := p.want(p.Seen[0])
	return CheckObject(plain, out, path, cost, remaining)
}

// Tokens is u without its finish reason: the figures a cost depends on.
func Tokens(u llm.Usage) llm.Usage {
	u.FinishReason = ""
	return u
}
