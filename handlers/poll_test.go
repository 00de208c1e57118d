package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/server"
)

func TestPoll(t *testing.T) {
	t.Parallel()

	t.Run("answers at once when events exist", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		want := s.publishN(t, "p", 3)
		// A 30 s timeout and a request bounded by waitFor: only an answer
		// that does not wait passes.
		a, raw := s.poll(t, "p", "?cursor=0&timeout=30")
		if !equalIDs(ids(a.Events), want) || a.Cursor != want[2] || a.More || a.Reset {
			t.Errorf("got %s, want events %v, cursor %d, more false, reset false", raw, want, want[2])
		}
		if strings.Contains(string(raw), "reset_reason") {
			t.Errorf("got %s: reset_reason only belongs to a reset", raw)
		}
		for _, e := range a.Events {
			if e.Topic != "p" || e.Type != "message" || !timeRE.MatchString(e.Time) {
				t.Errorf("event %+v", e)
			}
		}
	})

	t.Run("wakes when an event commits", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		s.publishN(t, "other", 2)
		type answer struct {
			a   pollAnswer
			raw []byte
		}
		got := make(chan answer, 1)
		go func() {
			status, _, b, err := get(s.URL + "/v1/topics/w/poll?timeout=30")
			if err != nil || status != http.StatusOK {
				t.Errorf("poll: %d %s %v", status, b, err)
			}
			var a pollAnswer
			decode(t, b, &a)
			got <- answer{a, b}
		}()
		s.waitActive(t, 1)
		// Events of another topic do not answer the poll.
		s.publish(t, "other", `{"data":0}`)
		p := s.publish(t, "w", `{"data":{"hello":"world"}}`)
		select {
		case g := <-got:
			if len(g.a.Events) != 1 || g.a.Events[0].ID != p.ID || string(g.a.Events[0].Data) != `{"hello":"world"}` || g.a.Cursor != p.ID {
				t.Errorf("got %s, want event %d and cursor %d", g.raw, p.ID, p.ID)
			}
		case <-time.After(waitFor):
			t.Fatal("the poll did not wake")
		}
	})

	t.Run("timeout 0 answers at once", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		s.publishN(t, "q", 2)
		a, raw := s.poll(t, "q", "?timeout=0")
		if len(a.Events) != 0 || a.Cursor != 2 || a.More || a.Reset {
			t.Errorf("from now: got %s, want no events at cursor 2", raw)
		}
		if !strings.Contains(string(raw), `"events":[]`) {
			t.Errorf("got %s, want an empty array", raw)
		}
	})

	t.Run("short timeout with nothing new", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		a, _ := s.poll(t, "q", "?cursor=0&timeout=0.05")
		if len(a.Events) != 0 || a.Cursor != 0 {
			t.Errorf("got %+v, want no events at cursor 0", a)
		}
	})

	t.Run("limit and more", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		want := s.publishN(t, "l", 5)
		s.publishN(t, "x", 2) // the head moves past the last event of l
		var got []int64
		var mores []bool
		cursor := int64(0)
		for range 3 {
			a, _ := s.poll(t, "l", fmt.Sprintf("?cursor=%d&limit=2&timeout=0", cursor))
			got = append(got, ids(a.Events)...)
			mores = append(mores, a.More)
			if a.More && a.Cursor != a.Events[len(a.Events)-1].ID {
				t.Errorf("cursor with more: got %d, want the last event's id %d", a.Cursor, a.Events[len(a.Events)-1].ID)
			}
			if !a.More && a.Cursor != a.Events[len(a.Events)-1].ID {
				t.Errorf("cursor without more: got %d, want the last event's id %d", a.Cursor, a.Events[len(a.Events)-1].ID)
			}
			cursor = a.Cursor
		}
		if !equalIDs(got, want) || fmt.Sprint(mores) != "[true true false]" {
			t.Errorf("got %v with more %v, want %v with more [true true false]", got, mores, want)
		}
		// Exactly limit events left: no more.
		a, _ := s.poll(t, "l", fmt.Sprintf("?cursor=%d&limit=2&timeout=0", want[2]))
		if len(a.Events) != 2 || a.More {
			t.Errorf("two left with limit 2: got %+v, want both and more false", a)
		}
	})

	t.Run("cursor on empty answers", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		s.publishN(t, "elsewhere", 4)
		head := s.head(t)
		for _, c := range []int64{0, 1, head} {
			a, raw := s.poll(t, "quiet", fmt.Sprintf("?cursor=%d&timeout=0", c))
			if len(a.Events) != 0 || a.Reset || a.Cursor < c || a.Cursor > head {
				t.Errorf("cursor=%d: got %s, want no events and a cursor from %d to the head %d", c, raw, c, head)
			}
		}
	})

	t.Run("cursor from lastEventId and Last-Event-ID", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		want := s.publishN(t, "c", 4)
		a, _ := s.poll(t, "c", "?lastEventId=2&timeout=0")
		if !equalIDs(ids(a.Events), want[2:]) {
			t.Errorf("lastEventId=2: got %v, want %v", ids(a.Events), want[2:])
		}
		status, _, b := do(t, "GET", s.URL+"/v1/topics/c/poll?cursor=1&lastEventId=1&timeout=0", http.Header{"Last-Event-ID": {"3"}}, "")
		var h pollAnswer
		decode(t, b, &h)
		if status != http.StatusOK || !equalIDs(ids(h.Events), want[3:]) {
			t.Errorf("Last-Event-ID 3 over cursor=1: got %d %s, want only event %d", status, b, want[3])
		}
		a, _ = s.poll(t, "c", "?cursor=3&lastEventId=1&timeout=0")
		if !equalIDs(ids(a.Events), want[3:]) {
			t.Errorf("cursor=3 over lastEventId=1: got %v, want %v", ids(a.Events), want[3:])
		}
	})

	t.Run("timeout above the cap is capped", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, func(c *server.Config) { c.PollMaxTimeout = 50 * time.Millisecond })
		a, _ := s.poll(t, "cap", "?cursor=0&timeout=3600")
		if len(a.Events) != 0 {
			t.Errorf("got %+v, want an empty answer after the capped timeout", a)
		}
	})
}

func TestPollBadParameters(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	cases := []struct {
		query, code string
	}{
		{"limit=0", "invalid_limit"},
		{"limit=1001", "invalid_limit"},
		{"limit=-1", "invalid_limit"},
		{"limit=abc", "invalid_limit"},
		{"limit=1.5", "invalid_limit"},
		{"limit=", "invalid_limit"},
		{"timeout=-1", "invalid_timeout"},
		{"timeout=abc", "invalid_timeout"},
		{"timeout=NaN", "invalid_timeout"},
		{"timeout=", "invalid_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			t.Parallel()
			status, h, b := do(t, "GET", s.URL+"/v1/topics/t/poll?"+tc.query, nil, "")
			if status != http.StatusBadRequest {
				t.Errorf("status: got %d, want 400", status)
			}
			if code := errorBody(t, h, b); code != tc.code {
				t.Errorf("code: got %q, want %q", code, tc.code)
			}
		})
	}
	t.Run("limits 1 and 1000 are fine", func(t *testing.T) {
		s.poll(t, "t", "?limit=1&timeout=0")
		s.poll(t, "t", "?limit=1000&timeout=0")
	})
}

// TestReset covers both reset reasons on both transports.
func TestReset(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, func(c *server.Config) { c.MaxEventsPerTopic = 3 })
	// x: 1..5, y: 6..7, x: 8. Pruning to 3 per topic deletes x's 1..3.
	s.publishN(t, "x", 5)
	s.publishN(t, "y", 2)
	s.publishN(t, "x", 1)
	n, err := s.Store().Prune(t.Context())
	if err != nil || n != 3 {
		t.Fatalf("prune: got %d, %v; want 3 deleted", n, err)
	}
	const head = 8

	resetBlock := func(reason string, n int64) string {
		return fmt.Sprintf("id: %d\nevent: tidings.reset\ndata: {\"reason\":%q,\"cursor\":%d}\n\n", n, reason, n)
	}
	cases := []struct {
		name, topics string
		cursor       string
		reason       string // "" for no reset
		resetTo      int64
		want         []int64
	}{
		{"expired", "x", "1", "cursor_expired", 3, []int64{4, 5, 8}},
		{"expired just below the pruned", "x", "2", "cursor_expired", 3, []int64{4, 5, 8}},
		{"expired with two topics", "x,y", "1", "cursor_expired", 3, []int64{4, 5, 6, 7, 8}},
		{"at the pruned id is not expired", "x", "3", "", 0, []int64{4, 5, 8}},
		{"another topic is not affected", "y", "1", "", 0, []int64{6, 7}},
		{"cursor 0 never resets", "x,y", "0", "", 0, []int64{4, 5, 6, 7, 8}},
		{"ahead", "x", "9", "cursor_ahead", head, nil},
		{"far ahead", "x,y", "9223372036854775807", "cursor_ahead", head, nil},
	}
	for _, tc := range cases {
		t.Run("poll "+tc.name, func(t *testing.T) {
			t.Parallel()
			a, raw := s.poll(t, tc.topics, "?timeout=0&cursor="+tc.cursor)
			if a.Reset != (tc.reason != "") || a.ResetReason != tc.reason {
				t.Errorf("got %s, want reset %v reason %q", raw, tc.reason != "", tc.reason)
			}
			if !equalIDs(ids(a.Events), tc.want) {
				t.Errorf("events: got %v, want %v", ids(a.Events), tc.want)
			}
			// The last event's id, or on an empty answer the head read to.
			want := int64(head)
			if n := len(tc.want); n > 0 {
				want = tc.want[n-1]
			}
			if a.Cursor != want {
				t.Errorf("cursor: got %d, want %d", a.Cursor, want)
			}
		})
		t.Run("sse "+tc.name, func(t *testing.T) {
			t.Parallel()
			ss := s.openSSE(t, "/v1/topics/"+tc.topics+"/sse?max_duration=0.2", http.Header{"Last-Event-ID": {tc.cursor}})
			blocks := ss.rest(t)
			wantStart := "retry: 1000\n" + cursorBlockRaw(mustInt(t, tc.cursor), "")
			if tc.reason != "" {
				wantStart = "retry: 1000\n" + resetBlock(tc.reason, tc.resetTo)
			}
			if blocks[0].Raw != wantStart {
				t.Errorf("starting block: got %q, want %q", blocks[0].Raw, wantStart)
			}
			var got []int64
			for _, b := range blocks[1 : len(blocks)-1] {
				got = append(got, eventOf(t, b).ID)
			}
			if !equalIDs(got, tc.want) {
				t.Errorf("events: got %v, want %v", got, tc.want)
			}
			if last := blocks[len(blocks)-1].Raw; last != cursorBlockRaw(head, "max_duration") {
				t.Errorf("final block: got %q", last)
			}
		})
	}
}

func mustInt(t testing.TB, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
