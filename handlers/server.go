// Package handlers is tidings' HTTP API: publishing, bounded SSE,
// long-poll, health, and the JSON errors of every failure.
package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/metrics"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// Appender commits events; a nil error promises they are durable.
type Appender interface {
	Append(ctx context.Context, inputs []store.Input) ([]store.Result, error)
	Ping(ctx context.Context) error
}

// Store is what the API needs from the event log.
type Store interface {
	Appender
	TopicLister
}

// Hub is where subscriptions read and wait.
type Hub interface {
	Subscribe(topics []string) (*stream.Subscription, error)
	Read(ctx context.Context, topics []string, cursor int64, limit int) (stream.Batch, error)
	Head() int64
	MayBeExpired(cursor int64) bool
	Stopped() <-chan struct{}
	Stopping() bool
	Active() int
}

// Config holds the HTTP settings. Zero durations and sizes take the
// documented defaults (docs/api.md).
type Config struct {
	SSEMaxDuration  time.Duration
	SSERetry        time.Duration
	Heartbeat       time.Duration
	WriteTimeout    time.Duration
	PollMaxTimeout  time.Duration
	MaxEventBytes   int
	MaxRequestBytes int64
	// CORSOrigins are the allowed browser origins; "*" allows any.
	CORSOrigins []string
	// Auth checks tokens; nil means open mode.
	Auth *auth.Authorizer
	// MaxSubscriptionsPerIP bounds concurrent SSE + poll requests per
	// client address; 0 means unlimited.
	MaxSubscriptionsPerIP int
	// PublishRate and PublishBurst bound events published per second per
	// publisher: a token's subject (or the token), or the address without
	// one; a rate of 0 means unlimited. A token's tidings.rate claim sets
	// its own rate, with a burst of twice that.
	PublishRate  float64
	PublishBurst int
	// TrustedProxyHeader names a header holding the client's address (such
	// as Fly-Client-IP), set by a proxy in front; empty: the connection's.
	TrustedProxyHeader string
	// Metrics receives the API's metrics and is served on /metrics; nil
	// creates a fresh set.
	Metrics *metrics.Metrics
	// NoMetricsRoute leaves /metrics out of the API, when it is served on
	// a listener of its own.
	NoMetricsRoute bool
	Logger         *slog.Logger
	// Streams, if set, takes SSE streams served over HTTP/1.1 off net/http
	// once their starting block is flushed; without it, or where the
	// connection cannot be taken, each stream keeps its goroutine.
	Streams Parker
	// Version is what GET /v1/info reports.
	Version string
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.SSEMaxDuration, 50*time.Second)
	def(&c.SSERetry, time.Second)
	def(&c.Heartbeat, 15*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.PollMaxTimeout, 50*time.Second)
	if c.MaxEventBytes <= 0 {
		c.MaxEventBytes = 65536
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New("")
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Auth == nil {
		c.Auth, _ = auth.NewAuthorizer("", nil)
	}
}

// Server serves the API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   Store
	hub     Hub
	streams Parker
	auth    *auth.Authorizer
	metrics *metrics.Metrics
	conns   *connCounter
	rate    *rateLimiter
	router  *httprouter.Router

	// stopping ends, on Stop, the reads of request bodies still arriving.
	stopping   context.Context
	stopBodies context.CancelFunc
	// published holds the publish counters, looked up once.
	published struct{ created, duplicate prometheus.Counter }
}

// New returns the API handler.
func New(cfg Config, st Store, hub Hub) *Server {
	cfg.setDefaults()
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		store:   st,
		hub:     hub,
		streams: cfg.Streams,
		auth:    cfg.Auth,
		metrics: cfg.Metrics,
		conns:   newConnCounter(cfg.MaxSubscriptionsPerIP),
		rate:    newRateLimiter(),
	}
	s.stopping, s.stopBodies = context.WithCancel(context.Background())
	s.published.created = cfg.Metrics.Published.WithLabelValues("created")
	s.published.duplicate = cfg.Metrics.Published.WithLabelValues("duplicate")
	r := httprouter.New()
	r.POST("/v1/topics/:topics/events", s.publish)
	r.POST("/v1/events", s.publishBatch)
	r.GET("/v1/topics/:topics/sse", s.sse)
	r.GET("/v1/topics/:topics/poll", s.poll)
	r.GET("/v1/topics", s.topics)
	r.GET("/v1/info", s.info)
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	if !cfg.NoMetricsRoute {
		r.Handler("GET", "/metrics", cfg.Metrics.Handler())
	}
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(codeNotFound, "There is no route %s %s.", r.Method, truncate(r.URL.Path, 200)))
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(codeMethodNotAllowed, "%s is not allowed on %s; use %s.", r.Method, truncate(r.URL.Path, 200), w.Header().Get("Allow")))
	})
	r.PanicHandler = func(w http.ResponseWriter, r *http.Request, v any) {
		if v == http.ErrAbortHandler {
			panic(v)
		}
		s.log.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		s.writeError(w, r, errInternal)
	}
	s.router = r
	return s
}

// Stop ends the reads of request bodies still arriving: those publishes
// are answered 503 shutting_down and store nothing, so a client that sends
// its headers and never its body does not hold up a graceful shutdown.
// Publishes that begin later are refused the same way.
func (s *Server) Stop() { s.stopBodies() }

// Handle adds a route beside the API, such as the web console's pages.
func (s *Server) Handle(method, path string, h http.Handler) {
	s.router.Handler(method, path, h)
}

// ServeHTTP serves the API behind the access log. The calls are direct,
// not through handler values: every frame between net/http and a stream's
// first flush (which formats the response headers, deep in net/http)
// counts toward whether each stream's goroutine stack doubles to 16 KB.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.log.Enabled(r.Context(), slog.LevelInfo) {
		s.serveLogged(w, r)
		return
	}
	s.serveAPI(w, r)
}

// serveAPI answers CORS and hands the request to the router.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin != "" {
		allowed := s.allowOrigin(w, origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				s.writeError(w, r, errorf(codeForbidden, "Origin %s is not allowed.", strings.ReplaceAll(truncate(origin, 200), "\n", "")))
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, Last-Event-ID")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if r.URL.RawPath != "" {
		if err := encodedSlashTopic(r.URL.RawPath); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !s.readGet(w, r) {
		return
	}
	s.router.ServeHTTP(w, r)
}

// readGet settles the reading side of a GET or HEAD; false means it was
// answered. It is a function of its own so that its locals stay off the
// frame every stream keeps (see ServeHTTP).
func (s *Server) readGet(w http.ResponseWriter, r *http.Request) bool {
	if r.ContentLength != 0 {
		s.refuseBody(w, r)
		return false
	}
	if strings.HasPrefix(r.URL.Path, "/v1/topics/") {
		// A stream or a waiting poll outlives the server's bound on
		// reading a request (http.Server.ReadTimeout), which would
		// otherwise end it: the whole request is read by now.
		http.NewResponseController(w).SetReadDeadline(time.Time{})
	}
	return true
}

// encodedSlashTopic refuses a topic that holds a percent-encoded slash
// (a%2Fb): decoded, the path would not match a route and answer 404, when
// the name is what is wrong.
func encodedSlashTopic(rawPath string) *Error {
	rest, ok := strings.CutPrefix(rawPath, "/v1/topics/")
	if !ok {
		return nil
	}
	seg, _, _ := strings.Cut(rest, "/")
	if !strings.Contains(seg, "%2F") && !strings.Contains(seg, "%2f") {
		return nil
	}
	topics, err := url.PathUnescape(seg)
	if err != nil {
		topics = seg
	}
	for t := range strings.SplitSeq(topics, ",") {
		if !store.ValidTopic(t) {
			return topicError(t)
		}
	}
	return topicError(topics)
}

// refuseBody answers a GET or HEAD that announces a body, without reading
// it: net/http would otherwise wait for the body to arrive (and drain it)
// before answering, for as long as the client cares to hold it back. The
// connection is closed after the answer.
func (s *Server) refuseBody(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	// Closing the request body after the handler reads what is left of it;
	// a deadline in the past makes that read end at once.
	http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0))
	s.writeError(w, r, errorf(codeInvalidRequest, "A %s request carries no body; send none.", r.Method))
}

// allowOrigin sets the CORS response headers when origin may read answers.
func (s *Server) allowOrigin(w http.ResponseWriter, origin string) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	for _, o := range s.cfg.CORSOrigins {
		if o == "*" {
			h.Set("Access-Control-Allow-Origin", "*")
			return true
		}
		if strings.EqualFold(o, origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			return true
		}
	}
	return false
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`+"\n"))
}

// info handles GET /v1/info: what the web console shows about the server.
// It holds nothing secret: the version, the head, the open subscriptions
// and whether a token is needed.
func (s *Server) info(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	b := make([]byte, 0, 128)
	b = append(b, `{"version":`...)
	b = stream.AppendJSONString(b, s.cfg.Version)
	b = append(b, `,"head":`...)
	b = strconv.AppendInt(b, s.hub.Head(), 10)
	b = append(b, `,"subscribers":`...)
	b = strconv.AppendInt(b, int64(s.hub.Active()), 10)
	b = append(b, `,"open":`...)
	b = strconv.AppendBool(b, s.auth.Open())
	b = append(b, "}\n"...)
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.writeError(w, r, err)
		return
	}
	select {
	case <-s.hub.Stopped():
		s.writeError(w, r, errShuttingDown)
		return
	default:
	}
	writeJSON(w, http.StatusOK, []byte(`{"status":"ready"}`+"\n"))
}
