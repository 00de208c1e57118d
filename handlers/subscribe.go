package handlers

import (
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/tidings/tidings/stream"
)

// subscribeRequest is what both transports parse.
type subscribeRequest struct {
	topics  []string
	cursor  int64
	fromNow bool
	limit   int // events per read

	timeout     time.Duration // poll: the longest wait
	maxDuration time.Duration // SSE: the longest stream
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

// accept is the prologue of both transports: it parses a subscription
// request, with parse adding the transport's own parameters, and admits
// it (see admit). When ok is false the error has been answered.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, ps httprouter.Params, parse func(*http.Request, *subscribeRequest) *Error) (req subscribeRequest, addr string, overLimit, ok bool) {
	req, perr := parseSubscribe(r, ps)
	if perr == nil {
		perr = parse(r, &req)
	}
	if perr != nil {
		s.writeError(w, r, perr)
		return req, "", false, false
	}
	addr, overLimit, err := s.admit(r, req)
	if err != nil {
		s.writeError(w, r, err)
		return req, "", false, false
	}
	return req, addr, overLimit, true
}

// startCursor is where req starts: its cursor, or the hub's head.
func (s *Server) startCursor(req subscribeRequest) int64 {
	if req.fromNow {
		return s.hub.Head()
	}
	return req.cursor
}

// admit checks the request's token for its topics, then takes one of its
// address's subscription slots; release it with s.conns.release(addr).
func (s *Server) admit(r *http.Request, req subscribeRequest) (addr string, overLimit bool, err error) {
	if err := s.auth.CanSubscribe(bearer(r), req.topics); err != nil {
		return "", false, err
	}
	addr = s.limitKey(r)
	if !s.conns.acquire(addr) {
		return addr, true, nil
	}
	return addr, false, nil
}

// subscribe registers req's wake signal, before the first read so that no
// commit between the two is missed, then reads up to req.limit events
// from the starting cursor. The caller closes sub. A refusal by the hub
// is the *Error to answer; a failed read is returned as it is.
func (s *Server) subscribe(r *http.Request, req subscribeRequest) (sub *stream.Subscription, cursor int64, first stream.Batch, err error) {
	sub, err = s.hub.Subscribe(req.topics)
	if err != nil {
		return nil, 0, stream.Batch{}, s.apiError(r, err)
	}
	cursor = s.startCursor(req)
	first, err = s.hub.Read(r.Context(), req.topics, cursor, req.limit)
	if err != nil {
		sub.Close()
		return nil, 0, stream.Batch{}, err
	}
	return sub, cursor, first, nil
}
