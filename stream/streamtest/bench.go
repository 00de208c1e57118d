package streamtest

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// Event is the event of the benchmarks: id on topic, a small JSON object
// as its data.
func Event(id int64, topic string) store.Event {
	return store.Event{
		ID:    id,
		Topic: topic,
		Type:  "message",
		Data:  []byte(`{"t":1763798400000000000,"text":"hello"}`),
		Time:  time.UnixMilli(1763798400123).UTC(),
	}
}

// Deliveries counts the events handed to subscribers, for a fan-out
// benchmark to wait on. It is also a stream.StreamObserver, counting what
// parked streams write.
type Deliveries struct {
	n        atomic.Int64
	progress chan struct{}
}

// NewDeliveries returns a count at zero.
func NewDeliveries() *Deliveries {
	return &Deliveries{progress: make(chan struct{}, 1)}
}

// Add counts n events handed to one subscriber.
func (d *Deliveries) Add(n int) {
	if n == 0 {
		return
	}
	d.n.Add(int64(n))
	select {
	case d.progress <- struct{}{}:
	default:
	}
}

// Delivered counts the events written to one parked stream.
func (d *Deliveries) Delivered(events []*stream.Event, _ bool) { d.Add(len(events)) }

// Fanout runs a fan-out benchmark for each number of subscribers in
// counts, as the sub-benchmark "subs=N". For each, start sets up a hub
// with subs subscribers that count in d what they are handed; Fanout then
// commits one event at a time on topic "bench" and waits until every
// subscriber has it. It reports allocs/delivery, every allocation in the
// process (hub and subscribers) per event handed to one subscriber, and
// ns/delivery.
func Fanout(b *testing.B, counts []int, start func(b *testing.B, subs int, d *Deliveries) *stream.Hub) {
	for _, subs := range counts {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			d := NewDeliveries()
			hub := start(b, subs, d)
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			var id int64
			for b.Loop() {
				id++
				hub.Committed([]store.Event{Event(id, "bench")})
				for d.n.Load() < id*int64(subs) {
					<-d.progress
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			n := float64(d.n.Load())
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/delivery")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/delivery")
		})
	}
}
