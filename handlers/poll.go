package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/tidings/tidings/stream"
)

// poll handles GET /v1/topics/{topics}/poll: it answers at once when events
// after the cursor exist or the cursor must be reset, and otherwise waits
// for the next commit or the timeout.
func (s *Server) poll(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	req, addr, overLimit, ok := s.accept(w, r, ps, s.parsePoll)
	if !ok {
		return
	}
	if overLimit {
		s.writeError(w, r, errorf(codeTooManySubscribers, "This address has as many open subscriptions as it may (%d); close one or retry shortly.", s.cfg.MaxSubscriptionsPerIP))
		return
	}
	sub, _, batch, err := s.subscribe(r, req)
	if err != nil {
		s.conns.release(addr)
		s.writeError(w, r, err)
		return
	}
	s.metrics.Poll.Subscribers.Inc()
	waited := len(batch.Events) == 0 && batch.Reset == "" && req.timeout > 0
	// A poll that must wait, over HTTP/1.1, is parked: no goroutine and no
	// buffers while it waits; its answer closes the connection.
	if waited && s.streams != nil && hijackable(w, r) && s.parkPoll(w, r, sub, req, batch, addr) {
		return
	}
	defer s.conns.release(addr)
	defer sub.Close()
	defer s.metrics.Poll.Subscribers.Dec()
	if waited {
		if batch, err = s.pollWait(r.Context(), sub, req, batch); err != nil {
			if err != errClientGone {
				s.writeError(w, r, err)
			}
			return
		}
	}
	s.answerPoll(w, r, batch, waited)
}

// parsePoll reads the poll's timeout and limit into req.
func (s *Server) parsePoll(r *http.Request, req *subscribeRequest) *Error {
	req.timeout = min(25*time.Second, s.cfg.PollMaxTimeout)
	if v, ok := queryValue(r.URL.RawQuery, "timeout"); ok {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs < 0 || secs != secs {
			return errorf(codeInvalidTimeout, "timeout is a number of seconds from 0 to %g.", s.cfg.PollMaxTimeout.Seconds())
		}
		req.timeout = min(s.cfg.PollMaxTimeout, time.Duration(min(secs, 1e6)*float64(time.Second)))
	}
	req.limit = 100
	if v, ok := queryValue(r.URL.RawQuery, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errorf(codeInvalidLimit, "limit is a whole number from 1 to 1000.")
		}
		req.limit = n
	}
	return nil
}

// errClientGone ends a wait whose client left: there is no one to answer.
var errClientGone = errors.New("client gone")

// pollWait waits, from the empty batch, for events until the timeout or
// the hub's stop, and returns the batch to answer.
func (s *Server) pollWait(ctx context.Context, sub *stream.Subscription, req subscribeRequest, batch stream.Batch) (stream.Batch, error) {
	timer := time.NewTimer(req.timeout)
	defer timer.Stop()
	for {
		select {
		case <-sub.C:
			if s.hub.Stopping() {
				return batch, nil
			}
			next, err := s.hub.Read(ctx, req.topics, batch.Cursor, req.limit)
			if err != nil {
				return batch, err
			}
			if len(next.Events) > 0 {
				return next, nil
			}
			batch.Cursor = next.Cursor
		case <-timer.C:
			return batch, nil
		case <-ctx.Done():
			return batch, errClientGone
		}
	}
}

// answerPoll writes batch and counts what it delivered; waited says its
// events arrived live.
func (s *Server) answerPoll(w http.ResponseWriter, r *http.Request, batch stream.Batch, waited bool) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	writeJSON(w, http.StatusOK, appendPollAnswer(nil, batch))
	info := requestInfoFrom(w)
	info.transport, info.events = "poll", len(batch.Events)
	if batch.Reset != "" {
		s.metrics.Resets.WithLabelValues(batch.Reset).Inc()
	}
	if n := len(batch.Events); n > 0 {
		s.metrics.Poll.Delivered.Add(float64(n))
		if waited {
			observeLatency(s.metrics.Poll.Latency, batch.Events)
		}
	}
}

// appendPollAnswer encodes {"events":[...],"cursor":N,"more":b,"reset":b}
// from the events' pre-encoded JSON.
func appendPollAnswer(b []byte, batch stream.Batch) []byte {
	n := 64
	for _, e := range batch.Events {
		n += len(e.JSON) + 1
	}
	if b == nil {
		b = make([]byte, 0, n)
	}
	b = append(b, `{"events":[`...)
	for i, e := range batch.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.JSON...)
	}
	// With events, the cursor is the last one's id; an empty answer
	// carries the position the read reached.
	cursor := batch.Cursor
	if n := len(batch.Events); n > 0 {
		cursor = batch.Events[n-1].ID
	}
	b = append(b, `],"cursor":`...)
	b = strconv.AppendInt(b, cursor, 10)
	b = append(b, `,"more":`...)
	b = strconv.AppendBool(b, batch.More)
	b = append(b, `,"reset":`...)
	b = strconv.AppendBool(b, batch.Reset != "")
	if batch.Reset != "" {
		b = append(b, `,"reset_reason":`...)
		b = stream.AppendJSONString(b, batch.Reset)
	}
	return append(b, "}\n"...)
}
