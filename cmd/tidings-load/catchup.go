package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tidings/tidings/client"
	"github.com/tidings/tidings/cmd/tidings-load/internal/stats"
)

type catchupRow struct {
	Transport    string    `json:"transport"` // sse or poll
	Behind       int       `json:"events_behind"`
	EventsPerSec float64   `json:"events_per_s"`
	Runs         []float64 `json:"runs"`
}

func (o *options) runCatchup(ctx context.Context, rep *report) error {
	// Keep every event: the subscriber must find all of them.
	srv, err := o.startTidings(ctx, "", "TIDINGS_MAX_EVENTS_PER_TOPIC=100000000", "TIDINGS_PRUNE_INTERVAL=24h")
	if err != nil {
		return err
	}
	defer srv.stop()
	rep.addStartup(srv)
	topic := fmt.Sprintf("catchup-%d", time.Now().UnixNano())
	first, last, err := fill(ctx, srv.base, topic, o.catchup)
	if err != nil {
		return err
	}
	cursor := first - 1
	sse := &catchupRow{Transport: "sse", Behind: o.catchup}
	poll := &catchupRow{Transport: "poll", Behind: o.catchup}
	for run := 1; run <= o.runs; run++ {
		v, err := catchupSSE(ctx, srv.base, topic, cursor, last, o.catchup)
		if err != nil {
			return err
		}
		sse.Runs = append(sse.Runs, v)
		w, err := catchupPoll(ctx, srv.base, topic, cursor, last)
		if err != nil {
			return err
		}
		poll.Runs = append(poll.Runs, w)
		logf("catchup run %d: SSE %.0f events/s, poll %.0f events/s", run, v, w)
	}
	sse.EventsPerSec, poll.EventsPerSec = stats.Median(sse.Runs), stats.Median(poll.Runs)
	rep.Catchup = append(rep.Catchup, sse, poll)
	return nil
}

// fill publishes n events on topic in batches of 1000 and returns the
// first and last ids.
func fill(ctx context.Context, base, topic string, n int) (first, last int64, err error) {
	hc := newClient(4)
	defer hc.CloseIdleConnections()
	c, err := client.New(base, client.Options{HTTPClient: hc})
	if err != nil {
		return 0, 0, err
	}
	var mu sync.Mutex
	first = 1<<63 - 1
	jobs := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for size := range jobs {
				msgs := make([]client.Message, size)
				for i := range msgs {
					msgs[i] = client.Message{Topic: topic, Data: json.RawMessage(stampedData(nil))}
				}
				res, err := c.PublishBatch(ctx, msgs)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
				} else {
					first = min(first, res[0].ID)
					last = max(last, res[len(res)-1].ID)
				}
				mu.Unlock()
			}
		}()
	}
	for left := n; left > 0; left -= 1000 {
		jobs <- min(left, 1000)
	}
	close(jobs)
	wg.Wait()
	return first, last, firstErr
}

// catchupSSE resumes a stream at cursor and times it until n events up to
// last have arrived.
func catchupSSE(ctx context.Context, base, topic string, cursor, last int64, n int) (float64, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub := newSSESubscriber(base, topic, "?cursor="+strconv.FormatInt(cursor, 10))
	readyc := make(chan error, 1)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		sub.run(sctx, func(err error) { readyc <- err })
	}()
	if err := <-readyc; err != nil {
		return 0, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for sub.delivered.Load() < int64(n) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("SSE catch-up: %d of %d events within 5m", sub.delivered.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	cancel()
	<-done
	if sub.lastID != last || sub.dups != 0 || len(sub.ids) != n {
		return 0, fmt.Errorf("SSE catch-up: got %d events up to id %d (%d duplicates), want %d up to %d", len(sub.ids), sub.lastID, sub.dups, n, last)
	}
	return float64(n) / elapsed.Seconds(), nil
}

// catchupPoll pages through with limit=1000 and timeout=0.
func catchupPoll(ctx context.Context, base, topic string, cursor, last int64) (float64, error) {
	hc := newClient(1)
	defer hc.CloseIdleConnections()
	start := time.Now()
	events := 0
	for cursor < last {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v1/topics/%s/poll?cursor=%d&limit=1000&timeout=0", base, topic, cursor), nil)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		var page struct {
			Events []struct {
				ID int64 `json:"id"`
			} `json:"events"`
			Cursor int64 `json:"cursor"`
		}
		err = decodeJSON(resp, &page)
		if err != nil {
			return 0, err
		}
		if page.Cursor <= cursor && len(page.Events) == 0 {
			return 0, fmt.Errorf("poll catch-up stalled at cursor %d", cursor)
		}
		events += len(page.Events)
		cursor = page.Cursor
	}
	return float64(events) / time.Since(start).Seconds(), nil
}
