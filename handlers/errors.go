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

// errorCode is an error's stable snake_case code (docs/api.md "Errors").
// Every code is one of the constants below and has a status in statusOf.
type errorCode string

const (
	codeInvalidRequest       errorCode = "invalid_request"
	codeInvalidJSON          errorCode = "invalid_json"
	codeInvalidTopic         errorCode = "invalid_topic"
	codeInvalidType          errorCode = "invalid_type"
	codeInvalidKey           errorCode = "invalid_key"
	codeInvalidCursor        errorCode = "invalid_cursor"
	codeInvalidLimit         errorCode = "invalid_limit"
	codeInvalidTimeout       errorCode = "invalid_timeout"
	codeInvalidData          errorCode = "invalid_data"
	codeUnauthorized         errorCode = "unauthorized"
	codeForbidden            errorCode = "forbidden"
	codeNotFound             errorCode = "not_found"
	codeMethodNotAllowed     errorCode = "method_not_allowed"
	codeTooLarge             errorCode = "too_large"
	codeUnsupportedMediaType errorCode = "unsupported_media_type"
	codeTooManyRequests      errorCode = "too_many_requests"
	codeTooManySubscribers   errorCode = "too_many_subscribers"
	codeShuttingDown         errorCode = "shutting_down"
	codeStorageUnavailable   errorCode = "storage_unavailable"
	codeStorageFull          errorCode = "storage_full"
	codeInternalError        errorCode = "internal_error"
)

// Error is an error the API answers as JSON. Code is stable; Message is a
// sentence for a human.
type Error struct {
	Code    errorCode
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

func errorf(code errorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// statusOf maps error codes to HTTP statuses.
var statusOf = map[errorCode]int{
	codeInvalidRequest:       http.StatusBadRequest,
	codeInvalidJSON:          http.StatusBadRequest,
	codeInvalidTopic:         http.StatusBadRequest,
	codeInvalidType:          http.StatusBadRequest,
	codeInvalidKey:           http.StatusBadRequest,
	codeInvalidCursor:        http.StatusBadRequest,
	codeInvalidLimit:         http.StatusBadRequest,
	codeInvalidTimeout:       http.StatusBadRequest,
	codeInvalidData:          http.StatusBadRequest,
	codeUnauthorized:         http.StatusUnauthorized,
	codeForbidden:            http.StatusForbidden,
	codeNotFound:             http.StatusNotFound,
	codeMethodNotAllowed:     http.StatusMethodNotAllowed,
	codeTooLarge:             http.StatusRequestEntityTooLarge,
	codeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	codeTooManyRequests:      http.StatusTooManyRequests,
	codeTooManySubscribers:   http.StatusTooManyRequests,
	codeShuttingDown:         http.StatusServiceUnavailable,
	codeStorageUnavailable:   http.StatusServiceUnavailable,
	codeStorageFull:          http.StatusServiceUnavailable,
	codeInternalError:        http.StatusInternalServerError,
}

var (
	errShuttingDown = errorf(codeShuttingDown, "The server is shutting down; retry shortly.")
	errUnavailable  = errorf(codeStorageUnavailable, "The event store is unavailable; retry shortly.")
	errFull         = errorf(codeStorageFull, "The event store is full; retry later.")
	errHubFull      = errorf(codeTooManySubscribers, "The server has as many subscribers as it allows; retry shortly.")
	errInternal     = errorf(codeInternalError, "Something went wrong on the server.")
	errNoToken      = errorf(codeUnauthorized, "A token is required: send Authorization: Bearer <token> or ?token=<token>.")
	errBadToken     = errorf(codeUnauthorized, "The token is malformed, wrongly signed or expired.")
	errTokenNoScope = errorf(codeForbidden, "The token does not allow this on every requested topic.")
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
	case errors.Is(err, store.ErrClosed), errors.Is(err, stream.ErrStopped):
		return errShuttingDown
	case errors.Is(err, stream.ErrOverloaded):
		return errHubFull
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
		w.Header().Set("Retry-After", retryAfter(e.Code))
	}
	body := make([]byte, 0, 96+len(e.Message))
	body = append(body, `{"error":{"code":`...)
	body = stream.AppendJSONString(body, string(e.Code))
	body = append(body, `,"message":`...)
	body = stream.AppendJSONString(body, e.Message)
	body = append(body, "}}\n"...)
	writeJSON(w, status, body)
	return status
}

// retryAfter is the Retry-After of a 429 or 503, in seconds: a full disk
// is not freed within a second, so clients are not invited to hammer it.
func retryAfter(code errorCode) string {
	switch code {
	case codeStorageFull:
		return "30"
	case codeStorageUnavailable:
		return "5"
	default:
		return "1"
	}
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
// setJSONHeaders sets the headers of every JSON answer.
func setJSONHeaders(h http.Header) {
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = noSniff
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	setJSONHeaders(h)
	if len(body) > 2048 {
		// Beyond net/http's buffer it would switch to chunked instead.
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(status)
	w.Write(body)
}
