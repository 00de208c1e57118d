package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/store/postgres/pgtest"
)

// replicaSet is the running replicas of one database; a killed one is
// left out until it is started again.
type replicaSet struct {
	mu   sync.Mutex
	live []*proc
}

func (r *replicaSet) pick() *proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live[rand.IntN(len(r.live))]
}

func (r *replicaSet) remove(p *proc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = slices.DeleteFunc(r.live, func(q *proc) bool { return q == p })
}

func (r *replicaSet) add(p *proc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = append(r.live, p)
}

// TestReplicasOnPostgres runs three replicas on one PostgreSQL database.
// Publishers send singles and batches to random replicas; SSE and
// long-poll subscribers reconnect to a random replica each time with their
// cursor; one replica is SIGKILLed mid-run and later started again. Every
// acknowledged event is stored, and every subscriber ends with exactly the
// stored sequence of its topics, in order, each once.
func TestReplicasOnPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.FreshDatabase(t)
	env := []string{"TIDINGS_PUBLISH_RATE=0", "TIDINGS_SSE_MAX_DURATION=2s"}
	var set replicaSet
	for range 3 {
		set.add(startServer(t, db, env...))
	}
	victim := set.live[2]

	topics := []string{"r0", "r1", "r2", "r3"}
	type sent struct{ topic, data string }
	var mu sync.Mutex
	acked := map[int64]sent{}
	var ackCount atomic.Int64

	// Publishers stop between requests, never inside one, so once they
	// are done nothing more is committed.
	var stopPublishing atomic.Bool
	defer stopPublishing.Store(true)
	var pubs sync.WaitGroup
	for g := range 8 {
		pubs.Go(func() {
			for i := 0; !stopPublishing.Load(); i++ {
				p := set.pick()
				n := 1
				if i%4 == 3 {
					n = 1 + rand.IntN(5)
				}
				var in []sent
				var entries []string
				for j := range n {
					s := sent{topics[rand.IntN(len(topics))], fmt.Sprintf(`{"g":%d,"i":%d,"j":%d}`, g, i, j)}
					in = append(in, s)
					entries = append(entries, fmt.Sprintf(`{"topic":%q,"data":%s}`, s.topic, s.data))
				}
				rctx, cancel := context.WithTimeout(context.Background(), waitFor)
				status, b, err := request(rctx, "POST", p.URL+"/v1/events", `{"events":[`+strings.Join(entries, ",")+`]}`)
				cancel()
				if err != nil || status != http.StatusCreated {
					continue // not acknowledged (a killed replica, shutting down): try again
				}
				var res struct {
					Events []struct {
						ID int64 `json:"id"`
					} `json:"events"`
				}
				if err := json.Unmarshal(b, &res); err != nil || len(res.Events) != n {
					t.Errorf("batch answer %s: %v", b, err)
					return
				}
				mu.Lock()
				for j, e := range res.Events {
					acked[e.ID] = in[j]
				}
				mu.Unlock()
				ackCount.Add(int64(n))
			}
		})
	}

	// Subscribers: each follows two topics until told where to stop.
	var target atomic.Int64 // 0 until publishing ended: then the head
	subTopics := [][]string{{"r0", "r1"}, {"r2", "r3"}, {"r1", "r2"}, {"r0", "r3"}, {"r0", "r1"}, {"r2", "r3"}}
	got := make([][]stored, len(subTopics))
	var subs sync.WaitGroup
	for s, ts := range subTopics {
		subs.Go(func() {
			cursor := int64(0)
			deadline := time.Now().Add(3 * waitFor)
			for n := 0; ; n++ {
				if tg := target.Load(); tg > 0 && cursor >= tg {
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("subscriber %d stuck at cursor %d (target %d)", s, cursor, target.Load())
					return
				}
				p := set.pick()
				var evs []stored
				var err error
				if (s+n)%2 == 0 {
					evs, cursor, err = ssePass(p.URL, ts, cursor)
				} else {
					evs, cursor, err = pollPass(p.URL, ts, cursor)
				}
				got[s] = append(got[s], evs...)
				if err != nil && !strings.Contains(err.Error(), "connection") && !strings.Contains(err.Error(), "EOF") {
					t.Errorf("subscriber %d: %v", s, err)
					return
				}
			}
		})
	}

	waitAcks := func(n int64) {
		deadline := time.Now().Add(3 * waitFor)
		for ackCount.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("publishers stalled at %d acknowledged events", ackCount.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAcks(300 + rand.Int64N(300))
	set.remove(victim)
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	victim.wait(t, waitFor)
	t.Logf("killed a replica after %d acknowledged events", ackCount.Load())
	waitAcks(ackCount.Load() + 300)
	set.add(startServer(t, db, env...))
	waitAcks(ackCount.Load() + 300)
	stopPublishing.Store(true)
	pubs.Wait()

	// What the database holds, read from one replica: every acknowledged
	// event, plus any whose answer was lost with the killed replica.
	reader := set.pick()
	inDB := reader.all(t, strings.Join(topics, ","))
	checkAscending(t, inDB)
	byID := make(map[int64]stored, len(inDB))
	for _, e := range inDB {
		byID[e.ID] = e
	}
	for id, s := range acked {
		if e, ok := byID[id]; !ok || e.Topic != s.topic || string(e.Data) != s.data {
			t.Errorf("acknowledged event %d (%s %s) stored as %+v", id, s.topic, s.data, e)
		}
	}
	target.Store(inDB[len(inDB)-1].ID)
	subs.Wait()

	for s, ts := range subTopics {
		var want []int64
		for _, e := range inDB {
			if slices.Contains(ts, e.Topic) {
				want = append(want, e.ID)
			}
		}
		var ids []int64
		for _, e := range got[s] {
			ids = append(ids, e.ID)
			if w := byID[e.ID]; w.Topic != e.Topic || string(w.Data) != string(e.Data) {
				t.Errorf("subscriber %d got %+v, stored %+v", s, e, w)
			}
		}
		if !slices.Equal(ids, want) {
			t.Errorf("subscriber %d (%v) received %d events, want the %d stored in order", s, ts, len(ids), len(want))
		}
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(inDB))
}

// ssePass reads one bounded SSE response from cursor; it returns the
// events received and the cursor to resume from.
func ssePass(base string, topics []string, cursor int64) ([]stored, int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/v1/topics/%s/sse?cursor=%d", base, strings.Join(topics, ","), cursor), nil)
	res, err := httpClient.Do(req)
	if err != nil {
		return nil, cursor, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, cursor, fmt.Errorf("sse status %d", res.StatusCode)
	}
	var out []stored
	br := bufio.NewReader(res.Body)
	var event, data string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if err == io.EOF {
				return out, cursor, nil
			}
			return out, cursor, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			switch event {
			case "tidings.cursor":
				var c struct {
					Cursor int64 `json:"cursor"`
				}
				if err := json.Unmarshal([]byte(data), &c); err != nil {
					return out, cursor, err
				}
				cursor = max(cursor, c.Cursor)
			case "tidings.reset":
				return out, cursor, fmt.Errorf("unexpected reset: %s", data)
			default:
				var e stored
				if err := json.Unmarshal([]byte(data), &e); err != nil {
					return out, cursor, err
				}
				if e.ID <= cursor {
					return out, cursor, fmt.Errorf("event %d at or below cursor %d", e.ID, cursor)
				}
				out = append(out, e)
				cursor = e.ID
			}
			event, data = "", ""
		}
	}
}

// pollPass makes one long-poll request from cursor.
func pollPass(base string, topics []string, cursor int64) ([]stored, int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	status, b, err := request(ctx, "GET", fmt.Sprintf("%s/v1/topics/%s/poll?cursor=%d&timeout=1&limit=50", base, strings.Join(topics, ","), cursor), "")
	if err != nil {
		return nil, cursor, err
	}
	if status != http.StatusOK {
		return nil, cursor, fmt.Errorf("poll status %d: %s", status, b)
	}
	var a struct {
		Events []stored `json:"events"`
		Cursor int64    `json:"cursor"`
		Reset  bool     `json:"reset"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, cursor, err
	}
	if a.Reset {
		return nil, cursor, fmt.Errorf("unexpected reset: %s", b)
	}
	for _, e := range a.Events {
		if e.ID <= cursor {
			return nil, cursor, fmt.Errorf("event %d at or below cursor %d", e.ID, cursor)
		}
		cursor = e.ID
	}
	return a.Events, max(cursor, a.Cursor), nil
}
