package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings/handlers"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// server is a real tidings server in the test process: the store on a
// SQLite file, the hub and the HTTP API, wired as serve.go wires them.
type server struct {
	URL  string
	Addr string
	DB   string

	st   *store.Store
	hub  *stream.Hub
	http *httptest.Server
	// streams counts the SSE requests answered.
	streams atomic.Int64
}

// fastConfig makes streams resume quickly in tests.
var fastConfig = handlers.Config{SSERetry: 20 * time.Millisecond, Heartbeat: time.Second}

// openServer starts a server on the SQLite file db, listening on addr
// ("127.0.0.1:0" for any free port). Restarting on an address just freed
// is retried for a few seconds.
func openServer(db, addr string, cfg handlers.Config, sopts store.Options) (*server, error) {
	s := &server{DB: db}
	sopts.OnCommit = func(evs []store.Event) { s.hub.Committed(evs) }
	sopts.OnPrune = func(id int64) { s.hub.Pruned(id) }
	st, err := store.Open(db, sopts)
	if err != nil {
		return nil, err
	}
	head, err := st.Head(context.Background())
	if err != nil {
		st.Close(context.Background())
		return nil, err
	}
	s.st = st
	s.hub = stream.NewHub(st, stream.HubOptions{Head: head})
	api := handlers.New(cfg, st, s.hub)

	ln, err := listen(addr)
	if err != nil {
		st.Close(context.Background())
		return nil, err
	}
	s.http = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if filepath.Base(r.URL.Path) == "sse" {
			s.streams.Add(1)
		}
		api.ServeHTTP(w, r)
	}))
	s.http.Listener.Close()
	s.http.Listener = ln
	s.http.Start()
	s.URL, s.Addr = s.http.URL, ln.Addr().String()
	return s, nil
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
// block, then the store commits what is queued and closes.
func (s *server) Stop() {
	s.hub.Stop()
	s.http.Close()
	s.st.Close(context.Background())
}

// Kill drops every connection at once, without final blocks, then closes.
func (s *server) Kill() {
	s.http.CloseClientConnections()
	s.Stop()
}

// startServer starts a server on a fresh database, stopped at the end of
// the test.
func startServer(tb testing.TB, cfg handlers.Config) *server {
	tb.Helper()
	s, err := openServer(filepath.Join(tb.TempDir(), "tidings.db"), "127.0.0.1:0", cfg, store.Options{})
	if err != nil {
		tb.Fatalf("start server: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// exampleServer starts a server for an example and returns its URL and a
// function that stops it and removes its files.
func exampleServer() (string, func()) {
	dir, err := os.MkdirTemp("", "tidings-example-")
	if err != nil {
		panic(err)
	}
	s, err := openServer(filepath.Join(dir, "tidings.db"), "127.0.0.1:0", fastConfig, store.Options{})
	if err != nil {
		panic(fmt.Sprintf("start server: %v", err))
	}
	return s.URL, func() {
		s.Stop()
		os.RemoveAll(dir)
	}
}
