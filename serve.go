package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tidings/tidings/cli"
	"github.com/tidings/tidings/internal/linewriter"
	"github.com/tidings/tidings/server"
	"github.com/tidings/tidings/store/postgres"
)

func runServe(args []string) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			serveUsage(os.Stdout)
			return 0
		}
		fmt.Fprintf(os.Stderr, "tidings serve: unexpected argument %q (settings come from TIDINGS_* variables)\n", args[0])
		return 2
	}
	cfg, err := server.ConfigFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tidings:", err)
		return 2
	}
	// Log lines that come close together (an access line per request
	// under load) are written together, one write for many.
	logs := linewriter.New(os.Stderr)
	defer logs.Close()
	cfg.Logger = newLogger(cfg, logs)
	cfg.Version = cli.VersionString()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg); err != nil {
		cfg.Logger.Error("tidings stopped", "err", err)
		return 1
	}
	return 0
}

// serveUsage lists every setting with its default.
func serveUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: tidings serve\n\nSettings (environment variables):\n")
	for _, s := range server.Usage() {
		def := s.Default
		if def == "" {
			def = "(none)"
		}
		fmt.Fprintf(w, "  %-34s %-18s %s\n", s.Name, def, s.Desc)
	}
}

func newLogger(c server.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	format := c.LogFormat
	if format == "auto" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// serve opens the store, listens, and serves until ctx is cancelled; then
// it shuts down within cfg.ShutdownTimeout: streams end with their final
// block, waiting polls answer, queued publishes commit, the store closes.
func serve(ctx context.Context, cfg server.Config) error {
	start := time.Now()
	log := cfg.Logger
	srv, err := server.Open(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped while waiting for another process's database file:
			// nothing was served, nothing is lost.
			log.Info("stopped before taking the database file", "db", postgres.Redact(cfg.DB))
			return nil
		}
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		srv.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			srv.Close(context.Background())
			return fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsAddr, err)
		}
	}
	if srv.Open() {
		log.Warn("no TIDINGS_SECRET set: anyone who can reach this server may publish and subscribe", "addr", ln.Addr().String())
	}
	log.Info("listening", "addr", ln.Addr().String(), "open", srv.Open(), "db", postgres.Redact(cfg.DB), "head", srv.Head(), "startup", time.Since(start).Round(time.Microsecond).String())

	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	listeners := 1
	if metricsLn != nil {
		log.Info("serving metrics", "addr", metricsLn.Addr().String())
		listeners++
		go func() { served <- srv.ServeMetrics(metricsLn) }()
	}
	select {
	case err := <-served:
		srv.Close(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Close(sctx); err != nil {
		return err
	}
	for range listeners {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	}
	log.Info("stopped cleanly")
	return nil
}
