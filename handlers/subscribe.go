package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/stream"
)

// sseReadLimit bounds the events written between two flushes.
const sseReadLimit = 512

// subscribeRequest is what both transports parse.
type subscribeRequest struct {
	topics  []string
	cursor  int64
	fromNow bool
}

func parseSubscribe(r *http.Request, ps httprouter.Params) (subscribeRequest, *Error) {
	topics, err := parseTopics(ps.ByName("topics"))
	if err != nil {
		return subscribeRequest{}, err
	}
	cursor, fromNow, err := parseCursor(r)
	if err != nil {
		return subscribeRequest{}, err
	}
	return subscribeRequest{topics: topics, cursor: cursor, fromNow: fromNow}, nil
}

// admit checks the request's token for its topics, then takes one of its
// address's subscription slots; release it with s.conns.release(addr).
func (s *Server) admit(r *http.Request, req subscribeRequest) (addr string, overLimit bool, err error) {
	if err := s.auth.CanSubscribe(bearer(r), req.topics); err != nil {
		return "", false, err
	}
	addr = s.clientAddr(r)
	if !s.conns.acquire(addr) {
		return addr, true, nil
	}
	return addr, false, nil
}

// sse handles GET /v1/topics/{topics}/sse: a bounded event stream that
// always starts with a cursor (or reset) block and ends with a final cursor
// block, so the client always leaves with a cursor.
func (s *Server) sse(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	req, perr := parseSubscribe(r, ps)
	if perr != nil {
		s.writeError(w, r, perr)
		return
	}
	maxDur := s.cfg.SSEMaxDuration
	if v, _ := queryValue(r.URL.RawQuery, "max_duration"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		// Written so that NaN, which fails every comparison, is refused.
		if err != nil || !(secs > 0 && secs <= 1e6) {
			s.writeError(w, r, errorf(codeInvalidRequest, "max_duration is a positive number of seconds."))
			return
		}
		maxDur = min(maxDur, time.Duration(secs*float64(time.Second)))
	}

	addr, overLimit, aerr := s.admit(r, req)
	if aerr != nil {
		s.writeError(w, r, aerr)
		return
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	out := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: s.cfg.WriteTimeout}
	if overLimit {
		s.sseRefuse(r, out, req, stream.EndOverloaded)
		return
	}
	defer s.conns.release(addr)

	sub, err := s.hub.Subscribe(req.topics)
	if err != nil {
		end := stream.EndOverloaded
		if errors.Is(err, stream.ErrStopped) {
			end = stream.EndShuttingDown
		}
		s.sseRefuse(r, out, req, end)
		return
	}
	defer sub.Close()

	cursor := req.cursor
	if req.fromNow {
		cursor = s.hub.Head()
	}
	batch, err := s.hub.Read(r.Context(), req.topics, cursor, sseReadLimit)
	if err != nil {
		s.apiError(r, err) // logs the cause
		s.sseRefuse(r, out, req, stream.EndOverloaded)
		return
	}
	out.write(stream.Retry(s.cfg.SSERetry.Milliseconds()))
	if batch.Reset != "" {
		out.write(stream.ResetBlock(batch.Reset, batch.ResetCursor))
	} else {
		out.write(stream.CursorBlock(cursor, ""))
	}
	info := requestInfoFrom(r)
	info.transport = "sse"
	// The first flush writes the response headers, the deepest call of a
	// stream. Made here rather than inside pump, it fits in an 8 KB stack,
	// the size an idle stream then keeps; from inside pump it doubled the
	// stack to 16 KB.
	if out.flush() != nil {
		info.end = "client_gone"
		if r.Context().Err() == nil {
			info.end = "slow"
		}
		s.metrics.SSEEnded.WithLabelValues(info.end).Inc()
		return
	}

	s.metrics.SSE.Subscribers.Inc()
	defer s.metrics.SSE.Subscribers.Dec()
	if batch.Reset != "" {
		s.metrics.Resets.WithLabelValues(batch.Reset).Inc()
	}
	reason := s.pump(r, out, sub, req.topics, batch, maxDur, info)
	info.end = reason
	s.metrics.SSEEnded.WithLabelValues(reason).Inc()
}

// pump writes batch, then waits and writes what follows, until the stream
// ends; it returns why it ended.
func (s *Server) pump(r *http.Request, out *sseWriter, sub *stream.Subscription, topics []string, batch stream.Batch, maxDur time.Duration, info *requestInfo) string {
	// One timer serves the heartbeat and the maximum duration.
	end := time.Now().Add(maxDur)
	timer := time.NewTimer(min(s.cfg.Heartbeat, maxDur))
	defer timer.Stop()
	ctx := r.Context()
	delivered := s.metrics.SSE.Delivered
	latency := s.metrics.SSE.Latency
	// cutOff names why a write failed: the client left, or it could not
	// take the write in time. Either way it resumes from the last id it got.
	cutOff := func() string {
		if ctx.Err() != nil {
			return "client_gone"
		}
		return "slow"
	}
	// Only events read after a wake were delivered live; the first read is a
	// catch-up whose age says nothing about delivery latency.
	live := false
	var err error
	for {
		for _, e := range batch.Events {
			out.write(e.Frame)
		}
		if out.flush() != nil {
			return cutOff()
		}
		cursor := batch.Cursor
		if n := len(batch.Events); n > 0 {
			info.events += n
			delivered.Add(float64(n))
			if live {
				observeLatency(latency, batch.Events)
			}
		}
		live = true
		// With more to read, go on at once, but still end on time. Stop
		// wakes every subscription, so the hub's stop is seen here too.
		wake := sub.C
		if batch.More {
			wake = closedChan
		}
	wait:
		for {
			select {
			case <-wake:
				if s.hub.Stopping() {
					out.end(cursor, stream.EndShuttingDown)
					return stream.EndShuttingDown
				}
				break wait
			case now := <-timer.C:
				if !now.Before(end) {
					out.end(cursor, stream.EndMaxDuration)
					return stream.EndMaxDuration
				}
				out.write(stream.Ping)
				if out.flush() != nil {
					return cutOff()
				}
				timer.Reset(min(s.cfg.Heartbeat, end.Sub(now)))
			case <-ctx.Done():
				return "client_gone"
			}
		}
		if batch, err = s.hub.Read(ctx, topics, cursor, sseReadLimit); err != nil {
			if ctx.Err() != nil {
				return "client_gone"
			}
			s.apiError(r, err)
			out.end(cursor, stream.EndOverloaded)
			return stream.EndOverloaded
		}
	}
}

// closedChan is always ready to receive from.
var closedChan = func() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// observeLatency records commit-to-write time of live events.
func observeLatency(h prometheus.Observer, events []*stream.Event) {
	now := time.Now()
	for _, e := range events {
		if !e.Committed.IsZero() {
			h.Observe(now.Sub(e.Committed).Seconds())
		}
	}
}

// sseRefuse answers a stream that cannot be served now with 200, a longer
// retry hint and only a final block carrying the request's cursor, because
// an EventSource gives up for good on any other status.
func (s *Server) sseRefuse(r *http.Request, out *sseWriter, req subscribeRequest, end string) {
	info := requestInfoFrom(r)
	info.transport, info.end = "sse", end
	s.metrics.SSEEnded.WithLabelValues(end).Inc()
	cursor := req.cursor
	if req.fromNow {
		cursor = s.hub.Head()
	}
	retry := max(5*s.cfg.SSERetry, 5*time.Second)
	out.write(stream.Retry(retry.Milliseconds()))
	if batch, err := s.hub.Read(r.Context(), req.topics, cursor, 1); err == nil && batch.Reset != "" {
		s.metrics.Resets.WithLabelValues(batch.Reset).Inc()
		out.write(stream.ResetBlock(batch.Reset, batch.ResetCursor))
		cursor = batch.ResetCursor
	}
	out.end(cursor, end)
}

// sseWriter writes blocks under a write deadline, so a client that cannot
// take them is cut off instead of holding memory. Moving a deadline costs a
// lock in the runtime's poller, so it is moved only every half timeout: it
// stays between 1 and 1.5 timeouts ahead of any write.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	rearm   time.Time // when the deadline must move again
	err     error
}

func (o *sseWriter) arm() {
	if now := time.Now(); !now.Before(o.rearm) {
		o.rc.SetWriteDeadline(now.Add(o.timeout + o.timeout/2))
		o.rearm = now.Add(o.timeout / 2)
	}
}

func (o *sseWriter) write(b []byte) {
	if o.err != nil {
		return
	}
	// Writes may reach the socket before flush once the buffer fills.
	o.arm()
	_, o.err = o.w.Write(b)
}

func (o *sseWriter) flush() error {
	if o.err == nil {
		o.arm()
		o.err = o.rc.Flush()
	}
	return o.err
}

// end writes the final cursor block.
func (o *sseWriter) end(cursor int64, reason string) {
	o.write(stream.CursorBlock(cursor, reason))
	o.flush()
}
