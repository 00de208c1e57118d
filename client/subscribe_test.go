package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/client"
	tidings "github.com/tidings/tidings/server"
)

func newClient(t *testing.T, url string, opts client.Options) *client.Client {
	t.Helper()
	c, err := client.New(url, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", url, err)
	}
	return c
}

// collect runs sub.Next in a goroutine and sends what it returns on the
// channel, until the subscription ends.
type result struct {
	ev  client.Event
	err error
}

func collect(sub *client.Subscription) <-chan result {
	out := make(chan result, 1024)
	go func() {
		defer close(out)
		for {
			ev, err := sub.Next()
			out <- result{ev, err}
			var reset *client.Reset
			if err != nil && !errors.As(err, &reset) {
				return
			}
		}
	}()
	return out
}

// receiveUntil reads events from results until one with id last arrives,
// failing on any error or after the deadline.
func receiveUntil(t *testing.T, results <-chan result, last int64) []int64 {
	t.Helper()
	var got []int64
	deadline := time.After(60 * time.Second)
	for {
		select {
		case r, ok := <-results:
			if !ok {
				t.Fatalf("subscription ended after %d events, before id %d", len(got), last)
			}
			if r.err != nil {
				t.Fatalf("Next: %v (after ids %v)", r.err, tail(got))
			}
			got = append(got, r.ev.ID)
			if r.ev.ID >= last {
				return got
			}
		case <-deadline:
			t.Fatalf("timed out waiting for id %d; got %d events, last %v", last, len(got), tail(got))
		}
	}
}

func tail(ids []int64) []int64 {
	if len(ids) > 5 {
		return ids[len(ids)-5:]
	}
	return ids
}

// checkExactlyOnce compares received ids with acknowledged ones.
func checkExactlyOnce(t *testing.T, got, acked []int64) {
	t.Helper()
	want := slices.Clone(acked)
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.IsSorted(got) {
		t.Errorf("ids out of order: %v", got)
	}
	if dup := len(got) - len(slices.Compact(slices.Clone(got))); dup > 0 {
		t.Errorf("got %d duplicate ids", dup)
	}
	if !slices.Equal(got, want) {
		missing := []int64{}
		for _, id := range want {
			if !slices.Contains(got, id) {
				missing = append(missing, id)
			}
		}
		t.Errorf("got %d events, want %d acknowledged ones; missing %v", len(got), len(want), missing)
	}
}

func TestSubscribeResumesAcrossBoundedResponses(t *testing.T) {
	t.Parallel()
	cfg := fastConfig
	cfg.SSEMaxDuration = 100 * time.Millisecond
	srv := startServer(t, cfg)
	c := newClient(t, srv.URL, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	sub := c.Subscribe(ctx, []string{"a", "b"}, client.After(0))
	defer sub.Close()
	results := collect(sub)

	// Publish to the subscribed topics and to one that is not, until the
	// subscriber has been through several responses.
	var acked []int64
	for i := 0; i < 150 || srv.streams.Load() < 4; i++ {
		topic := []string{"a", "b", "other"}[i%3]
		p, err := c.Publish(ctx, topic, i, client.PublishOptions{})
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if topic != "other" {
			acked = append(acked, p.ID)
		}
	}
	got := receiveUntil(t, results, acked[len(acked)-1])
	checkExactlyOnce(t, got, acked)
	if n := srv.streams.Load(); n < 4 {
		t.Errorf("got %d SSE responses, want at least 4", n)
	}
}

func TestSubscribeReset(t *testing.T) {
	t.Parallel()
	t.Run("cursor ahead", func(t *testing.T) {
		t.Parallel()
		_, c := serverWithEvents(t, fastConfig, 3)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sub := c.Subscribe(ctx, []string{"t"}, client.After(100))
		defer sub.Close()
		nextIsReset(t, sub, client.Reset{Reason: "cursor_ahead", Cursor: 3})
		if got, want := sub.Cursor(), client.After(3); got != want {
			t.Errorf("cursor after reset: got %v, want %v", got, want)
		}
		p := mustPublish(t, c, "t", "after the reset")
		ev, err := sub.Next()
		if err != nil || ev.ID != p.ID || string(ev.Data) != `"after the reset"` {
			t.Errorf("got %d %s, %v; want %d \"after the reset\"", ev.ID, ev.Data, err, p.ID)
		}
	})
	t.Run("cursor expired", func(t *testing.T) {
		t.Parallel()
		pruneConfig := fastConfig
		pruneConfig.MaxEventsPerTopic = 2
		pruneConfig.PruneInterval = time.Hour
		srv, c := serverWithEvents(t, pruneConfig, 5)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := srv.Store().Prune(ctx); err != nil {
			t.Fatal(err)
		}
		sub := c.Subscribe(ctx, []string{"t"}, client.After(1))
		defer sub.Close()
		nextIsReset(t, sub, client.Reset{Reason: "cursor_expired", Cursor: 3})
		for _, want := range []int64{4, 5} {
			if ev, err := sub.Next(); err != nil || ev.ID != want {
				t.Errorf("got id %d, %v; want %d", ev.ID, err, want)
			}
		}
	})
}

// serverWithEvents starts a server with cfg and returns it with a client
// that has published the numbers 0 to n-1 on topic t.
func serverWithEvents(t *testing.T, cfg tidings.Config, n int) (*server, *client.Client) {
	t.Helper()
	srv := startServer(t, cfg)
	c := newClient(t, srv.URL, client.Options{})
	for i := range n {
		mustPublish(t, c, "t", i)
	}
	return srv, c
}

// nextIsReset wants the next answer of sub to be the reset want.
func nextIsReset(t *testing.T, sub *client.Subscription, want client.Reset) {
	t.Helper()
	_, err := sub.Next()
	var reset *client.Reset
	if !errors.As(err, &reset) {
		t.Fatalf("Next: got %v, want a *client.Reset", err)
	}
	if *reset != want {
		t.Errorf("got %+v, want %+v", *reset, want)
	}
}

func mustPublish(t *testing.T, c *client.Client, topic string, data any) client.Published {
	t.Helper()
	p, err := c.Publish(context.Background(), topic, data, client.PublishOptions{})
	if err != nil {
		t.Fatalf("publish to %s: %v", topic, err)
	}
	return p
}

func TestSubscribeFromNow(t *testing.T) {
	t.Parallel()
	srv := startServer(t, fastConfig)
	c := newClient(t, srv.URL, client.Options{})
	mustPublish(t, c, "t", "before")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub := c.Subscribe(ctx, []string{"t"}, client.FromNow())
	defer sub.Close()
	if got := sub.Cursor(); got != client.FromNow() {
		t.Errorf("cursor before connecting: got %v, want now", got)
	}
	results := collect(sub)
	waitFor(t, "the subscriber to connect", func() bool { return srv.Hub().Active() > 0 })
	p := mustPublish(t, c, "t", "after")
	r := <-results
	if r.err != nil || r.ev.ID != p.ID {
		t.Fatalf("got %d, %v; want %d", r.ev.ID, r.err, p.ID)
	}
	if got, want := sub.Cursor(), client.After(p.ID); got != want {
		t.Errorf("cursor: got %v, want %v", got, want)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}

// The server is stopped and started again on the same database file and
// address while a subscriber follows and a publisher keeps publishing
// (retrying with idempotency keys): every acknowledged event arrives once.
func TestSubscribeAcrossServerRestart(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"graceful", "abrupt"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "tidings.db")
			srv, err := openServer(db, "127.0.0.1:0", fastConfig)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			current := srv
			defer func() { mu.Lock(); current.Stop(); mu.Unlock() }()

			c := newClient(t, srv.URL, client.Options{MaxBackoff: 200 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			sub := c.Subscribe(ctx, []string{"t"}, client.After(0))
			defer sub.Close()
			results := collect(sub)

			const total, restartAt = 200, 80
			var acked []int64
			for i := range total {
				if i == restartAt {
					mu.Lock()
					if how == "graceful" {
						current.Stop()
					} else {
						current.Kill()
					}
					next, err := openServer(db, srv.Addr, fastConfig)
					if err != nil {
						mu.Unlock()
						t.Fatalf("restart on %s: %v", srv.Addr, err)
					}
					current = next
					mu.Unlock()
				}
				acked = append(acked, publishRetrying(t, ctx, c, "t", i))
			}
			got := receiveUntil(t, results, acked[len(acked)-1])
			checkExactlyOnce(t, got, acked)
		})
	}
}

// publishRetrying publishes with an idempotency key until the server
// acknowledges, as a careful publisher does across a restart.
func publishRetrying(t *testing.T, ctx context.Context, c *client.Client, topic string, i int) int64 {
	t.Helper()
	for {
		p, err := c.Publish(ctx, topic, i, client.PublishOptions{Key: fmt.Sprint("k", i)})
		if err == nil {
			return p.ID
		}
		if ctx.Err() != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		time.Sleep(10 * time.Millisecond) // the server is restarting: retry
	}
}

func TestSubscribeErrors(t *testing.T) {
	t.Parallel()
	srv := startServer(t, fastConfig)
	c := newClient(t, srv.URL, client.Options{})

	t.Run("bad topic is final", func(t *testing.T) {
		t.Parallel()
		sub := c.Subscribe(t.Context(), []string{"bad topic"}, client.After(0))
		defer sub.Close()
		_, err := sub.Next()
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "invalid_topic" || e.Message == "" {
			t.Fatalf("got %#v, want a 400 invalid_topic *client.Error", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		t.Parallel()
		sub := c.Subscribe(t.Context(), []string{"t"}, client.After(0))
		results := collect(sub)
		waitFor(t, "a subscriber", func() bool { return srv.Hub().Active() > 0 })
		sub.Close()
		r := <-results
		if !errors.Is(r.err, client.ErrClosed) {
			t.Fatalf("got %v, want %v", r.err, client.ErrClosed)
		}
	})
}

// failingProxy answers the first n SSE requests with status, then passes
// requests on to the server; it records the Authorization headers seen.
type failingProxy struct {
	n, status int
	seen      atomic.Int64
	mu        sync.Mutex
	auth      []string
	next      http.Handler
}

func (p *failingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.auth = append(p.auth, r.Header.Get("Authorization"))
	p.mu.Unlock()
	if isStream(r) && int(p.seen.Add(1)) <= p.n {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(p.status)
		fmt.Fprint(w, "<html>bad gateway</html>")
		return
	}
	p.next.ServeHTTP(w, r)
}

func TestSubscribeRetriesTemporaryFailures(t *testing.T) {
	t.Parallel()
	srv := startServer(t, fastConfig)
	target, _ := url.Parse(srv.URL)
	proxy := &failingProxy{n: 3, status: http.StatusBadGateway, next: httputil.NewSingleHostReverseProxy(target)}
	front := httptest.NewServer(proxy)
	defer front.Close()

	c := newClient(t, front.URL, client.Options{Token: "tok", MaxBackoff: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := mustPublish(t, c, "t", 1)
	sub := c.Subscribe(ctx, []string{"t"}, client.After(0))
	defer sub.Close()
	ev, err := sub.Next()
	if err != nil || ev.ID != p.ID {
		t.Fatalf("got %d, %v; want %d", ev.ID, err, p.ID)
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if len(proxy.auth) < 4 {
		t.Errorf("got %d requests, want at least 4 (3 failures, then success)", len(proxy.auth))
	}
	for i, a := range proxy.auth {
		if a != "Bearer tok" {
			t.Errorf("request %d: Authorization %q, want %q", i, a, "Bearer tok")
		}
	}
}

// A connection that goes silent (no heartbeat either) is dropped after the
// idle timeout and resumed from the cursor.
func TestSubscribeDropsSilentConnection(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	release := make(chan struct{})
	defer close(release)
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		if n == 1 {
			fmt.Fprint(w, "retry: 10\nid: 5\nevent: tidings.cursor\ndata: {\"cursor\":5}\n\nid: 6\ndata: {\"id\":6,\"topic\":\"t\",\"type\":\"message\",\"data\":1,\"time\":\"2026-01-01T00:00:00.000Z\"}\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		// Later requests answer honestly from the cursor they carry: under
		// load the idle timeout may fire before event 6 was read, and then
		// the resume starts at 5.
		cursor, err := strconv.ParseInt(r.URL.Query().Get("cursor"), 10, 64)
		if err != nil || cursor < 5 || cursor > 7 {
			t.Errorf("resumed with cursor %q, want 5..7", r.URL.Query().Get("cursor"))
			return
		}
		fmt.Fprintf(w, "retry: 10\nid: %d\nevent: tidings.cursor\ndata: {\"cursor\":%d}\n\n", cursor, cursor)
		for id := cursor + 1; id <= 7; id++ {
			fmt.Fprintf(w, "id: %d\ndata: {\"id\":%d,\"topic\":\"t\",\"type\":\"message\",\"data\":1,\"time\":\"2026-01-01T00:00:00.000Z\"}\n\n", id, id)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done() // quiet until the client leaves
	}))
	defer silent.Close()

	c := newClient(t, silent.URL, client.Options{IdleTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub := c.Subscribe(ctx, []string{"t"}, client.After(5))
	defer sub.Close()
	var got []int64
	for range 2 {
		ev, err := sub.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got = append(got, ev.ID)
	}
	if want := []int64{6, 7}; !slices.Equal(got, want) {
		t.Errorf("got ids %v, want %v", got, want)
	}
	if n := calls.Load(); n < 2 {
		t.Errorf("got %d requests, want a reconnection", n)
	}
}
