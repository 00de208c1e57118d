package handlers

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/metrics"
	"github.com/tidings/tidings/stream"
)

// Parker takes a stream off net/http once its starting block is flushed
// and writes the rest of it, so that an idle stream holds no goroutine
// and no buffers (stream.Streams).
type Parker interface {
	Park(conn net.Conn, st stream.Stream)
}

// hijackable reports whether r's connection can be taken from net/http:
// HTTP/1.x, through a ResponseWriter (under any wrappers) that offers it.
// HTTP/2 streams, and writers without a connection such as
// httptest.ResponseRecorder, keep a goroutine each.
func hijackable(w http.ResponseWriter, r *http.Request) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	for {
		if _, ok := w.(http.Hijacker); ok {
			return true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
}

// park takes the connection of a stream whose headers and starting block
// are flushed and hands it, with sub and the address's slot, to
// s.streams, which ends it. It reports false, having changed nothing,
// when the connection cannot be taken.
func (s *Server) park(w http.ResponseWriter, r *http.Request, sub *stream.Subscription, cursor int64, req subscribeRequest, info *requestInfo, addr string) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	// The access line is written when the stream ends; it keeps the few
	// strings it needs, not the request.
	var line *accessLine
	if !info.start.IsZero() {
		info.parked = true
		line = &accessLine{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, client: addr, status: http.StatusOK, start: info.start}
		if sw, ok := w.(*statusWriter); ok {
			line.bytes = sw.bytes
		}
	}
	s.streams.Park(conn, stream.Stream{
		Sub:       sub,
		Cursor:    cursor,
		End:       time.Now().Add(req.maxDuration),
		Heartbeat: s.cfg.Heartbeat,
		Done: func(e stream.StreamEnd) {
			s.metrics.SSE.Subscribers.Dec()
			s.metrics.SSEEnded.WithLabelValues(e.Reason).Inc()
			s.conns.release(addr)
			if line != nil {
				line.bytes += e.Bytes
				s.logLine(context.Background(), *line, &requestInfo{transport: "sse", events: e.Events, end: e.Reason})
			}
		},
	})
	return true
}

// DeliveryObserver counts the events parked streams deliver and their
// commit-to-write latency, as the SSE handler does for its own.
func DeliveryObserver(m *metrics.Metrics) stream.StreamObserver {
	return deliveryObserver{delivered: m.SSE.Delivered, latency: m.SSE.Latency}
}

type deliveryObserver struct {
	delivered prometheus.Counter
	latency   prometheus.Observer
}

func (o deliveryObserver) Delivered(events []*stream.Event, live bool) {
	o.delivered.Add(float64(len(events)))
	if live {
		observeLatency(o.latency, events)
	}
}
