// Package servertest runs a whole tidings server (store, hub, API, as the
// binary wires them) inside a test, on a real SQLite file and a real
// loopback listener.
package servertest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings/server"
)

// Server is a running server and its HTTP listener.
type Server struct {
	*server.Server
	URL  string
	Addr string
	DB   string
	HTTP *httptest.Server
}

// Options choose what a test changes. The zero value is a server with the
// defaults on a fresh database in tb.TempDir() and a free port.
type Options struct {
	// Config changes the settings before the server opens.
	Config func(*server.Config)
	// DB is the database file; empty: a fresh one.
	DB string
	// Addr is the listen address; empty: 127.0.0.1:0. Reusing one just
	// freed is retried for a few seconds.
	Addr string
	// Wrap, if set, wraps the API handler (to record or count requests).
	Wrap func(http.Handler) http.Handler
}

// Start opens a server and serves it until the test ends.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	if o.DB == "" {
		o.DB = filepath.Join(tb.TempDir(), "tidings.db")
	}
	s, err := Open(o)
	if err != nil {
		tb.Fatalf("start server: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Open starts a server as Start does, for callers without a testing.TB
// (examples); stop it with Stop.
func Open(o Options) (*Server, error) {
	cfg := server.DefaultConfig()
	cfg.DB = o.DB
	if o.Config != nil {
		o.Config(&cfg)
	}
	srv, err := server.Open(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	ln, err := listen(o.Addr)
	if err != nil {
		srv.Close(context.Background())
		return nil, err
	}
	var h http.Handler = srv.Handler()
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	hs := httptest.NewUnstartedServer(h)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	return &Server{Server: srv, URL: hs.URL, Addr: ln.Addr().String(), DB: o.DB, HTTP: hs}, nil
}

func listen(addr string) (net.Listener, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(10 * time.Millisecond) // the port is not free yet: poll
	}
}

// Stop shuts the server down as SIGTERM does: streams end with their final
// block and polls answer, the store commits what is queued and closes,
// then the listener closes. Calling it twice is harmless.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Server.Close(ctx)
	s.HTTP.Close()
}

// Kill drops every connection at once, without final blocks, then stops.
func (s *Server) Kill() {
	s.HTTP.CloseClientConnections()
	// Parked streams are not net/http's: drop them too.
	dropped, cancel := context.WithCancel(context.Background())
	cancel()
	s.Server.Streams().Close(dropped)
	s.Stop()
}
