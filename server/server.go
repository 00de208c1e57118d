// Package server assembles a running tidings from a Config: the event log
// (store), the fan-out hub (stream) and the HTTP API (handlers), with
// metrics. It is the one place that wires them, for the binary and for
// every test that needs a whole server.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/console"
	"github.com/tidings/tidings/handlers"
	"github.com/tidings/tidings/metrics"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/postgres"
	"github.com/tidings/tidings/stream"
)

// Server is a running tidings. Open it, serve its Handler (or call
// Serve), and Close it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   store.Log
	hub     *stream.Hub
	streams *stream.Streams
	api     *handlers.Server
	metrics *metrics.Metrics
	auth    *auth.Authorizer

	mu      sync.Mutex
	closing bool
	servers []*http.Server
}

// Open validates cfg, opens the store (creating the database if needed)
// and wires the hub and the API. Nothing listens yet. While another
// process holds the database file, Open waits for it (up to
// cfg.LockTimeout, or until ctx ends): a server that cannot write is
// never reachable, so its /readyz can never answer 200.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := auth.NewAuthorizer(cfg.Secret, cfg.PublicTopics)
	if err != nil {
		return nil, err
	}
	dbFile := cfg.DB
	if IsPostgresURL(cfg.DB) {
		dbFile = "" // no file to measure
	}
	s := &Server{cfg: cfg, log: cfg.Logger, auth: a, metrics: metrics.New(dbFile)}

	// Commits and prunes flow from the store's writer to the hub, which
	// wakes the subscribers; reads older than the hub's tail go back to
	// the store.
	s.hub = stream.NewHub(stream.HubOptions{MaxSubscribers: cfg.MaxSubscribers})
	st, err := openLog(ctx, cfg.DB, store.Options{
		LockTimeout:       cfg.LockTimeout,
		Retention:         cfg.Retention,
		MaxEventsPerTopic: cfg.MaxEventsPerTopic,
		PruneInterval:     cfg.PruneInterval,
		OnCommit:          s.hub.Committed,
		OnPrune:           s.hub.Pruned,
		Observer:          s.metrics,
		Logger:            cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s.store = st
	if err := s.hub.Attach(ctx, st); err != nil {
		st.Close(context.Background())
		return nil, err
	}

	// SSE streams over HTTP/1.1 are parked here once they have started.
	s.streams = stream.NewStreams(s.hub, stream.StreamsOptions{
		WriteTimeout: cfg.WriteTimeout,
		Observer:     handlers.DeliveryObserver(s.metrics),
	})
	s.api = handlers.New(handlers.Config{
		SSEMaxDuration:  cfg.SSEMaxDuration,
		SSERetry:        cfg.SSERetry,
		Heartbeat:       cfg.Heartbeat,
		WriteTimeout:    cfg.WriteTimeout,
		PollMaxTimeout:  cfg.PollMaxTimeout,
		MaxEventBytes:   cfg.MaxEventBytes,
		MaxRequestBytes: cfg.MaxRequestBytes,
		CORSOrigins:     cfg.CORSOrigins,
		Auth:            a,

		MaxSubscriptionsPerIP: cfg.MaxSubsPerIP,
		PublishRate:           cfg.PublishRate,
		PublishBurst:          cfg.PublishBurst,
		TrustedProxyHeader:    cfg.TrustedProxyHdr,
		Metrics:               s.metrics,
		NoMetricsRoute:        cfg.MetricsAddr != "",
		Logger:                cfg.Logger,
		Version:               cfg.Version,
		Streams:               s.streams,
	}, st, s.hub)
	if cfg.Console == "on" {
		// The page at / and its files; GET /v1/info and /v1/topics feed it.
		c := console.New()
		for _, path := range []string{"/", console.AssetsPrefix + "*asset"} {
			s.api.Handle(http.MethodGet, path, c)
			s.api.Handle(http.MethodHead, path, c)
		}
	}
	return s, nil
}

// Handler is the HTTP API, for Serve or an httptest server.
func (s *Server) Handler() http.Handler { return s.api }

// Open reports whether the server runs without a secret (anyone may
// publish and subscribe).
func (s *Server) Open() bool { return s.auth.Open() }

// Streams are the parked SSE streams, for tests that drop connections.
func (s *Server) Streams() *stream.Streams { return s.streams }

// Head is the largest id committed so far.
func (s *Server) Head() int64 { return s.hub.Head() }

// Store is the event log, for tests and tools that reach past HTTP.
func (s *Server) Store() store.Log { return s.store }

// Hub is the fan-out hub, for tests that count or stop subscriptions.
func (s *Server) Hub() *stream.Hub { return s.hub }

// Serve answers HTTP on ln until Close; it then returns
// http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, s.api) }

// ServeMetrics answers GET /metrics (and nothing else) on ln until Close,
// for a listener of its own (cfg.MetricsAddr); it then returns
// http.ErrServerClosed.
func (s *Server) ServeMetrics(ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	return s.serve(ln, mux)
}

func (s *Server) serve(ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler: h,
		// The whole request, headers and body, is read within
		// ReadTimeout of its first byte; the API lifts the bound for
		// streams and polls once their request is read.
		ReadTimeout:       s.cfg.ReadTimeout,
		ReadHeaderTimeout: min(10*time.Second, s.cfg.ReadTimeout),
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	return srv.Serve(ln)
}

// storeShare is the part of the shutdown budget kept for the store to
// commit what was acknowledged-to-be and close, whatever HTTP takes.
const storeShare = 4

// Close ends every stream with its final block and answers every waiting
// poll, stops the HTTP servers Serve started, commits what is queued and
// closes the store, within ctx. HTTP gets the budget less a quarter kept
// for the store; connections still open then are closed. The store is
// closed even when ctx ends first: appends it could not commit are
// answered with an error, never acknowledged.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	servers := s.servers
	s.mu.Unlock()

	// Streams and polls do not end on Shutdown alone: tell them first,
	// and stop waiting for request bodies that have not arrived.
	s.hub.Stop()
	s.api.Stop()
	httpCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		httpCtx, cancel = context.WithDeadline(ctx, deadline.Add(-time.Until(deadline)/storeShare))
		defer cancel()
	}
	// Parked streams are no longer net/http's: they end (final block
	// first) within the same budget.
	streamsDone := make(chan error, 1)
	go func() { streamsDone <- s.streams.Close(httpCtx) }()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(httpCtx); err != nil {
			errs = append(errs, fmt.Errorf("shut down http: %w", err))
			srv.Close()
		}
	}
	if err := <-streamsDone; err != nil {
		errs = append(errs, fmt.Errorf("end parked streams: %w", err))
	}
	if err := s.store.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// IsPostgresURL reports whether db (TIDINGS_DB) names a PostgreSQL
// database rather than a SQLite file.
func IsPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openLog opens the backend TIDINGS_DB names: a PostgreSQL database shared
// with other replicas, or a SQLite file.
func openLog(ctx context.Context, db string, opts store.Options) (store.Log, error) {
	if IsPostgresURL(db) {
		return postgres.Open(ctx, db, opts)
	}
	return store.OpenContext(ctx, db, opts)
}
