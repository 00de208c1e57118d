package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// requestInfo is what a handler tells the access log about its request.
type requestInfo struct {
	transport string // publish, sse, poll
	events    int    // events published or delivered
	end       string // why an SSE response ended
	// start is set by the access log: when the request arrived.
	start time.Time
	// parked is set by a stream taken off net/http: its line is written
	// when it ends, not when its handler returns.
	parked bool
}

// requestInfoFrom returns the request's info, carried by the access log's
// writer (not the request's context: a context value would cost a copy of
// the request); handlers may fill it in. Without the access log (logging
// below info, or a bare handler in a test) it is a throwaway.
func requestInfoFrom(w http.ResponseWriter) *requestInfo {
	if sw, ok := w.(*statusWriter); ok {
		return &sw.info
	}
	return &requestInfo{}
}

// statusWriter records the status and size of an answer. It unwraps, so
// http.ResponseController still reaches Flush and the write deadlines.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	info   requestInfo // allocated with the writer: one allocation less
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveLogged serves r and then writes its access line: one per request,
// when it ends, so for a stream it is the stream's summary. The query is
// logged with any token redacted.
func (s *Server) serveLogged(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	info := &sw.info
	info.start = start
	s.serveAPI(sw, r)
	if !info.parked {
		s.logRequest(r, sw, info, start)
	}
}

// logRequest writes the access line. It is its own function so that its
// locals are not on the stack while the request is served.
func (s *Server) logRequest(r *http.Request, sw *statusWriter, info *requestInfo, start time.Time) {
	s.logLine(r.Context(), accessLine{
		method: r.Method,
		path:   r.URL.Path,
		query:  r.URL.RawQuery,
		client: s.clientAddr(r),
		status: sw.status,
		bytes:  sw.bytes,
		start:  start,
	}, info)
}

// accessLine is what the access line says about a request besides its
// requestInfo; a parked stream keeps it instead of its request.
type accessLine struct {
	method, path, query, client string
	status                      int
	bytes                       int64
	start                       time.Time
}

func (s *Server) logLine(ctx context.Context, l accessLine, info *requestInfo) {
	h := s.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// The record is made here rather than by Logger.LogAttrs, which would
	// look up its caller's program counter for every line: the access
	// line has no source to show.
	now := time.Now()
	// One AddAttrs call: a record holds five attributes inline, and each
	// call past those grows its overflow slice.
	attrs := [10]slog.Attr{
		slog.String("method", l.method),
		slog.String("path", l.path),
		slog.Int("status", l.status),
		slog.Int64("bytes", l.bytes),
		slog.Duration("duration", now.Sub(l.start)),
		slog.String("client", l.client),
	}
	k := 6
	if l.query != "" {
		attrs[k] = slog.String("query", redactQuery(l.query))
		k++
	}
	if info.transport != "" {
		attrs[k], attrs[k+1] = slog.String("transport", info.transport), slog.Int("events", info.events)
		k += 2
	}
	if info.end != "" {
		attrs[k] = slog.String("end", info.end)
		k++
	}
	rec := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	rec.AddAttrs(attrs[:k]...)
	h.Handle(ctx, rec)
}

// redactQuery replaces the value of every token parameter.
func redactQuery(raw string) string {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "(unparsable)"
	}
	if q.Has("token") {
		q.Set("token", "REDACTED")
	}
	return q.Encode()
}
