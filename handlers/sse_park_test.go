package handlers_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/server"
	"github.com/tidings/tidings/stream"
)

// TestSSEParkedAndGoroutinePaths runs one stream over HTTP/1.1, where it
// is parked once started, and over HTTP/2, where the connection cannot be
// taken and the stream keeps its goroutine: the same blocks, pings and
// final block either way.
func TestSSEParkedAndGoroutinePaths(t *testing.T) {
	t.Parallel()
	bothPaths(t, func(t *testing.T, h2 bool) {
		s := newTestServer(t, func(c *server.Config) { c.Heartbeat = 20 * time.Millisecond })
		base, client := s.reach(t, h2)
		ss := openSSEWith(t, client, base+"/v1/topics/both/sse?cursor=0", nil)
		res := ss.Res
		if want := map[bool]int{false: 1, true: 2}[h2]; res.ProtoMajor != want {
			t.Fatalf("protocol HTTP/%d, want HTTP/%d", res.ProtoMajor, want)
		}
		// A parked stream's connection is closed after its final
		// block, and the answer says so.
		if res.Close != !h2 {
			t.Errorf("Connection: close is %v, want %v", res.Close, !h2)
		}
		if first := ss.next(t); !first.IsCursor() {
			t.Fatalf("first block %q, want the cursor block", first.Raw)
		}
		s.waitActive(t, 1)
		// The stream is parked just after its starting block is flushed,
		// so the client may read that block first.
		want := map[bool]int{false: 1, true: 0}[h2]
		for deadline := time.Now().Add(waitFor); s.Server.Streams().Active() != want && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if parked := s.Server.Streams().Active(); parked != want {
			t.Errorf("%d streams parked, want %d", parked, want)
		}
		ids := s.publishN(t, "both", 3)
		var pings int
		for i := 0; i < len(ids); {
			it := ss.next(t)
			if it.Comment {
				pings++
				continue
			}
			if e := eventOf(t, it); e.ID != ids[i] {
				t.Fatalf("event %d: id %d, want %d", i, e.ID, ids[i])
			}
			i++
		}
		for pings == 0 {
			if it := ss.next(t); !it.Comment {
				t.Fatalf("idle stream: got %q, want a ping", it.Raw)
			}
			pings++
		}
		s.Server.Hub().Stop()
		rest := ss.rest(t)
		if len(rest) == 0 {
			t.Fatal("no final block")
		}
		last := rest[len(rest)-1]
		if cursor, end := cursorData(t, last); !last.IsCursor() || end != stream.EndShuttingDown || cursor != ids[2] {
			t.Errorf("final block %q, want shutting_down at %d", last.Raw, ids[2])
		}
	})
}

// TestSSEWithoutHijacker serves a stream to a ResponseWriter that cannot
// give up its connection: it is written by its own goroutine, to its end.
func TestSSEWithoutHijacker(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	id := s.publishN(t, "rec", 1)[0]
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/topics/rec/sse?cursor=0&max_duration=0.05", nil)
	s.Server.Handler().ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || rec.Header().Get("Connection") != "" {
		t.Errorf("status %d, Connection %q", rec.Code, rec.Header().Get("Connection"))
	}
	for _, want := range []string{`data: {"cursor":0}`, `"id":` + strconv.FormatInt(id, 10), `data: {"cursor":` + strconv.FormatInt(id, 10) + `,"end":"max_duration"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("body %q lacks %q", body, want)
		}
	}
}

// TestPollParkedAndGoroutinePaths: a poll that waits over HTTP/1.1 is
// parked and its answer closes the connection; over HTTP/2 it waits on
// its goroutine. Both answer the same.
func TestPollParkedAndGoroutinePaths(t *testing.T) {
	t.Parallel()
	bothPaths(t, func(t *testing.T, h2 bool) {
		s := newTestServer(t)
		base, client := s.reach(t, h2)
		head := s.publishN(t, "pp", 1)[0]
		type answer struct {
			res  *http.Response
			body pollAnswer
			err  error
		}
		done := make(chan answer, 1)
		go func() {
			res, err := client.Get(base + "/v1/topics/pp/poll?timeout=20")
			a := answer{res: res, err: err}
			if err == nil {
				defer res.Body.Close()
				a.err = json.NewDecoder(res.Body).Decode(&a.body)
			}
			done <- a
		}()
		s.waitActive(t, 1)
		if want := map[bool]int{false: 1, true: 0}[h2]; s.Server.Streams().Active() != want {
			t.Errorf("%d polls parked, want %d", s.Server.Streams().Active(), want)
		}
		id := s.publishN(t, "pp", 1)[0]
		var a answer
		select {
		case a = <-done:
		case <-time.After(waitFor):
			t.Fatal("no answer")
		}
		if a.err != nil {
			t.Fatal(a.err)
		}
		if a.res.StatusCode != http.StatusOK || a.res.Close != !h2 || a.res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("status %d, close %v, Content-Type %q", a.res.StatusCode, a.res.Close, a.res.Header.Get("Content-Type"))
		}
		if len(a.body.Events) != 1 || a.body.Events[0].ID != id || a.body.Cursor != id || id <= head {
			t.Errorf("answer %+v, want event %d", a.body, id)
		}
	})
}

// bothPaths runs f as a parallel subtest over HTTP/1.1, where a stream or
// a waiting poll is parked, and over HTTP/2, where the connection cannot
// be taken and it keeps its goroutine.
func bothPaths(t *testing.T, f func(t *testing.T, h2 bool)) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1 parked", true: "HTTP/2 goroutine"}[h2], func(t *testing.T) {
			t.Parallel()
			f(t, h2)
		})
	}
}

// reach returns the base URL and the client to reach s with: its own
// listener over HTTP/1.1, or with h2 another one over HTTP/2 (and TLS).
func (s *testServer) reach(t *testing.T, h2 bool) (string, *http.Client) {
	if !h2 {
		return s.URL, http.DefaultClient
	}
	hs := httptest.NewUnstartedServer(s.Server.Handler())
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	return hs.URL, hs.Client()
}

// TestParkedClientGoneFreesItsSlot: a client that closes its connection
// while its stream or poll is parked gives back its subscription and its
// address's slot at once, not at the next heartbeat (an hour here): the
// same address can open a stream again.
func TestParkedClientGoneFreesItsSlot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("elsewhere a departed client is noticed at the heartbeat")
	}
	t.Parallel()
	s := newTestServer(t, func(c *server.Config) {
		c.Heartbeat = time.Hour
		c.MaxSubsPerIP = 1
	})
	for _, path := range []string{"/v1/topics/gone/sse", "/v1/topics/gone/poll?timeout=3000"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: tidings\r\n\r\n", path); err != nil {
			t.Fatal(err)
		}
		s.waitActive(t, 1)
		for deadline := time.Now().Add(waitFor); s.Server.Streams().Active() != 1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not parked", path)
			}
		}
		conn.Close()
		s.waitActive(t, 0)
		if n := s.Server.Streams().Active(); n != 0 {
			t.Fatalf("%s: %d parked after the client left", path, n)
		}
	}
	ss := s.openSSE(t, "/v1/topics/gone/sse", nil)
	if first := ss.next(t); !first.IsCursor() || strings.Contains(first.Raw, "overloaded") {
		t.Fatalf("a new stream from the same address: first block %q, want a starting cursor block", first.Raw)
	}
}
