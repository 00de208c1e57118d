package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// Error is an error the API answers as JSON. Code is stable and
// snake_case; Message is a sentence for a human.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// statusOf maps error codes to HTTP statuses.
var statusOf = map[string]int{
	"invalid_request":        http.StatusBadRequest,
	"invalid_json":           http.StatusBadRequest,
	"invalid_topic":          http.StatusBadRequest,
	"invalid_type":           http.StatusBadRequest,
	"invalid_key":            http.StatusBadRequest,
	"invalid_cursor":         http.StatusBadRequest,
	"invalid_limit":          http.StatusBadRequest,
	"invalid_timeout":        http.StatusBadRequest,
	"invalid_data":           http.StatusBadRequest,
	"unauthorized":           http.StatusUnauthorized,
	"forbidden":              http.StatusForbidden,
	"not_found":              http.StatusNotFound,
	"method_not_allowed":     http.StatusMethodNotAllowed,
	"too_large":              http.StatusRequestEntityTooLarge,
	"unsupported_media_type": http.StatusUnsupportedMediaType,
	"too_many_requests":      http.StatusTooManyRequests,
	"too_many_subscribers":   http.StatusTooManyRequests,
	"shutting_down":          http.StatusServiceUnavailable,
	"storage_unavailable":    http.StatusServiceUnavailable,
	"storage_full":           http.StatusServiceUnavailable,
	"internal_error":         http.StatusInternalServerError,
}

var (
	errShuttingDown = errorf("shutting_down", "The server is shutting down; retry shortly.")
	errUnavailable  = errorf("storage_unavailable", "The event store is unavailable; retry shortly.")
	errFull         = errorf("storage_full", "The event store is full; retry later.")
	errInternal     = errorf("internal_error", "Something went wrong on the server.")
	errNoToken      = errorf("unauthorized", "A token is required: send Authorization: Bearer <token> or ?token=<token>.")
	errBadToken     = errorf("unauthorized", "The token is malformed, wrongly signed or expired.")
	errTokenNoScope = errorf("forbidden", "The token does not allow this on every requested topic.")
)

// apiError turns any error into the *Error the client sees. Internal causes
// are logged, never shown.
func (s *Server) apiError(r *http.Request, err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, auth.ErrNoToken):
		return errNoToken
	case errors.Is(err, auth.ErrBadToken):
		return errBadToken
	case errors.Is(err, auth.ErrNotAllowed):
		return errTokenNoScope
	case errors.Is(err, store.ErrClosed):
		return errShuttingDown
	case errors.Is(err, store.ErrFull):
		s.log.Error("storage full", "path", r.URL.Path, "err", err)
		return errFull
	case errors.Is(err, store.ErrUnavailable):
		s.log.Error("storage unavailable", "path", r.URL.Path, "err", err)
		return errUnavailable
	default:
		s.log.Error("internal error", "path", r.URL.Path, "err", err)
		return errInternal
	}
}

// writeError answers err as {"error":{"code","message"}} with its status.
// A request whose client is gone gets nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) (status int) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return 499 // the client closed the request; nothing is written
	}
	e := s.apiError(r, err)
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	body := make([]byte, 0, 96+len(e.Message))
	body = append(body, `{"error":{"code":`...)
	body = stream.AppendJSONString(body, e.Code)
	body = append(body, `,"message":`...)
	body = stream.AppendJSONString(body, e.Message)
	body = append(body, "}}\n"...)
	writeJSON(w, status, body)
	return status
}

// Header values shared by every JSON answer; net/http only reads them.
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	noStore         = []string{"no-store"}
	noSniff         = []string{"nosniff"}
)

// writeJSON answers body with status. The keys are already canonical, so
// they are assigned rather than Set (which allocates a slice per value);
// net/http adds the Content-Length of a body this small itself.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = noSniff
	if len(body) > 2048 {
		// Beyond net/http's buffer it would switch to chunked instead.
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(status)
	w.Write(body)
}
