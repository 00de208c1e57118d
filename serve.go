package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/tidings/tidings/handlers"
	"github.com/tidings/tidings/metrics"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// Config is every setting, read from TIDINGS_* environment variables.
type Config struct {
	Addr              string        `envconfig:"ADDR" default:":8080" desc:"listen address"`
	DB                string        `envconfig:"DB" default:"data/tidings.db" desc:"SQLite file (its folder is created)"`
	SSEMaxDuration    time.Duration `envconfig:"SSE_MAX_DURATION" default:"50s" desc:"longest SSE response"`
	SSERetry          time.Duration `envconfig:"SSE_RETRY" default:"1s" desc:"the retry: hint sent to SSE clients"`
	Heartbeat         time.Duration `envconfig:"HEARTBEAT" default:"15s" desc:"idle comment interval on SSE"`
	WriteTimeout      time.Duration `envconfig:"WRITE_TIMEOUT" default:"10s" desc:"longest wait for one write to a subscriber"`
	PollMaxTimeout    time.Duration `envconfig:"POLL_MAX_TIMEOUT" default:"50s" desc:"cap on a long-poll timeout"`
	Retention         time.Duration `envconfig:"RETENTION" default:"24h" desc:"events older than this are pruned"`
	MaxEventsPerTopic int           `envconfig:"MAX_EVENTS_PER_TOPIC" default:"10000" desc:"older events beyond this are pruned"`
	PruneInterval     time.Duration `envconfig:"PRUNE_INTERVAL" default:"1m" desc:"how often the pruner runs"`
	MaxEventBytes     int           `envconfig:"MAX_EVENT_BYTES" default:"65536" desc:"largest data, encoded"`
	MaxRequestBytes   int64         `envconfig:"MAX_REQUEST_BYTES" default:"1048576" desc:"largest request body"`
	MaxSubscribers    int           `envconfig:"MAX_SUBSCRIBERS" default:"10000" desc:"concurrent SSE + poll subscribers"`
	Secret            string        `envconfig:"SECRET" desc:"HS256 key for tokens, at least 32 bytes; unset: open to anyone"`
	PublicTopics      []string      `envconfig:"PUBLIC_TOPICS" desc:"comma-separated topic patterns anyone may subscribe to"`
	CORSOrigins       []string      `envconfig:"CORS_ORIGINS" desc:"allowed browser origins, comma-separated (default * when open, none otherwise)"`
	MaxSubsPerIP      int           `envconfig:"MAX_SUBSCRIPTIONS_PER_IP" default:"100" desc:"concurrent SSE + poll requests per client address (0: no limit)"`
	PublishRate       float64       `envconfig:"PUBLISH_RATE" default:"1000" desc:"events published per second per token or address (0: no limit)"`
	PublishBurst      int           `envconfig:"PUBLISH_BURST" default:"2000" desc:"publish burst above the rate"`
	TrustedProxyHdr   string        `envconfig:"TRUSTED_PROXY_HEADER" desc:"header holding the client address, set by a trusted proxy (e.g. Fly-Client-IP)"`
	ShutdownTimeout   time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"10s" desc:"graceful shutdown bound"`
	LogLevel          slog.Level    `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat         string        `envconfig:"LOG_FORMAT" default:"auto" desc:"auto (text on a terminal, else json), text or json"`
}

// loadConfig reads and validates the environment.
func loadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("tidings", &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return c, fmt.Errorf("%s=%q is not a valid %s", pe.KeyName, pe.Value, kindOf(pe.TypeName))
		}
		return c, fmt.Errorf("configuration: %w", err)
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"TIDINGS_SSE_MAX_DURATION", c.SSEMaxDuration},
		{"TIDINGS_SSE_RETRY", c.SSERetry},
		{"TIDINGS_HEARTBEAT", c.Heartbeat},
		{"TIDINGS_WRITE_TIMEOUT", c.WriteTimeout},
		{"TIDINGS_POLL_MAX_TIMEOUT", c.PollMaxTimeout},
		{"TIDINGS_RETENTION", c.Retention},
		{"TIDINGS_PRUNE_INTERVAL", c.PruneInterval},
		{"TIDINGS_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			return c, fmt.Errorf("%s must be a positive duration such as 50s or 24h, not %s", p.name, p.d)
		}
	}
	switch {
	case c.MaxEventsPerTopic < 1:
		return c, errors.New("TIDINGS_MAX_EVENTS_PER_TOPIC must be at least 1")
	case c.MaxEventBytes < 1:
		return c, errors.New("TIDINGS_MAX_EVENT_BYTES must be at least 1")
	case c.MaxRequestBytes < 1:
		return c, errors.New("TIDINGS_MAX_REQUEST_BYTES must be at least 1")
	case c.MaxSubscribers < 1:
		return c, errors.New("TIDINGS_MAX_SUBSCRIBERS must be at least 1")
	case c.DB == "":
		return c, errors.New("TIDINGS_DB must name the SQLite file")
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		return c, fmt.Errorf("TIDINGS_LOG_FORMAT must be auto, text or json, not %q", c.LogFormat)
	}
	switch {
	case c.MaxSubsPerIP < 0:
		return c, errors.New("TIDINGS_MAX_SUBSCRIPTIONS_PER_IP must be 0 (no limit) or more")
	case c.PublishRate < 0 || c.PublishRate != c.PublishRate:
		return c, errors.New("TIDINGS_PUBLISH_RATE must be 0 (no limit) or more")
	case c.PublishRate > 0 && c.PublishBurst < store.MaxBatch:
		return c, fmt.Errorf("TIDINGS_PUBLISH_BURST must be at least %d, the largest batch", store.MaxBatch)
	}
	c.CORSOrigins = trimAll(c.CORSOrigins)
	c.PublicTopics = trimAll(c.PublicTopics)
	if len(c.CORSOrigins) == 0 && c.Secret == "" {
		c.CORSOrigins = []string{"*"}
	}
	if _, err := handlers.NewAuthorizer(c.Secret, c.PublicTopics); err != nil {
		return c, err
	}
	if c.Secret != "" && slices.Contains(c.CORSOrigins, "*") {
		return c, errors.New("TIDINGS_CORS_ORIGINS may be * only when no TIDINGS_SECRET is set: list the origins of your site, e.g. https://app.example.com")
	}
	return c, nil
}

// kindOf names a setting's type for a person.
func kindOf(typeName string) string {
	switch typeName {
	case "time.Duration", "Duration":
		return "duration: use Go syntax such as 50s, 1m30s or 24h"
	case "int", "int64":
		return "whole number"
	case "float64":
		return "number"
	case "slog.Level", "Level":
		return "log level: debug, info, warn or error"
	default:
		return typeName
	}
}

// trimAll trims the items of a comma-separated setting and drops empty ones.
func trimAll(list []string) []string {
	out := list[:0]
	for _, v := range list {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func newLogger(c Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	format := c.LogFormat
	if format == "auto" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// serve runs the server until ctx is cancelled, then shuts down within
// cfg.ShutdownTimeout: streams end with their final block, waiting polls
// answer, queued publishes commit, and the store closes.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	start := time.Now()
	auth, err := handlers.NewAuthorizer(cfg.Secret, cfg.PublicTopics)
	if err != nil {
		return err
	}
	m := metrics.New(cfg.DB)
	var hub *stream.Hub
	st, err := store.Open(cfg.DB, store.Options{
		Retention:         cfg.Retention,
		MaxEventsPerTopic: cfg.MaxEventsPerTopic,
		PruneInterval:     cfg.PruneInterval,
		OnCommit:          func(evs []store.Event) { hub.Committed(evs) },
		OnPrune:           func(id int64) { hub.Pruned(id) },
		Observer:          m,
		Logger:            log,
	})
	if err != nil {
		return err
	}
	head, err := st.Head(ctx)
	if err != nil {
		st.Close(context.Background())
		return err
	}
	hub = stream.NewHub(st, stream.HubOptions{Head: head, MaxSubscribers: cfg.MaxSubscribers})

	api := handlers.New(handlers.Config{
		SSEMaxDuration:  cfg.SSEMaxDuration,
		SSERetry:        cfg.SSERetry,
		Heartbeat:       cfg.Heartbeat,
		WriteTimeout:    cfg.WriteTimeout,
		PollMaxTimeout:  cfg.PollMaxTimeout,
		MaxEventBytes:   cfg.MaxEventBytes,
		MaxRequestBytes: cfg.MaxRequestBytes,
		CORSOrigins:     cfg.CORSOrigins,
		Auth:            auth,

		MaxSubscriptionsPerIP: cfg.MaxSubsPerIP,
		PublishRate:           cfg.PublishRate,
		PublishBurst:          cfg.PublishBurst,
		TrustedProxyHeader:    cfg.TrustedProxyHdr,
		Metrics:               m,
		Logger:                log,
	}, st, hub)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		st.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if auth.Open() {
		log.Warn("no TIDINGS_SECRET set: anyone who can reach this server may publish and subscribe")
	}
	log.Info("listening", "addr", ln.Addr().String(), "db", cfg.DB, "head", head, "startup", time.Since(start).Round(time.Microsecond).String())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		st.Close(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Streams and polls do not end on Shutdown alone: tell them first.
	hub.Stop()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("shut down http: %w", err))
		srv.Close()
	}
	if err := st.Close(sctx); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		log.Info("stopped cleanly")
	}
	return errors.Join(errs...)
}
