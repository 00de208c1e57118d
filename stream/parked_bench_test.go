package stream_test

import (
	"io"
	"sync"
	"testing"

	"github.com/tidings/tidings/stream"
	"github.com/tidings/tidings/stream/streamtest"
)

// BenchmarkParkedFanout commits one event at a time to a hub whose
// subscribers are parked streams on real loopback connections (clients
// drain them), and waits until every stream has written it.
// allocs/delivery counts every allocation in the process per event
// written to one stream.
func BenchmarkParkedFanout(b *testing.B) {
	streamtest.Fanout(b, []int{1000, 5000}, func(b *testing.B, subs int, d *streamtest.Deliveries) *stream.Hub {
		hub := benchHub(b)
		// The clients stop draining once Close has ended their streams
		// (cleanups run last in first).
		var wg sync.WaitGroup
		b.Cleanup(wg.Wait)
		ss := newStreams(b, hub, stream.StreamsOptions{Observer: d})
		ln := listen(b)
		for range subs {
			pc := parkOne(b, ss, hub, ln, []string{"bench"}, parkOpts{})
			wg.Go(func() { defer pc.conn.Close(); io.Copy(io.Discard, pc.conn) })
		}
		return hub
	})
}
