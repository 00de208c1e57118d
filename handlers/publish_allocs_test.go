//go:build !race

// Allocation counts are those of a normal build: the race detector adds
// its own.

package handlers

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// fixedStore acknowledges every append with the same stored event, so
// that only the handler's own allocations are counted.
type fixedStore struct{ res []store.Result }

func (f *fixedStore) Append(_ context.Context, in []store.Input) ([]store.Result, error) {
	f.res[0].Event.Topic, f.res[0].Event.Type = in[0].Topic, in[0].Type
	return f.res, nil
}

func (f *fixedStore) Ping(context.Context) error { return nil }

func (f *fixedStore) Topics(context.Context, string, string, int) ([]store.TopicInfo, int64, error) {
	return nil, 0, nil
}

type idleHub struct{}

func (idleHub) Subscribe([]string) (*stream.Subscription, error) { return nil, stream.ErrStopped }
func (idleHub) Read(context.Context, []string, int64, int) (stream.Batch, error) {
	return stream.Batch{}, nil
}
func (idleHub) Head() int64              { return 0 }
func (idleHub) MayBeExpired(int64) bool  { return false }
func (idleHub) Stopped() <-chan struct{} { return nil }
func (idleHub) Stopping() bool           { return false }
func (idleHub) Active() int              { return 0 }

// discardWriter is a reusable ResponseWriter.
type discardWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
func (w *discardWriter) Write(b []byte) (int, error) { return w.body.Write(b) }

// The deadlines are what http.ResponseController finds on a connection.
func (w *discardWriter) SetReadDeadline(time.Time) error  { return nil }
func (w *discardWriter) SetWriteDeadline(time.Time) error { return nil }

// publishAllocs counts the allocations of one publish through the API,
// access log included, with the request and writer reused.
func publishAllocs(t *testing.T, body string, logger *slog.Logger) float64 {
	st := &fixedStore{res: []store.Result{{Event: store.Event{ID: 42, Time: time.UnixMilli(1763798400123)}}}}
	s := New(Config{Logger: logger}, st, idleHub{})
	rd := bytes.NewReader(nil)
	req, _ := http.NewRequest(http.MethodPost, "/v1/topics/orders/events", io.NopCloser(rd))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "192.0.2.1:5555"
	req.ContentLength = int64(len(body))
	w := &discardWriter{h: http.Header{}}
	run := func() {
		rd.Reset([]byte(body))
		clear(w.h)
		w.body.Reset()
		s.ServeHTTP(w, req)
	}
	run()
	if w.status != http.StatusCreated {
		t.Fatalf("status %d: %s", w.status, w.body.String())
	}
	return testing.AllocsPerRun(200, run)
}

// TestPublishAllocations guards the publish path's allocations per
// request (the store's own are not counted here).
func TestPublishAllocations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		logger *slog.Logger
		max    float64
	}{
		// 27 before the reflection-free body reader and the other savings,
		// 10 before the access log's record moved off the request context.
		{"no access log", `{"data":{"t":1763798400000000000,"text":"hello"}}`, nil, 9},
		// 30, then 13.
		{"typed, keyed", `{"type":"order.paid","key":"k-1","data":{"n":1}}`, nil, 12},
		// 32, then 14, then 12 before its attributes were added at once.
		{"access log", `{"data":{"t":1763798400000000000,"text":"hello"}}`, slog.New(slog.NewJSONHandler(io.Discard, nil)), 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := publishAllocs(t, tc.body, tc.logger)
			t.Logf("%.1f allocations per publish", got)
			if got > tc.max {
				t.Errorf("%.1f allocations per publish, want at most %.0f", got, tc.max)
			}
		})
	}
}
