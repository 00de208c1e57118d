package handlers

import (
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
	req, perr := parseSubscribe(r, ps)
	if perr != nil {
		s.writeError(w, r, perr)
		return
	}
	timeout := min(25*time.Second, s.cfg.PollMaxTimeout)
	if v, ok := queryValue(r.URL.RawQuery, "timeout"); ok {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs < 0 || secs != secs {
			s.writeError(w, r, errorf(codeInvalidTimeout, "timeout is a number of seconds from 0 to %g.", s.cfg.PollMaxTimeout.Seconds()))
			return
		}
		timeout = min(s.cfg.PollMaxTimeout, time.Duration(min(secs, 1e6)*float64(time.Second)))
	}
	limit := 100
	if v, ok := queryValue(r.URL.RawQuery, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.writeError(w, r, errorf(codeInvalidLimit, "limit is a whole number from 1 to 1000."))
			return
		}
		limit = n
	}

	addr, overLimit, aerr := s.admit(r, req)
	if aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	if overLimit {
		s.writeError(w, r, errorf(codeTooManySubscribers, "This address has as many open subscriptions as it may (%d); close one or retry shortly.", s.cfg.MaxSubscriptionsPerIP))
		return
	}
	defer s.conns.release(addr)

	sub, err := s.hub.Subscribe(req.topics)
	if err != nil {
		if errors.Is(err, stream.ErrStopped) {
			s.writeError(w, r, errShuttingDown)
		} else {
			s.writeError(w, r, errorf(codeTooManySubscribers, "The server has as many subscribers as it allows; retry shortly."))
		}
		return
	}
	defer sub.Close()
	s.metrics.Poll.Subscribers.Inc()
	defer s.metrics.Poll.Subscribers.Dec()

	cursor := req.cursor
	if req.fromNow {
		cursor = s.hub.Head()
	}
	ctx := r.Context()
	batch, err := s.hub.Read(ctx, req.topics, cursor, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	waited := len(batch.Events) == 0 && batch.Reset == "" && timeout > 0
	if waited {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
	wait:
		for {
			select {
			case <-sub.C:
				if s.hub.Stopping() {
					break wait
				}
				next, err := s.hub.Read(ctx, req.topics, batch.Cursor, limit)
				if err != nil {
					s.writeError(w, r, err)
					return
				}
				if len(next.Events) > 0 {
					batch = next
					break wait
				}
				batch.Cursor = next.Cursor
			case <-timer.C:
				break wait
			case <-ctx.Done():
				return
			}
		}
	}
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	writeJSON(w, http.StatusOK, appendPollAnswer(nil, batch))
	info := requestInfoFrom(r)
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
