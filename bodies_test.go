package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawSend opens a connection to p, writes req as it is and returns the
// connection, bounded by waitFor.
func rawSend(t *testing.T, p *proc, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return c
}

// readAnswer reads one HTTP answer from c.
func readAnswer(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// A GET that announces a body it never sends is answered at once (400),
// on every route, and its connection closed; so is a publish whose body
// stops arriving, once the request read bound passes.
func TestBodiesThatNeverCome(t *testing.T) {
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "t.db"), "TIDINGS_READ_TIMEOUT=1s")
	for _, path := range []string{"/healthz", "/readyz", "/v1/topics/t/sse", "/v1/topics/t/poll?timeout=5"} {
		t.Run("GET "+path, func(t *testing.T) {
			c := rawSend(t, p, "GET "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
			res, body := readAnswer(t, c)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_request") {
				t.Errorf("got %d %s, want 400 invalid_request", res.StatusCode, body)
			}
			if n, err := c.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("after the answer: read %d, %v; want the connection closed", n, err)
			}
		})
	}
	t.Run("POST trickle", func(t *testing.T) {
		c := rawSend(t, p, "POST /v1/topics/t/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"da")
		res, body := readAnswer(t, c)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("got %d %s, want 400", res.StatusCode, body)
		}
	})
	if got := p.all(t, "t"); len(got) != 0 {
		t.Errorf("stored %d events, want none", len(got))
	}
}

// Graceful shutdown does not wait for bodies that never come: with a
// publish and a stream each holding back their body, SIGTERM still ends
// the server with status 0, and nothing is stored.
func TestShutdownDoesNotWaitForBodies(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "t.db")
	p := startServer(t, db, "TIDINGS_READ_TIMEOUT=10m", "TIDINGS_SHUTDOWN_TIMEOUT=4s")
	post := rawSend(t, p, "POST /v1/topics/t/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"da")
	sse := rawSend(t, p, "GET /v1/topics/t/sse HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
	// Both requests are read once the server answers one sent after them
	// on a connection of its own.
	if status, b, err := request(t.Context(), "GET", p.URL+"/healthz", ""); err != nil || status != http.StatusOK {
		t.Fatalf("healthz: %d %s %v", status, b, err)
	}
	if code := p.stop(t, syscall.SIGTERM, waitFor); code != 0 {
		t.Errorf("exit status: got %d, want 0", code)
	}
	for name, c := range map[string]net.Conn{"publish": post, "stream": sse} {
		if res, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil && res.StatusCode < 400 {
			t.Errorf("%s: got %d, want an error or a closed connection", name, res.StatusCode)
		}
	}
	q := startServer(t, db)
	if got := q.all(t, "t"); len(got) != 0 {
		t.Errorf("stored %d events, want none", len(got))
	}
}
