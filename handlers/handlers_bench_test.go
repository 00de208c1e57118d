package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/server"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
	"github.com/tidings/tidings/stream/streamtest"
)

// benchServer opens a whole server (as the binary wires it) on a fresh
// database in b.TempDir(), without limits, and returns its API handler and
// hub; the benchmarks call the handler directly.
func benchServer(b *testing.B) (http.Handler, *stream.Hub) {
	b.Helper()
	cfg := server.DefaultConfig()
	cfg.DB = filepath.Join(b.TempDir(), "bench.db")
	cfg.MaxSubsPerIP = 0
	cfg.PublishRate = 0
	srv, err := server.Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close(context.Background()) })
	return srv.Handler(), srv.Hub()
}

// BenchmarkPublish calls the publish handler directly (no network) from
// parallel publishers, so group commit folds them as under load; it
// counts the server's allocations per acknowledged event.
func BenchmarkPublish(b *testing.B) {
	srv, _ := benchServer(b)
	b.ReportAllocs()
	b.SetParallelism(32) // 64 publishers on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		body := []byte(`{"data":{"t":1763798400000000000,"text":"hello"}}`)
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/v1/topics/bench/events", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// BenchmarkPublishRoundTrip is one keep-alive publisher over loopback
// HTTP: client, server, commit and answer.
func BenchmarkPublishRoundTrip(b *testing.B) {
	srv, _ := benchServer(b)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := ts.Client()
	u := ts.URL + "/v1/topics/bench/events"
	body := []byte(`{"data":{"t":1763798400000000000}}`)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(u, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkPollAnswer is a resume answered from the in-memory tail: a poll
// 100 events back, encoded from the events' pre-encoded JSON.
func BenchmarkPollAnswer(b *testing.B) {
	srv, hub := benchServer(b)
	var evs []store.Event
	for i := int64(1); i <= 1000; i++ {
		evs = append(evs, store.Event{ID: i, Topic: "bench", Type: "message", Data: []byte(`{"t":1}`), Time: time.UnixMilli(1763798400123)})
	}
	hub.Committed(evs)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/v1/topics/bench/poll?cursor=900&timeout=0", nil)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// flushRecorder is a ResponseWriter for SSE benchmarks: it counts event
// frames (blocks with an id that are not control blocks) and discards the
// bytes, so only the server's work is measured.
type flushRecorder struct {
	h http.Header
	d *streamtest.Deliveries
}

func (w *flushRecorder) Header() http.Header { return w.h }
func (w *flushRecorder) WriteHeader(int)     {}
func (w *flushRecorder) Flush()              {}

// SetWriteDeadline is what http.ResponseController finds on a real
// connection's writer.
func (w *flushRecorder) SetWriteDeadline(time.Time) error { return nil }
func (w *flushRecorder) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("id: ")) && !bytes.Contains(p, []byte("event: tidings.")) {
		w.d.Add(1)
	}
	return len(p), nil
}

// BenchmarkSSEFanout runs the real SSE handler for N subscribers of one
// topic and commits one event at a time into the hub, waiting until every
// stream has written it. allocs/delivery counts the process's
// allocations per event written to one stream.
func BenchmarkSSEFanout(b *testing.B) {
	streamtest.Fanout(b, []int{100, 1000, 5000}, func(b *testing.B, subs int, d *streamtest.Deliveries) *stream.Hub {
		srv, hub := benchServer(b)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		started := make(chan struct{}, subs)
		for range subs {
			wg.Go(func() {
				req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/topics/bench/sse?cursor=0", nil)
				started <- struct{}{}
				srv.ServeHTTP(&flushRecorder{h: http.Header{}, d: d}, req)
			})
		}
		for range subs {
			<-started
		}
		// Wait until every stream is registered: a committed event then
		// reaches all of them.
		for hub.Active() < subs {
			time.Sleep(time.Millisecond)
		}
		b.Cleanup(func() { cancel(); wg.Wait() })
		return hub
	})
}
