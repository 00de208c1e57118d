package stream_test

import (
	"context"
	"sync"
	"testing"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
	"github.com/tidings/tidings/stream/streamtest"
)

// nopStore answers reads below the tail; the benchmarks never make one.
type nopStore struct{}

func (nopStore) Head(context.Context) (int64, error)   { return 0, nil }
func (nopStore) Pruned(context.Context) (int64, error) { return 0, nil }

func (nopStore) ReadAfter(context.Context, []string, int64, int) (store.Page, error) {
	return store.Page{}, nil
}

// BenchmarkEncode is the once-per-event cost of building the SSE frame
// and the JSON object.
func BenchmarkEncode(b *testing.B) {
	e := streamtest.Event(123456789, "room.lobby")
	b.ReportAllocs()
	for b.Loop() {
		stream.Encode(e)
	}
}

// benchHub is a hub over nopStore.
func benchHub(b *testing.B) *stream.Hub {
	hub := stream.NewHub(stream.HubOptions{})
	if err := hub.Attach(context.Background(), nopStore{}); err != nil {
		b.Fatal(err)
	}
	return hub
}

// BenchmarkCommittedFanout commits one event at a time to a hub whose
// subscribers each wait on their wake signal and read from their own
// cursor, as the SSE handler does, and waits until all of them have it.
// allocs/delivery counts every allocation in the process (hub and
// readers) per event handed to one subscriber.
func BenchmarkCommittedFanout(b *testing.B) {
	streamtest.Fanout(b, []int{1, 100, 1000, 5000}, func(b *testing.B, subs int, d *streamtest.Deliveries) *stream.Hub {
		hub := benchHub(b)
		topics := []string{"bench"}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range subs {
			sub, err := hub.Subscribe(topics)
			if err != nil {
				b.Fatal(err)
			}
			wg.Go(func() {
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
					d.Add(len(batch.Events))
				}
			})
		}
		b.Cleanup(func() { cancel(); wg.Wait() })
		return hub
	})
}

// BenchmarkCursorBlock is the per-response cost of the starting and final
// control blocks.
func BenchmarkCursorBlock(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		stream.CursorBlock(123456789, stream.EndMaxDuration)
	}
}
