package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/server"
	"github.com/tidings/tidings/stream"
	"github.com/tidings/tidings/stream/streamtest"
)

func TestSSEFraming(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	pre := s.publish(t, "orders", `{"data":{"before":true}}`)

	// Ask for gzip explicitly so the transport does not undo a compression.
	ss := s.openSSE(t, "/v1/topics/orders/sse", http.Header{"Accept-Encoding": {"gzip"}})

	t.Run("headers", func(t *testing.T) {
		res := ss.Res
		streamtest.Answer(t, res, http.StatusOK, map[string]string{
			"Content-Type":      "text/event-stream; charset=utf-8",
			"Cache-Control":     "no-cache",
			"X-Accel-Buffering": "no",
			"Content-Encoding":  "",
			"Content-Length":    "",
		})
		if res.ContentLength != -1 {
			t.Errorf("ContentLength: got %d, want unknown (-1)", res.ContentLength)
		}
		if got := strings.Join(res.TransferEncoding, ","); got != "chunked" {
			t.Errorf("Transfer-Encoding: got %q, want chunked", got)
		}
		if res.ProtoMajor != 1 || res.ProtoMinor != 1 {
			t.Errorf("protocol: got %s, want HTTP/1.1", res.Proto)
		}
	})

	// The starting block arrives before anything is published: it was
	// flushed at once.
	t.Run("retry then starting cursor block", func(t *testing.T) {
		first := ss.next(t)
		if want := "retry: 1000\n" + cursorBlockRaw(pre.ID, ""); first.Raw != want {
			t.Errorf("first block: got %q, want %q", first.Raw, want)
		}
	})

	t.Run("event blocks", func(t *testing.T) {
		custom := s.publish(t, "orders", `{"data":{"a":[1, 2, {"b":"c\nd"}]},"type":"order.paid"}`)
		plain := s.publish(t, "orders", `{"data":"text"}`)
		pl, _ := s.poll(t, "orders", "?cursor="+strconv.FormatInt(pre.ID, 10))

		got1 := ss.nextBlock(t)
		e1 := eventOf(t, got1)
		wantRaw1 := fmt.Sprintf("id: %d\nevent: order.paid\ndata: %s\n\n", custom.ID, pl.Events[0].raw(t))
		if got1.Raw != wantRaw1 {
			t.Errorf("typed event block: got %q, want %q", got1.Raw, wantRaw1)
		}
		if e1.Topic != "orders" || e1.Type != "order.paid" || string(e1.Data) != `{"a":[1,2,{"b":"c\nd"}]}` || e1.Time != custom.Time {
			t.Errorf("typed event: got %+v, want topic orders, type order.paid, compact data, time %s", e1, custom.Time)
		}

		got2 := ss.nextBlock(t)
		e2 := eventOf(t, got2)
		wantRaw2 := fmt.Sprintf("id: %d\ndata: %s\n\n", plain.ID, pl.Events[1].raw(t))
		if got2.Raw != wantRaw2 {
			t.Errorf("message block (no event line): got %q, want %q", got2.Raw, wantRaw2)
		}
		if e2.Type != "message" || string(e2.Data) != `"text"` {
			t.Errorf("message event: got %+v", e2)
		}
	})
}

// With ?untyped=1 no event block has an event line, so an EventSource's
// onmessage sees every event; the type stays in the data and the control
// blocks keep theirs.
func TestSSEUntyped(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, func(c *server.Config) { c.SSEMaxDuration = 300 * time.Millisecond })
	custom := s.publish(t, "orders", `{"data":{"n":1},"type":"order.paid"}`)
	plain := s.publish(t, "orders", `{"data":"text"}`)
	pl, _ := s.poll(t, "orders", "?cursor=0")

	ss := s.openSSE(t, "/v1/topics/orders/sse?cursor=0&untyped=1", nil)
	blocks := ss.rest(t)
	if len(blocks) != 4 {
		t.Fatalf("blocks: got %d, want start, 2 events, final", len(blocks))
	}
	if got, want := blocks[0].Raw, "retry: 1000\n"+cursorBlockRaw(0, ""); got != want {
		t.Errorf("start: got %q, want %q", got, want)
	}
	for i, p := range []published{custom, plain} {
		b := blocks[1+i]
		if want := fmt.Sprintf("id: %d\ndata: %s\n\n", p.ID, pl.Events[i].raw(t)); b.Raw != want {
			t.Errorf("event %d: got %q, want %q", i, b.Raw, want)
		}
		if e := eventOf(t, b); e.Type != pl.Events[i].Type {
			t.Errorf("event %d type in the data: got %q, want %q", i, e.Type, pl.Events[i].Type)
		}
	}
	if got, want := blocks[3].Raw, cursorBlockRaw(plain.ID, stream.EndMaxDuration); got != want {
		t.Errorf("final: got %q, want %q", got, want)
	}
}

// raw re-encodes a poll event the way the server writes it, to compare
// the SSE data line with the long-poll object byte for byte.
func (e wireEvent) raw(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf(`{"id":%d,"topic":%q,"type":%q,"data":%s,"time":%q}`, e.ID, e.Topic, e.Type, e.Data, e.Time)
}

func TestSSEHeartbeat(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, func(c *server.Config) { c.Heartbeat = 20 * time.Millisecond })
	ss := s.openSSE(t, "/v1/topics/idle/sse?cursor=0", nil)
	if first := ss.next(t); !first.IsCursor() {
		t.Fatalf("first block: got %q, want a cursor block", first.Raw)
	}
	// Two pings in a row prove no blank line follows a ping: the reader
	// fails on a blank line that would dispatch an empty event.
	for i := range 2 {
		if it := ss.next(t); it.Raw != ": ping\n" {
			t.Fatalf("idle item %d: got %q, want %q", i, it.Raw, ": ping\n")
		}
	}
	p := s.publish(t, "idle", `{"data":1}`)
	if e := eventOf(t, ss.nextBlock(t)); e.ID != p.ID {
		t.Errorf("after pings: got event %d, want %d", e.ID, p.ID)
	}
}

func TestSSEMaxDuration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		config time.Duration
		query  string
	}{
		{"query asks for less", 30 * time.Second, "&max_duration=0.2"},
		{"config bound", 200 * time.Millisecond, ""},
		{"query cannot ask for more", 200 * time.Millisecond, "&max_duration=3600"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, func(c *server.Config) { c.SSEMaxDuration = tc.config })
			p := s.publishN(t, "t", 3)
			ss := s.openSSE(t, "/v1/topics/t/sse?cursor=1"+tc.query, nil)
			blocks := ss.rest(t)
			if len(blocks) != 4 {
				t.Fatalf("blocks: got %d, want start, 2 events, final", len(blocks))
			}
			if got, want := blocks[0].Raw, "retry: 1000\n"+cursorBlockRaw(1, ""); got != want {
				t.Errorf("start: got %q, want %q", got, want)
			}
			for i, b := range blocks[1:3] {
				if e := eventOf(t, b); e.ID != p[i+1] {
					t.Errorf("event %d: got id %d, want %d", i, e.ID, p[i+1])
				}
			}
			if got, want := blocks[3].Raw, cursorBlockRaw(p[2], "max_duration"); got != want {
				t.Errorf("final block: got %q, want %q", got, want)
			}
		})
	}
	t.Run("bad max_duration", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		for _, v := range []string{"0", "-1", "abc", "NaN"} {
			status, h, b := do(t, "GET", s.URL+"/v1/topics/t/sse?max_duration="+v, nil, "")
			if status != http.StatusBadRequest {
				t.Errorf("max_duration=%s: got %d, want 400", v, status)
			}
			errorBody(t, h, b)
		}
	})
}

// resumeLoop subscribes like a browser's EventSource over bounded responses:
// it reconnects with Last-Event-ID set to the last id it saw (cursor blocks
// included) until it has seen want events, and returns the ids of the
// events in the order received. Every few responses it hangs up by itself
// in the middle, as a proxy or a phone would.
func resumeLoop(t *testing.T, s *testServer, path, startID string, want int, started chan<- struct{}) []int64 {
	t.Helper()
	last := startID
	var got []int64
	deadline := time.Now().Add(waitFor)
	for round := 0; len(got) < want; round++ {
		if time.Now().After(deadline) {
			t.Fatalf("resume: got %d of %d events after %d responses", len(got), want, round)
		}
		var h http.Header
		if last != "" {
			h = http.Header{"Last-Event-ID": {last}}
		}
		ss := s.openSSE(t, path, h)
		if ss.Res.StatusCode != http.StatusOK {
			t.Fatalf("reconnect %d: status %d", round, ss.Res.StatusCode)
		}
		hangUpAfter := -1
		if round%3 == 2 {
			hangUpAfter = 1 + round%7
		}
		for n := 0; ; n++ {
			it, ok := ss.nextOrEnd(t)
			if !ok {
				break
			}
			if it.Comment {
				continue
			}
			if it.HasID {
				last = it.ID
			}
			if it.IsCursor() {
				if started != nil {
					close(started)
					started = nil
				}
				if _, end := cursorData(t, it); end != "" && end != "max_duration" {
					t.Fatalf("stream ended with %q", end)
				}
				continue
			}
			got = append(got, eventOf(t, it).ID)
			if n == hangUpAfter {
				break
			}
		}
		ss.close()
	}
	return got
}

func TestSSEResumeAcrossBoundedResponses(t *testing.T) {
	t.Parallel()
	const n = 300
	cases := []struct {
		name  string
		query string // starting cursor
		start string // first Last-Event-ID
	}{
		{"from cursor 0", "?cursor=0", ""},
		{"from now", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, func(c *server.Config) { c.SSEMaxDuration = 40 * time.Millisecond })
			// Noise on another topic must not show up or move anything.
			s.publishN(t, "noise", 5)

			started := make(chan struct{})
			var sent []int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-started
				for i := range n {
					if i%50 == 25 {
						// A batch too: its events commit together.
						status, b, err := post(s.URL+"/v1/events",
							`{"events":[{"topic":"live","data":1},{"topic":"noise","data":2},{"topic":"live","data":3}]}`)
						if err != nil || status != http.StatusCreated {
							t.Errorf("batch: status %d %s: %v", status, b, err)
							return
						}
					}
					status, b, err := post(s.URL+"/v1/topics/live/events", fmt.Sprintf(`{"data":%d}`, i))
					var p published
					if err == nil {
						err = json.Unmarshal(b, &p)
					}
					if err != nil || status != http.StatusCreated {
						t.Errorf("publish %d: status %d %s: %v", i, status, b, err)
						return
					}
					sent = append(sent, p.ID)
				}
			}()
			got := resumeLoop(t, s, "/v1/topics/live/sse"+tc.query, tc.start, n+2*(n/50), started)
			wg.Wait()

			want := s.allIDs(t, "live")
			if len(want) != n+2*(n/50) {
				t.Fatalf("stored events: got %d, want %d", len(want), n+2*(n/50))
			}
			if !equalIDs(got, want) {
				t.Errorf("received ids:\n got %v\nwant %v", got, want)
			}
			if len(sent) != n {
				t.Errorf("published: got %d, want %d", len(sent), n)
			}
		})
	}
}

// allIDs pages through everything retained for topics with long-poll.
func (s *testServer) allIDs(t testing.TB, topics string) []int64 {
	t.Helper()
	var out []int64
	cursor := int64(0)
	for {
		a, _ := s.poll(t, topics, fmt.Sprintf("?cursor=%d&timeout=0&limit=1000", cursor))
		out = append(out, ids(a.Events)...)
		cursor = a.Cursor
		if !a.More {
			return out
		}
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSSEMultiTopic(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	var want []int64
	for i := range 30 {
		topic := []string{"a", "b", "c"}[i%3]
		p := s.publish(t, topic, fmt.Sprintf(`{"data":%d}`, i))
		if topic != "c" {
			want = append(want, p.ID)
		}
	}
	status, _, b := do(t, "POST", s.URL+"/v1/events", nil,
		`{"events":[{"topic":"c","data":0},{"topic":"b","data":1},{"topic":"c","data":2},{"topic":"a","data":3}]}`)
	if status != http.StatusCreated {
		t.Fatalf("batch: %d %s", status, b)
	}
	head := s.head(t)
	want = append(want, head-2, head)

	t.Run("sse", func(t *testing.T) {
		ss := s.openSSE(t, "/v1/topics/a,b/sse?cursor=0&max_duration=0.3", nil)
		var got []int64
		for _, it := range ss.rest(t) {
			if it.IsCursor() {
				continue
			}
			e := eventOf(t, it)
			if e.Topic != "a" && e.Topic != "b" {
				t.Errorf("event %d of topic %q on a subscription to a,b", e.ID, e.Topic)
			}
			got = append(got, e.ID)
		}
		if !equalIDs(got, want) {
			t.Errorf("ids:\n got %v\nwant %v", got, want)
		}
	})
	t.Run("poll", func(t *testing.T) {
		if got := s.allIDs(t, "b,a,b"); !equalIDs(got, want) {
			t.Errorf("ids:\n got %v\nwant %v", got, want)
		}
	})
	t.Run("poll pages", func(t *testing.T) {
		var got []int64
		cursor := int64(0)
		for {
			a, _ := s.poll(t, "a,b", fmt.Sprintf("?cursor=%d&timeout=0&limit=7", cursor))
			got = append(got, ids(a.Events)...)
			cursor = a.Cursor
			if !a.More {
				break
			}
		}
		if !equalIDs(got, want) {
			t.Errorf("ids:\n got %v\nwant %v", got, want)
		}
	})
}

func TestSSEOverCapacity(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, func(c *server.Config) { c.MaxSubscribers = 1 })
	s.publishN(t, "t", 5)
	head := s.head(t)

	first := s.openSSE(t, "/v1/topics/t/sse", nil)
	if it := first.next(t); it.Raw != "retry: 1000\n"+cursorBlockRaw(head, "") {
		t.Fatalf("first stream start: got %q", it.Raw)
	}

	cases := []struct {
		name   string
		query  string
		header http.Header
		want   string // blocks after the retry line
	}{
		{"cursor parameter", "?cursor=3", nil, cursorBlockRaw(3, "overloaded")},
		{"Last-Event-ID", "", http.Header{"Last-Event-ID": {"2"}}, cursorBlockRaw(2, "overloaded")},
		{"from now", "", nil, cursorBlockRaw(head, "overloaded")},
		{"cursor ahead resets first", "?cursor=99", nil,
			fmt.Sprintf("id: %d\nevent: tidings.reset\ndata: {\"reason\":\"cursor_ahead\",\"cursor\":%d}\n\n", head, head) + cursorBlockRaw(head, "overloaded")},
	}
	for _, tc := range cases {
		t.Run("sse "+tc.name, func(t *testing.T) {
			ss := s.openSSE(t, "/v1/topics/t/sse"+tc.query, tc.header)
			if ss.Res.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", ss.Res.StatusCode)
			}
			// The stream's reader owns the body: rebuild it from the blocks.
			var body strings.Builder
			for _, it := range ss.rest(t) {
				body.WriteString(it.Raw)
			}
			b := body.String()
			retry, rest, ok := strings.Cut(b, "\n")
			ms, err := strconv.Atoi(strings.TrimPrefix(retry, "retry: "))
			if !ok || !strings.HasPrefix(retry, "retry: ") || err != nil {
				t.Fatalf("body %q: want a retry line first", b)
			}
			if ms <= 1000 {
				t.Errorf("retry: got %d ms, want more than the usual 1000", ms)
			}
			if rest != tc.want {
				t.Errorf("blocks: got %q, want %q", rest, tc.want)
			}
		})
	}
	t.Run("poll answers 429", func(t *testing.T) {
		status, h, b := do(t, "GET", s.URL+"/v1/topics/t/poll?timeout=0", nil, "")
		if status != http.StatusTooManyRequests {
			t.Fatalf("status: got %d, want 429", status)
		}
		errorBody(t, h, b)
	})
	t.Run("first stream unaffected", func(t *testing.T) {
		p := s.publish(t, "t", `{"data":"x"}`)
		if e := eventOf(t, first.nextBlock(t)); e.ID != p.ID {
			t.Errorf("got event %d, want %d", e.ID, p.ID)
		}
	})
}

func TestHubStopEndsStreamsAndPolls(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.publishN(t, "t", 3)
	head := s.head(t)

	streams := []*sseStream{
		s.openSSE(t, "/v1/topics/t/sse", nil),
		s.openSSE(t, "/v1/topics/t,u/sse?cursor=1", nil),
	}
	for _, ss := range streams {
		if it := ss.next(t); !it.IsCursor() {
			t.Fatalf("start: got %q, want a cursor block", it.Raw)
		}
	}
	type answer struct {
		status int
		body   []byte
	}
	polled := make(chan answer, 1)
	go func() {
		status, _, b := do(t, "GET", s.URL+"/v1/topics/t/poll?timeout=30", nil, "")
		polled <- answer{status, b}
	}()
	s.waitActive(t, 3)

	s.Hub().Stop()

	for i, ss := range streams {
		blocks := ss.rest(t)
		if len(blocks) == 0 {
			t.Fatalf("stream %d: no final block", i)
		}
		if i == 1 {
			// The second stream started at 1 and first catches up.
			for _, b := range blocks[:len(blocks)-1] {
				eventOf(t, b)
			}
		}
		if got, want := blocks[len(blocks)-1].Raw, cursorBlockRaw(head, "shutting_down"); got != want {
			t.Errorf("stream %d final block: got %q, want %q", i, got, want)
		}
	}
	select {
	case a := <-polled:
		if a.status != http.StatusOK {
			t.Errorf("waiting poll: got %d (%s), want 200", a.status, a.body)
		}
	case <-time.After(waitFor):
		t.Fatal("waiting poll did not answer after Stop")
	}

	t.Run("new stream", func(t *testing.T) {
		ss := s.openSSE(t, "/v1/topics/t/sse?cursor=2", nil)
		if ss.Res.StatusCode != http.StatusOK {
			t.Fatalf("status: got %d, want 200", ss.Res.StatusCode)
		}
		blocks := ss.rest(t)
		if len(blocks) != 1 || !strings.HasSuffix(blocks[0].Raw, cursorBlockRaw(2, "shutting_down")) {
			t.Errorf("blocks: got %+v, want only a final cursor block at 2 ending shutting_down", blocks)
		}
	})
	t.Run("new poll", func(t *testing.T) {
		status, h, b := do(t, "GET", s.URL+"/v1/topics/t/poll?timeout=0", nil, "")
		if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Errorf("got %d Retry-After %q, want 503 with Retry-After", status, h.Get("Retry-After"))
		}
		errorBody(t, h, b)
	})
}

// A subscriber that stops reading is cut off after the write timeout: its
// handler returns and its subscription is released.
func TestSSESlowSubscriberIsCutOff(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, func(c *server.Config) {
		c.WriteTimeout = 300 * time.Millisecond
		c.MaxEventBytes = 1 << 20
		c.MaxRequestBytes = 2 << 20
	})
	addr := strings.TrimPrefix(s.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := fmt.Fprintf(conn, "GET /v1/topics/slow/sse?cursor=0 HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
		t.Fatal(err)
	}
	s.waitActive(t, 1)

	big := `{"data":"` + strings.Repeat("x", 256<<10) + `"}`
	deadline := time.Now().Add(waitFor)
	published := 0
	for s.Hub().Active() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stream still active after %d events of 256 KiB", published)
		}
		if published < 200 {
			s.publish(t, "slow", big)
			published++
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("cut off after %d events of 256 KiB", published)

	// The start of the stream sits in the client's receive buffer. (The rest
	// is not read: after a long zero window, TCP's persist backoff can delay
	// the orphaned socket's remaining bytes for minutes.)
	head := make([]byte, 1024)
	conn.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.ReadFull(conn, head); err != nil {
		t.Fatalf("read the start of the stream: %v", err)
	}
	if !strings.Contains(string(head), "retry: 1000\nid: 0\nevent: tidings.cursor\n") {
		t.Errorf("the stream did not start with retry and a cursor block: %q", head)
	}
}

// Closing the client's side ends the handler too.
func TestSSEClientGoneReleasesSubscription(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ss := s.openSSE(t, "/v1/topics/t/sse", nil)
	ss.next(t)
	s.waitActive(t, 1)
	ss.close()
	s.waitActive(t, 0)
}
