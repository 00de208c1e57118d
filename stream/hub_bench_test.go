package stream_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// nopStore answers reads below the tail; the benchmarks never make one.
type nopStore struct{}

func (nopStore) Head(context.Context) (int64, error) { return 0, nil }

func (nopStore) ReadAfter(context.Context, []string, int64, int) (store.Page, error) {
	return store.Page{}, nil
}

func benchEvent(id int64, topic string) store.Event {
	return store.Event{
		ID:    id,
		Topic: topic,
		Type:  "message",
		Data:  []byte(`{"t":1763798400000000000,"text":"hello"}`),
		Time:  time.UnixMilli(1763798400123).UTC(),
	}
}

// BenchmarkEncode is the once-per-event cost of building the SSE frame
// and the JSON object.
func BenchmarkEncode(b *testing.B) {
	e := benchEvent(123456789, "room.lobby")
	b.ReportAllocs()
	for b.Loop() {
		stream.Encode(e)
	}
}

// BenchmarkCommittedFanout commits one event at a time to a hub whose
// subscribers each wait on their wake signal and read from their own
// cursor, as the SSE handler does, and waits until all of them have it.
// allocs/delivery counts every allocation in the process (hub and
// readers) per event handed to one subscriber.
func BenchmarkCommittedFanout(b *testing.B) {
	for _, subs := range []int{1, 100, 1000, 5000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			benchFanout(b, subs)
		})
	}
}

func benchFanout(b *testing.B, subs int) {
	hub := stream.NewHub(stream.HubOptions{})
	if err := hub.Attach(context.Background(), nopStore{}); err != nil {
		b.Fatal(err)
	}
	topics := []string{"bench"}
	var delivered atomic.Int64
	progress := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range subs {
		sub, err := hub.Subscribe(topics)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sub.Close()
			var cursor int64
			for {
				select {
				case <-sub.C:
				case <-ctx.Done():
					return
				}
				batch, err := hub.Read(ctx, topics, cursor, 512)
				if err != nil {
					return
				}
				cursor = batch.Cursor
				if n := len(batch.Events); n > 0 {
					delivered.Add(int64(n))
					select {
					case progress <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	b.Cleanup(func() { cancel(); wg.Wait() })

	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	var id int64
	for b.Loop() {
		id++
		hub.Committed([]store.Event{benchEvent(id, "bench")})
		want := id * int64(subs)
		for delivered.Load() < want {
			<-progress
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	n := float64(delivered.Load())
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/delivery")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/delivery")
}

// BenchmarkCursorBlock is the per-response cost of the starting and final
// control blocks.
func BenchmarkCursorBlock(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		stream.CursorBlock(123456789, stream.EndMaxDuration)
	}
}
