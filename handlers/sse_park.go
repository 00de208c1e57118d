package handlers

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/metrics"
	"github.com/tidings/tidings/stream"
)

// Parker takes a stream off net/http once its starting block is flushed
// and writes the rest of it, and a long-poll that must wait and answers
// it, so that neither holds a goroutine and buffers while it waits
// (stream.Streams).
type Parker interface {
	Park(conn net.Conn, st stream.Stream)
	ParkPoll(conn net.Conn, pl stream.Poll)
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
func (s *Server) park(w http.ResponseWriter, r *http.Request, sub *stream.Subscription, cursor int64, req subscribeRequest, info *requestInfo, addr string, untyped bool) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	line := parkedLine(r, info, addr)
	if sw, ok := w.(*statusWriter); ok && line != nil {
		line.bytes = sw.bytes
	}
	s.streams.Park(conn, stream.Stream{
		Sub:       sub,
		Cursor:    cursor,
		End:       time.Now().Add(req.maxDuration),
		Heartbeat: s.cfg.Heartbeat,
		Untyped:   untyped,
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

// parkPoll takes the connection of a long-poll that must wait and hands
// it, with sub and the address's slot, to s.streams, which answers it and
// closes the connection. It reports false, having changed nothing, when
// the connection cannot be taken.
func (s *Server) parkPoll(w http.ResponseWriter, r *http.Request, sub *stream.Subscription, req subscribeRequest, first stream.Batch, addr string) bool {
	// The answer's head: the headers set so far (CORS) and writeJSON's.
	h := w.Header().Clone()
	setJSONHeaders(h)
	h["Connection"] = connectionClose
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	h.Write(&head)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	line := parkedLine(r, requestInfoFrom(w), addr)
	prefix := head.Bytes()
	s.streams.ParkPoll(conn, stream.Poll{
		Sub:    sub,
		Cursor: first.Cursor,
		Limit:  req.limit,
		End:    time.Now().Add(req.timeout),
		Check:  s.cfg.Heartbeat,
		Answer: func(dst []byte, b stream.Batch) []byte {
			body := appendPollAnswer(nil, b)
			dst = append(dst, prefix...)
			dst = append(dst, "Date: "...)
			dst = time.Now().UTC().AppendFormat(dst, http.TimeFormat)
			dst = append(dst, "\r\nContent-Length: "...)
			dst = strconv.AppendInt(dst, int64(len(body)), 10)
			dst = append(dst, "\r\n\r\n"...)
			if n := len(b.Events); n > 0 {
				s.metrics.Poll.Delivered.Add(float64(n))
				observeLatency(s.metrics.Poll.Latency, b.Events)
			}
			return append(dst, body...)
		},
		Done: func(e stream.StreamEnd) {
			s.metrics.Poll.Subscribers.Dec()
			s.conns.release(addr)
			if line != nil {
				line.bytes = e.Bytes
				s.logLine(context.Background(), *line, &requestInfo{transport: "poll", events: e.Events})
			}
		},
	})
	return true
}

var connectionClose = []string{"close"}

// parkedLine is the access line of a request taken off net/http, written
// when it ends: it keeps the few strings it needs, not the request. It is
// nil without the access log.
func parkedLine(r *http.Request, info *requestInfo, addr string) *accessLine {
	if info.start.IsZero() {
		return nil
	}
	info.parked = true
	return &accessLine{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, client: addr, status: http.StatusOK, start: info.start}
}
