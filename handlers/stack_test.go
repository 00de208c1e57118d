//go:build !race

// The race detector enlarges every frame, so the 8 KB the test guards
// holds only in normal builds.

package handlers_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/tidings/tidings/server"
)

// TestIdleStreamStack guards why ServeHTTP calls the access log and the
// API directly, and why a stream's first flush is made before its loop:
// that flush formats the response headers deep in net/http, and a stream
// whose goroutine stack outgrows 8 KB there keeps 16 KB while it waits.
// It compares the stack memory an idle stream holds (with the access log
// on, as in production) with a minimal net/http SSE handler's: a doubled
// stack is 8 KB more per stream.
func TestIdleStreamStack(t *testing.T) {
	if testing.Short() {
		t.Skip("opens many connections")
	}
	cfg := server.DefaultConfig()
	cfg.DB = filepath.Join(t.TempDir(), "stack.db")
	cfg.MaxSubsPerIP = 0
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := server.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	tidings := httptest.NewServer(srv.Handler())
	t.Cleanup(tidings.Close)
	minimal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "retry: 1000\nid: 0\nevent: tidings.cursor\ndata: {\"cursor\":0}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(minimal.Close)

	// New goroutines' first stack size follows the stacks seen at the last
	// collection: hold it still while measuring.
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	base := idleStreamStack(t, minimal.Listener.Addr().String())
	got := idleStreamStack(t, tidings.Listener.Addr().String())
	t.Logf("stack per idle stream: %d bytes, minimal SSE handler %d", got, base)
	if got-base > 4<<10 {
		t.Errorf("an idle stream holds %d bytes of stack, %d more than a minimal SSE handler: its stack doubled before it went idle", got, got-base)
	}
}

// idleStreamStack opens streams to addr over raw connections (no client
// goroutines), reads each up to its starting cursor block and returns
// the stack memory each holds on the server, connections left open.
func idleStreamStack(t *testing.T, addr string) int64 {
	t.Helper()
	const streams = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range streams {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /v1/topics/idle/sse HTTP/1.1\r\nHost: tidings\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(c)
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(line, `data: {"cursor"`) {
				break
			}
		}
	}
	runtime.ReadMemStats(&after)
	return (int64(after.StackInuse) - int64(before.StackInuse)) / streams
}
