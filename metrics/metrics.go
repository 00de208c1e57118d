// Package metrics defines tidings' Prometheus metrics. No label holds a
// topic name: topics are unbounded, and a label per topic would let clients
// grow the server's memory and every scrape without limit.
package metrics

import (
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector, registered in its own registry.
type Metrics struct {
	Registry *prometheus.Registry

	Published     *prometheus.CounterVec   // result: created, duplicate, rejected, failed
	Delivered     *prometheus.CounterVec   // transport: sse, poll
	Subscribers   *prometheus.GaugeVec     // transport: sse, poll
	CommitBatch   prometheus.Histogram     // events per group commit
	CommitSeconds prometheus.Histogram     // time to commit one group
	Latency       *prometheus.HistogramVec // publish-to-delivery seconds, by transport
	SSEEnded      *prometheus.CounterVec   // reason: max_duration, client_gone, slow, shutting_down, overloaded
	Resets        *prometheus.CounterVec   // reason: cursor_expired, cursor_ahead
	Pruned        prometheus.Counter

	// The series of each transport, resolved once: looking a label up
	// hashes it, and a stream would do that on every delivery.
	SSE, Poll Transport
}

// Transport holds one transport's series.
type Transport struct {
	Subscribers prometheus.Gauge
	Delivered   prometheus.Counter
	Latency     prometheus.Observer
}

func (m *Metrics) transport(name string) Transport {
	return Transport{
		Subscribers: m.Subscribers.WithLabelValues(name),
		Delivered:   m.Delivered.WithLabelValues(name),
		Latency:     m.Latency.WithLabelValues(name),
	}
}

// New creates the collectors. dbPath, if set, is reported as the database
// size (the file and its WAL).
func New(dbPath string) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_events_published_total",
			Help: "Events submitted for publishing, by result: created, duplicate, rejected (4xx), failed (5xx).",
		}, []string{"result"}),
		Delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_events_delivered_total",
			Help: "Events written to subscribers, by transport.",
		}, []string{"transport"}),
		Subscribers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tidings_subscribers",
			Help: "Open subscriptions, by transport.",
		}, []string{"transport"}),
		CommitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tidings_commit_batch_events",
			Help:    "Events stored per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13),
		}),
		CommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tidings_commit_duration_seconds",
			Help:    "Time to write and commit one group of events.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 15),
		}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tidings_publish_to_delivery_seconds",
			Help:    "Time from commit to the write of a live event to a subscriber.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15),
		}, []string{"transport"}),
		SSEEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_sse_ended_total",
			Help: "SSE responses ended, by reason.",
		}, []string{"reason"}),
		Resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_resets_total",
			Help: "Cursors that could not be honoured, by reason.",
		}, []string{"reason"}),
		Pruned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidings_pruned_events_total",
			Help: "Events deleted by retention.",
		}),
	}
	m.Registry.MustRegister(m.Published, m.Delivered, m.Subscribers, m.CommitBatch, m.CommitSeconds,
		m.Latency, m.SSEEnded, m.Resets, m.Pruned,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if dbPath != "" {
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tidings_database_bytes",
			Help: "Size of the SQLite database file and its write-ahead log.",
		}, func() float64 { return float64(fileSize(dbPath) + fileSize(dbPath+"-wal")) }))
	}
	// Start every labelled series at zero so rates work from the first scrape.
	for _, r := range []string{"created", "duplicate", "rejected", "failed"} {
		m.Published.WithLabelValues(r)
	}
	m.SSE, m.Poll = m.transport("sse"), m.transport("poll")
	for _, r := range []string{"max_duration", "client_gone", "slow", "shutting_down", "overloaded"} {
		m.SSEEnded.WithLabelValues(r)
	}
	for _, r := range []string{"cursor_expired", "cursor_ahead"} {
		m.Resets.WithLabelValues(r)
	}
	return m
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Commit records one group commit; it is the store's commit observer.
func (m *Metrics) Commit(events int, took time.Duration) {
	m.CommitBatch.Observe(float64(events))
	m.CommitSeconds.Observe(took.Seconds())
}

// PrunedEvents records events deleted by retention.
func (m *Metrics) PrunedEvents(n int) { m.Pruned.Add(float64(n)) }
