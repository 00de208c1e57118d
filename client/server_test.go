package client_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tidings "github.com/tidings/tidings/server"
	"github.com/tidings/tidings/server/servertest"
)

// server is a real tidings server in the test process, wired as the
// binary wires it, that counts the SSE requests it answers.
type server struct {
	*servertest.Server
	streams atomic.Int64
}

// fastConfig makes streams resume quickly in tests.
var fastConfig = func() tidings.Config {
	c := tidings.DefaultConfig()
	c.SSERetry = 20 * time.Millisecond
	c.Heartbeat = time.Second
	c.PublishRate = 0
	return c
}()

// openServer starts a server with cfg on the SQLite file db, listening on
// addr ("127.0.0.1:0" for any free port).
func openServer(db, addr string, cfg tidings.Config) (*server, error) {
	s := &server{}
	ts, err := servertest.Open(servertest.Options{
		DB:     db,
		Addr:   addr,
		Config: func(c *tidings.Config) { cfg.DB = c.DB; *c = cfg },
		Wrap: func(api http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if isStream(r) {
					s.streams.Add(1)
				}
				api.ServeHTTP(w, r)
			})
		},
	})
	s.Server = ts
	return s, err
}

// isStream reports whether r asks for an event stream.
func isStream(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, "/sse")
}

// startServer starts a server with cfg on a fresh database, stopped at the
// end of the test.
func startServer(tb testing.TB, cfg tidings.Config) *server {
	tb.Helper()
	s, err := openServer(filepath.Join(tb.TempDir(), "tidings.db"), "127.0.0.1:0", cfg)
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
	s, err := openServer(filepath.Join(dir, "tidings.db"), "127.0.0.1:0", fastConfig)
	if err != nil {
		panic(fmt.Sprintf("start server: %v", err))
	}
	return s.URL, func() {
		s.Stop()
		os.RemoveAll(dir)
	}
}
