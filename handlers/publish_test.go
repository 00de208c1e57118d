package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tidings/tidings/server"
)

type batchAnswer struct {
	Events []published `json:"events"`
}

func (s *testServer) batch(t testing.TB, body string) (int, batchAnswer, []byte) {
	t.Helper()
	status, h, b := do(t, "POST", s.URL+"/v1/events", http.Header{"Content-Type": {"application/json"}}, body)
	var a batchAnswer
	if status/100 == 2 {
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("batch answer %s: %v", b, err)
		}
	} else {
		errorBody(t, h, b)
	}
	return status, a, b
}

func TestPublish(t *testing.T) {
	t.Parallel()

	t.Run("answer", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		status, h, b := do(t, "POST", s.URL+"/v1/topics/user:42/events", nil, `{"data":{"x":1},"type":"order.paid"}`)
		if status != http.StatusCreated {
			t.Fatalf("status: got %d (%s), want 201", status, b)
		}
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type: got %q", ct)
		}
		var fields map[string]json.RawMessage
		decode(t, b, &fields)
		if _, ok := fields["data"]; ok {
			t.Errorf("got %s: the answer carries the stored event without data", b)
		}
		var p published
		decode(t, b, &p)
		if p.ID != 1 || p.Topic != "user:42" || p.Type != "order.paid" || !timeRE.MatchString(p.Time) || p.Duplicate {
			t.Errorf("got %s", b)
		}
	})

	t.Run("data forms", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		for _, data := range []string{`null`, `0`, `"s"`, `[1,2]`, `{"a":{"b":[true,false,null]}}`, `"ünï\u2028"`} {
			p := s.publish(t, "d", `{"data": `+data+` }`)
			a, _ := s.poll(t, "d", fmt.Sprintf("?cursor=%d&timeout=0", p.ID-1))
			if len(a.Events) != 1 {
				t.Fatalf("data %s: got %d events", data, len(a.Events))
			}
			var got, want any
			json.Unmarshal(a.Events[0].Data, &got)
			json.Unmarshal([]byte(data), &want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("data: got %s, want %s", a.Events[0].Data, data)
			}
		}
	})

	t.Run("content types", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		for _, ct := range []string{"", "application/json", "application/json; charset=utf-8", "application/cloudevents+json", "Application/JSON"} {
			h := http.Header{}
			if ct != "" {
				h.Set("Content-Type", ct)
			}
			if status, _, b := do(t, "POST", s.URL+"/v1/topics/ct/events", h, `{"data":1}`); status != http.StatusCreated {
				t.Errorf("Content-Type %q: got %d (%s), want 201", ct, status, b)
			}
		}
	})

	// An absent or null type is the default; an empty one is refused
	// (TestErrors).
	t.Run("default type", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		for _, body := range []string{`{"data":1}`, `{"data":1,"type":null}`} {
			if p := s.publish(t, "a", body); p.Type != "message" {
				t.Errorf("%s: got type %q, want message", body, p.Type)
			}
		}
	})
}

func TestIdempotency(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name   string
		header http.Header
		body   string
	}{
		{"key in body", nil, `{"data":1,"key":"k-1"}`},
		{"Idempotency-Key header", http.Header{"Idempotency-Key": {"k-1"}}, `{"data":1}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t)
			send := func() (int, published) {
				status, _, b := do(t, "POST", s.URL+"/v1/topics/a/events", tc.header, tc.body)
				var p published
				decode(t, b, &p)
				return status, p
			}
			status, first := send()
			if status != http.StatusCreated || first.Duplicate {
				t.Fatalf("first: got %d %+v, want 201 without duplicate", status, first)
			}
			status, again := send()
			if status != http.StatusOK || !again.Duplicate || again.ID != first.ID || again.Time != first.Time || again.Type != first.Type {
				t.Errorf("repeat: got %d %+v, want 200 duplicate of %+v", status, again, first)
			}
			if h := s.head(t); h != first.ID {
				t.Errorf("head after a duplicate: got %d, want %d", h, first.ID)
			}
			other := s.publish(t, "b", `{"data":2,"key":"k-1"}`)
			if other.Duplicate || other.ID == first.ID {
				t.Errorf("same key on another topic: got %+v, want a new event", other)
			}
			if got := s.allIDs(t, "a,b"); !equalIDs(got, []int64{first.ID, other.ID}) {
				t.Errorf("stored: got %v, want %v", got, []int64{first.ID, other.ID})
			}
		})
	}

	// A duplicate stores nothing, so the head must not move: a cursor past
	// the first event is ahead, and the next event is not skipped by a
	// client holding the cursor it is handed.
	t.Run("a duplicate does not move the head", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		first := s.publish(t, "a", `{"data":1,"key":"k"}`)
		if status, _, b := do(t, "POST", s.URL+"/v1/topics/a/events", nil, `{"data":1,"key":"k"}`); status != http.StatusOK {
			t.Fatalf("repeat: got %d %s, want 200", status, b)
		}
		status, a, b := s.batch(t, `{"events":[{"topic":"a","data":1,"key":"k"}]}`)
		if status != http.StatusOK || !a.Events[0].Duplicate {
			t.Fatalf("batch repeat: got %d %s, want 200 duplicate", status, b)
		}
		ahead, raw := s.poll(t, "a", fmt.Sprintf("?cursor=%d&timeout=0", first.ID+1))
		if !ahead.Reset || ahead.ResetReason != "cursor_ahead" || ahead.Cursor != first.ID {
			t.Errorf("poll past the head: got %s, want a cursor_ahead reset to %d", raw, first.ID)
		}
		next := s.publish(t, "a", `{"data":2}`)
		after, raw := s.poll(t, "a", fmt.Sprintf("?cursor=%d&timeout=0", ahead.Cursor))
		if !equalIDs(ids(after.Events), []int64{next.ID}) {
			t.Errorf("poll from the cursor handed out: got %s, want event %d", raw, next.ID)
		}
	})

	t.Run("body key wins over header", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		s.publish(t, "a", `{"data":1,"key":"body"}`)
		status, _, b := do(t, "POST", s.URL+"/v1/topics/a/events", http.Header{"Idempotency-Key": {"header"}}, `{"data":1,"key":"body"}`)
		if status != http.StatusOK || !strings.Contains(string(b), `"duplicate":true`) {
			t.Errorf("got %d %s, want the duplicate of the body key", status, b)
		}
	})

	t.Run("key shared by single and batch publish", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		first := s.publish(t, "a", `{"data":1,"key":"k"}`)
		status, a, b := s.batch(t, `{"events":[{"topic":"a","data":2,"key":"k"}]}`)
		if status != http.StatusOK || len(a.Events) != 1 || !a.Events[0].Duplicate || a.Events[0].ID != first.ID {
			t.Errorf("got %d %s, want 200 with the duplicate of %d", status, b, first.ID)
		}
	})
}

func TestBatch(t *testing.T) {
	t.Parallel()

	t.Run("stored in request order", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		status, a, b := s.batch(t, `{"events":[{"topic":"b","data":1},{"topic":"a","data":2,"type":"t.x"},{"topic":"b","data":3}]}`)
		if status != http.StatusCreated || len(a.Events) != 3 {
			t.Fatalf("got %d %s, want 201 with 3 events", status, b)
		}
		for i, want := range []struct {
			topic, typ string
		}{{"b", "message"}, {"a", "t.x"}, {"b", "message"}} {
			e := a.Events[i]
			if e.ID != int64(i+1) || e.Topic != want.topic || e.Type != want.typ || e.Duplicate {
				t.Errorf("events[%d]: got %+v, want id %d topic %s type %s", i, e, i+1, want.topic, want.typ)
			}
			if e.Time != a.Events[0].Time {
				t.Errorf("events[%d]: time %s differs from %s within one commit", i, e.Time, a.Events[0].Time)
			}
		}
	})

	t.Run("repeated key inside a batch stores one", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		status, a, b := s.batch(t, `{"events":[{"topic":"a","data":1,"key":"k"},{"topic":"a","data":2},{"topic":"a","data":3,"key":"k"},{"topic":"b","data":4,"key":"k"}]}`)
		if status != http.StatusCreated || len(a.Events) != 4 {
			t.Fatalf("got %d %s", status, b)
		}
		if a.Events[0].Duplicate || !a.Events[2].Duplicate || a.Events[2].ID != a.Events[0].ID || a.Events[3].Duplicate {
			t.Errorf("got %s, want entry 2 answered as the duplicate of entry 0 and entry 3 stored", b)
		}
		if got := s.allIDs(t, "a,b"); len(got) != 3 {
			t.Errorf("stored %v, want 3 events", got)
		}
		a2, _ := s.poll(t, "a", "?cursor=0&timeout=0")
		if string(a2.Events[0].Data) != "1" {
			t.Errorf("the first entry with the key is the one stored: got data %s", a2.Events[0].Data)
		}
	})

	t.Run("all duplicates answers 200", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		body := `{"events":[{"topic":"a","data":1,"key":"k1"},{"topic":"b","data":2,"key":"k2"}]}`
		if status, _, b := s.batch(t, body); status != http.StatusCreated {
			t.Fatalf("first: got %d %s", status, b)
		}
		status, a, b := s.batch(t, body)
		if status != http.StatusOK || !a.Events[0].Duplicate || !a.Events[1].Duplicate {
			t.Errorf("repeat: got %d %s, want 200 and two duplicates", status, b)
		}
		if status, _, b := s.batch(t, `{"events":[{"topic":"a","data":1,"key":"k1"},{"topic":"a","data":1,"key":"k3"}]}`); status != http.StatusCreated {
			t.Errorf("one new among duplicates: got %d %s, want 201", status, b)
		}
	})

	t.Run("1000 events", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		status, a, b := s.batch(t, batchOf(1000, -1, ""))
		if status != http.StatusCreated || len(a.Events) != 1000 {
			t.Fatalf("got %d (%d bytes), want 201 with 1000 events", status, len(b))
		}
		for i, e := range a.Events {
			if e.ID != int64(i+1) {
				t.Fatalf("events[%d]: id %d, want %d", i, e.ID, i+1)
			}
		}
	})

	// A batch that fails stores nothing: the head does not move.
	rejected := []struct {
		name   string
		body   string
		status int
	}{
		{"1001 events", batchOf(1001, -1, ""), http.StatusBadRequest},
		{"no events", `{"events":[]}`, http.StatusBadRequest},
		{"events missing", `{}`, http.StatusBadRequest},
		{"bad topic in the middle", batchOf(1000, 500, `{"topic":"a b","data":1}`), http.StatusBadRequest},
		{"missing topic", batchOf(10, 9, `{"data":1}`), http.StatusBadRequest},
		{"reserved type", batchOf(10, 3, `{"topic":"a","data":1,"type":"Tidings.cursor"}`), http.StatusBadRequest},
		{"missing data", batchOf(10, 0, `{"topic":"a"}`), http.StatusBadRequest},
		{"unknown field", batchOf(10, 5, `{"topic":"a","data":1,"extra":1}`), http.StatusBadRequest},
		{"data too large", batchOf(10, 5, `{"topic":"a","data":"`+strings.Repeat("x", 2000)+`"}`), http.StatusRequestEntityTooLarge},
		{"events not an array", `{"events":{}}`, http.StatusBadRequest},
		{"entry not an object", `{"events":[1]}`, http.StatusBadRequest},
	}
	for _, tc := range rejected {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, func(c *server.Config) { c.MaxEventBytes = 1024 })
			s.publish(t, "a", `{"data":0}`)
			status, _, b := s.batch(t, tc.body)
			if status != tc.status {
				t.Errorf("status: got %d (%s), want %d", status, b, tc.status)
			}
			if h := s.head(t); h != 1 {
				t.Errorf("head: got %d, want 1: a rejected batch stored something", h)
			}
		})
	}
}

// batchOf builds a batch of n events on topic a, with entry bad (if ≥ 0)
// replaced.
func batchOf(n, bad int, entry string) string {
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		if i == bad {
			sb.WriteString(entry)
		} else {
			fmt.Fprintf(&sb, `{"topic":"a","data":{"i":%d}}`, i)
		}
	}
	sb.WriteString(`]}`)
	return sb.String()
}
