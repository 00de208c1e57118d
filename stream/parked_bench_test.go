package stream_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// countingObserver counts deliveries and signals progress.
type countingObserver struct {
	n        atomic.Int64
	progress chan struct{}
}

func (o *countingObserver) Delivered(events []*stream.Event, _ bool) {
	o.n.Add(int64(len(events)))
	select {
	case o.progress <- struct{}{}:
	default:
	}
}

// BenchmarkParkedFanout commits one event at a time to a hub whose
// subscribers are parked streams on real loopback connections (clients
// drain them), and waits until every stream has written it.
// allocs/delivery counts every allocation in the process per event
// written to one stream.
func BenchmarkParkedFanout(b *testing.B) {
	for _, subs := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			hub := stream.NewHub(stream.HubOptions{})
			if err := hub.Attach(context.Background(), nopStore{}); err != nil {
				b.Fatal(err)
			}
			obs := &countingObserver{progress: make(chan struct{}, 1)}
			ss := stream.NewStreams(hub, stream.StreamsOptions{Observer: obs})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			var wg sync.WaitGroup
			var clients []net.Conn
			for range subs {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				sc, err := ln.Accept()
				if err != nil {
					b.Fatal(err)
				}
				clients = append(clients, c)
				wg.Add(1)
				go func() { defer wg.Done(); io.Copy(io.Discard, c) }()
				sub, err := hub.Subscribe([]string{"bench"})
				if err != nil {
					b.Fatal(err)
				}
				ss.Park(sc, stream.Stream{Sub: sub, Cursor: hub.Head(), End: time.Now().Add(time.Hour), Heartbeat: time.Hour})
			}
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				ss.Close(ctx)
				for _, c := range clients {
					c.Close()
				}
				wg.Wait()
			})

			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			var id int64
			for b.Loop() {
				id++
				hub.Committed([]store.Event{benchEvent(id, "bench")})
				for obs.n.Load() < id*int64(subs) {
					<-obs.progress
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			n := float64(obs.n.Load())
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/delivery")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/delivery")
		})
	}
}
