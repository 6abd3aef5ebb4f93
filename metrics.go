package llmrouter

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/routing"
)

// metrics are created once per process and registered into each config's
// registry (Caddy serves it with its `metrics` handler).
var metrics = struct {
	once        sync.Once
	requests    *prometheus.CounterVec
	keyRequests *prometheus.CounterVec
	keySpend    *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	cache       *prometheus.CounterVec
	attempts    *prometheus.CounterVec
	tokens      *prometheus.CounterVec
	cost        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	ttfb        *prometheus.HistogramVec
	targets     *targetCollector
	collectors  []prometheus.Collector
	initialized bool
}{}

// initMetrics creates the collectors once and registers them into
// registry; another collector already registered under one of their names
// (a conflicting descriptor) is an error, as Caddy's own metrics treat it.
func initMetrics(registry *prometheus.Registry) error {
	const ns, sub = "caddy", "llm_router"
	metrics.once.Do(func() {
		metrics.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Requests answered, by target that answered, upstream model and status code.",
		}, []string{"target", "model", "code"})
		metrics.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "attempts_total",
			Help: "Upstream attempts, by target and outcome.",
		}, []string{"target", "outcome"})
		metrics.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "tokens_total",
			Help: "Tokens used, by target, upstream model and type (prompt, completion, cache_read, cache_write, reasoning).",
		}, []string{"target", "model", "type"})
		metrics.cost = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "cost_usd_total",
			Help: "Spend in USD computed from usage and the target's price, by target and upstream model.",
		}, []string{"target", "model"})
		metrics.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help:    "Time from the request to the end of its response, by the target that answered.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"target"})
		metrics.ttfb = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "time_to_first_byte_seconds",
			Help:    "Time from the start of the answering attempt to its first byte to the client, by target.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"target"})
		metrics.keyRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "key_requests_total",
			Help: "Requests of router keys, by key name and status code.",
		}, []string{"key", "code"})
		metrics.keySpend = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "key_spend_usd_total",
			Help: "Spend in USD of router keys, by key name.",
		}, []string{"key"})
		metrics.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "store_errors_total",
			Help: "Failed round trips to the keys' store, by store.",
		}, []string{"store"})
		metrics.cache = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "cache_requests_total",
			Help: "Requests looked up in the response cache, by result (hit, miss).",
		}, []string{"result"})
		metrics.targets = &targetCollector{
			inFlight: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "in_flight"),
				"Upstream requests in flight, by target.", []string{"target"}, nil),
			healthy: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "target_healthy"),
				"1 when the target is not in cooldown, 0 while it is.", []string{"target"}, nil),
		}
		metrics.collectors = []prometheus.Collector{
			metrics.requests, metrics.attempts, metrics.tokens, metrics.cost,
			metrics.duration, metrics.ttfb, metrics.targets,
			metrics.keyRequests, metrics.keySpend, metrics.storeErrors, metrics.cache,
		}
		metrics.initialized = true
	})
	if registry == nil {
		return nil
	}
	for _, c := range metrics.collectors {
		err := registry.Register(c)
		var already prometheus.AlreadyRegisteredError
		if err != nil && !errors.As(err, &already) {
			return fmt.Errorf("registering metrics: %v", err)
		}
	}
	return nil
}

func recordAttempt(target, outcome string) {
	if metrics.initialized {
		inc(metrics.attempts, target, outcome)
	}
}

func recordKeyRequest(key string, status int) {
	if metrics.initialized {
		inc(metrics.keyRequests, key, statusLabel(status))
	}
}

func recordCache(result string) {
	if metrics.initialized {
		inc(metrics.cache, result)
	}
}

func recordStoreError(store string) {
	if metrics.initialized {
		inc(metrics.storeErrors, store)
	}
}

// statusLabel is a status code as a label; 499 when the client left
// before any answer (nginx's convention).
func statusLabel(status int) string {
	if status == 0 {
		return "499"
	}
	return strconv.Itoa(status)
}

// inc, add and observe update a metric, dropping the update when a label
// value is unusable instead of panicking as WithLabelValues would.
func inc(v *prometheus.CounterVec, labels ...string) {
	if c, err := v.GetMetricWithLabelValues(labels...); err == nil {
		c.Inc()
	}
}

func add(v *prometheus.CounterVec, n float64, labels ...string) {
	if c, err := v.GetMetricWithLabelValues(labels...); err == nil {
		c.Add(n)
	}
}

func observe(v *prometheus.HistogramVec, x float64, labels ...string) {
	if o, err := v.GetMetricWithLabelValues(labels...); err == nil {
		o.Observe(x)
	}
}

// outcomeOf names a failed attempt for attempts_total.
func outcomeOf(e *llm.Error) string {
	switch e.Kind {
	case llm.KindTimeout:
		return "timeout"
	case llm.KindConnect:
		return "connect_error"
	case llm.KindStream, llm.KindInvalid:
		return "stream_error"
	}
	switch {
	case e.Status == http.StatusTooManyRequests:
		return "rate_limited"
	case e.Status >= 500:
		return "upstream_5xx"
	}
	return "upstream_4xx"
}

// targetCollector reports in-flight counts and health from the shared
// target states at scrape time, so requests pay nothing for them.
type targetCollector struct {
	inFlight, healthy *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *targetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inFlight
	ch <- c.healthy
}

// Collect implements prometheus.Collector.
func (c *targetCollector) Collect(ch chan<- prometheus.Metric) {
	t := time.Now()
	// Several base URLs may share a target name: sum and AND them.
	inFlight := map[string]float64{}
	healthy := map[string]float64{}
	routing.EachState(func(name string, s *routing.State) {
		inFlight[name] += float64(s.InFlight())
		h := 0.0
		if s.Healthy(t) {
			h = 1
		}
		if prev, ok := healthy[name]; !ok || h < prev {
			healthy[name] = h
		}
	})
	for name, v := range inFlight {
		ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, v, name)
		ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, healthy[name], name)
	}
}
