package handlers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// sseReadLimit bounds the events written between two flushes.
const sseReadLimit = 512

// sse handles GET /v1/topics/{topics}/sse: a bounded event stream that
// always starts with a cursor (or reset) block and ends with a final cursor
// block, so the client always leaves with a cursor.
func (s *Server) sse(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	req, addr, overLimit, ok := s.accept(w, r, ps, s.parseSSE)
	if !ok {
		return
	}
	out := s.newSSEWriter(w)
	// ?untyped=1 leaves the event line out of event blocks, so that an
	// EventSource's onmessage sees every event; the type stays in the data.
	if v, _ := queryValue(r.URL.RawQuery, "untyped"); v == "1" || v == "true" {
		out.untyped = true
	}
	if overLimit {
		s.sseRefuse(r, out, req, stream.EndOverloaded)
		return
	}
	sub, cursor, batch, err := s.subscribe(r, req)
	if err != nil {
		s.conns.release(addr)
		s.sseRefuse(r, out, req, s.sseEndOf(r, err))
		return
	}

	// Over HTTP/1.1 the stream is parked once its starting block is out,
	// and the connection is closed after the final block: the header says
	// so before the first write fixes the headers.
	parkable := s.streams != nil && hijackable(w, r)
	if parkable {
		w.Header().Set("Connection", "close")
	}
	s.sseOpen(out, cursor, batch)
	info := requestInfoFrom(w)
	info.transport = "sse"
	// The first flush writes the response headers, the deepest call of a
	// stream. Made here rather than inside pump, it fits in an 8 KB stack,
	// the size an idle stream then keeps; from inside pump it doubled the
	// stack to 16 KB (TestIdleStreamStack).
	if out.flush() != nil {
		sub.Close()
		s.conns.release(addr)
		info.end = cutOff(r.Context())
		s.metrics.SSEEnded.WithLabelValues(info.end).Inc()
		return
	}

	s.metrics.SSE.Subscribers.Inc()
	if batch.Reset != "" {
		s.metrics.Resets.WithLabelValues(batch.Reset).Inc()
		cursor = batch.ResetCursor
	}
	if parkable && s.park(w, r, sub, cursor, req, info, addr, out.untyped) {
		return
	}
	defer s.conns.release(addr)
	defer sub.Close()
	defer s.metrics.SSE.Subscribers.Dec()
	info.end = s.pump(r, out, sub, req, batch, info)
	s.metrics.SSEEnded.WithLabelValues(info.end).Inc()
}

// parseSSE reads the stream's max_duration into req.
func (s *Server) parseSSE(r *http.Request, req *subscribeRequest) *Error {
	req.limit = sseReadLimit
	req.maxDuration = s.cfg.SSEMaxDuration
	if v, _ := queryValue(r.URL.RawQuery, "max_duration"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		// Written so that NaN, which fails every comparison, is refused.
		if err != nil || !(secs > 0 && secs <= 1e6) {
			return errorf(codeInvalidRequest, "max_duration is a positive number of seconds.")
		}
		req.maxDuration = min(req.maxDuration, time.Duration(secs*float64(time.Second)))
	}
	return nil
}

// newSSEWriter sets the event stream's headers and returns its writer.
func (s *Server) newSSEWriter(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	return &sseWriter{w: w, rc: http.NewResponseController(w), timeout: s.cfg.WriteTimeout}
}

// sseEndOf is the end reason of a stream that subscribe could not open:
// the hub's refusal says whether it is stopping; a failed first read is
// logged and answered as overload.
func (s *Server) sseEndOf(r *http.Request, err error) string {
	var e *Error
	if !errors.As(err, &e) {
		s.apiError(r, err) // logs the cause
		return stream.EndOverloaded
	}
	if e.Code == codeShuttingDown {
		return stream.EndShuttingDown
	}
	return stream.EndOverloaded
}

// sseOpen writes the blocks that open every stream: the retry hint and the
// starting cursor block, or the reset block when the cursor was not
// honoured.
func (s *Server) sseOpen(out *sseWriter, cursor int64, first stream.Batch) {
	out.write(stream.Retry(s.cfg.SSERetry.Milliseconds()))
	if first.Reset != "" {
		out.write(stream.ResetBlock(first.Reset, first.ResetCursor))
	} else {
		out.write(stream.CursorBlock(cursor, ""))
	}
}

// cutOff names why a write failed: the client left, or it could not take
// the write in time. Either way it resumes from the last id it got.
func cutOff(ctx context.Context) string {
	if ctx.Err() != nil {
		return "client_gone"
	}
	return "slow"
}

// pump writes batch, then waits and writes what follows, until the stream
// ends; it returns why it ended.
func (s *Server) pump(r *http.Request, out *sseWriter, sub *stream.Subscription, req subscribeRequest, batch stream.Batch, info *requestInfo) string {
	// One timer serves the heartbeat and the maximum duration.
	end := time.Now().Add(req.maxDuration)
	timer := time.NewTimer(min(s.cfg.Heartbeat, req.maxDuration))
	defer timer.Stop()
	ctx := r.Context()
	// Only events read after a wake were delivered live; the first read is a
	// catch-up whose age says nothing about delivery latency.
	live := false
	var err error
	for {
		if reason := s.deliver(ctx, out, batch, live, info); reason != "" {
			return reason
		}
		live = true
		cursor := batch.Cursor
		if reason := s.sseWait(ctx, out, sub, timer, end, cursor, batch.More); reason != "" {
			return reason
		}
		if batch, err = s.hub.Read(ctx, req.topics, cursor, req.limit); err != nil {
			if ctx.Err() != nil {
				return "client_gone"
			}
			s.apiError(r, err)
			out.end(cursor, stream.EndOverloaded)
			return stream.EndOverloaded
		}
	}
}

// deliver writes and flushes batch's events and counts them; it returns
// why the stream ends when the client cannot take them, else "".
func (s *Server) deliver(ctx context.Context, out *sseWriter, batch stream.Batch, live bool, info *requestInfo) string {
	for _, e := range batch.Events {
		out.event(e)
	}
	if out.flush() != nil {
		return cutOff(ctx)
	}
	if n := len(batch.Events); n > 0 {
		info.events += n
		s.metrics.SSE.Delivered.Add(float64(n))
		if live {
			observeLatency(s.metrics.SSE.Latency, batch.Events)
		}
	}
	return ""
}

// sseWait waits for something to read after cursor, writing heartbeats,
// and returns "" when there may be; otherwise it ends the stream (on the
// hub's stop or the maximum duration, with the final block) and returns
// why. With more already to read it goes on at once, but still ends on
// time. Stop wakes every subscription, so the hub's stop is seen here too.
func (s *Server) sseWait(ctx context.Context, out *sseWriter, sub *stream.Subscription, timer *time.Timer, end time.Time, cursor int64, more bool) string {
	wake := sub.C
	if more {
		wake = closedChan
	}
	for {
		select {
		case <-wake:
			if s.hub.Stopping() {
				out.end(cursor, stream.EndShuttingDown)
				return stream.EndShuttingDown
			}
			return ""
		case now := <-timer.C:
			if !now.Before(end) {
				out.end(cursor, stream.EndMaxDuration)
				return stream.EndMaxDuration
			}
			out.write(stream.Ping)
			if out.flush() != nil {
				return cutOff(ctx)
			}
			timer.Reset(min(s.cfg.Heartbeat, end.Sub(now)))
		case <-ctx.Done():
			return "client_gone"
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
	info := requestInfoFrom(out.w)
	info.transport, info.end = "sse", end
	s.metrics.SSEEnded.WithLabelValues(end).Inc()
	cursor := s.startCursor(req)
	retry := max(5*s.cfg.SSERetry, 5*time.Second)
	out.write(stream.Retry(retry.Milliseconds()))
	// The reset comes first, as on an accepted stream. A cursor past the
	// head is known from memory. Only a cursor below the highest pruned id
	// can be expired, and only for such a cursor is the store read: the
	// refusals of clients resuming where they left off stay free of reads.
	if head := s.hub.Head(); cursor > head {
		s.metrics.Resets.WithLabelValues(store.ResetAhead).Inc()
		out.write(stream.ResetBlock(store.ResetAhead, head))
		cursor = head
	} else if end == stream.EndOverloaded && s.hub.MayBeExpired(cursor) {
		// A store that cannot be read leaves the reset to the next stream.
		if b, err := s.hub.Read(r.Context(), req.topics, cursor, 1); err == nil && b.Reset != "" {
			s.metrics.Resets.WithLabelValues(b.Reset).Inc()
			out.write(stream.ResetBlock(b.Reset, b.ResetCursor))
			cursor = b.ResetCursor
		}
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
	untyped bool // event blocks without their event line
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

// event writes e's block; untyped, it is the block of its id and data lines
// alone, which is what the frame holds for a "message" event.
func (o *sseWriter) event(e *stream.Event) {
	if !o.untyped {
		o.write(e.Frame)
		return
	}
	o.write(e.Frame[:bytes.IndexByte(e.Frame, '\n')+1]) // "id: N\n"
	o.write(dataPrefix)
	o.write(e.JSON)
	o.write(blockEnd)
}

var dataPrefix, blockEnd = []byte("data: "), []byte("\n\n")

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
