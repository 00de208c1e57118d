package stream_test

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// TestParkedClientGoneIsNoticedAtOnce: a client that closes its
// connection ends its parked stream (client_gone) long before the next
// heartbeat would have found it, and releases its subscription; the other
// streams go on.
func TestParkedClientGoneIsNoticedAtOnce(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("elsewhere a departed client is noticed at the heartbeat")
	}
	t.Parallel()
	hub, st := newHub(t, store.Options{}, stream.HubOptions{})
	ss := newStreams(t, hub, stream.StreamsOptions{})
	ln := listen(t)
	var clients []*parkedClient
	for range 20 {
		clients = append(clients, parkOne(t, ss, hub, ln, []string{"g"}, parkOpts{heartbeat: time.Hour}))
	}
	for _, pc := range clients[:10] {
		pc.conn.Close()
	}
	for _, pc := range clients[:10] {
		if e := waitEnded(t, pc); e.reason != stream.EndClientGone {
			t.Fatalf("ended %q, want %q", e.reason, stream.EndClientGone)
		}
	}
	if n := hub.Active(); n != 10 {
		t.Errorf("%d subscriptions open, want the 10 of the clients still there", n)
	}
	for i, pc := range clients[10:] {
		select {
		case e := <-pc.done:
			t.Fatalf("stream %d of a client still there ended %q", i, e.reason)
		default:
		}
	}
	publishData(t, st, 1, 10, "g")
	for i, pc := range clients[10:] {
		if r := readStream(pc, false, 1); len(r.ids) != 1 {
			t.Fatalf("stream %d of a client still there: %d ids, %v", i, len(r.ids), r.err)
		}
	}
}

// TestStreamsCloseTwice: a second Close leaves alone the descriptors the
// first one released, which the process may have reused since.
func TestStreamsCloseTwice(t *testing.T) {
	hub, _ := newHub(t, store.Options{}, stream.HubOptions{})
	ss := stream.NewStreams(hub, stream.StreamsOptions{})
	if err := ss.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Opened now, these take the lowest free descriptors: those the
	// first Close released, if it had any.
	var pipes [][2]*os.File
	for range 4 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		pipes = append(pipes, [2]*os.File{r, w})
	}
	if err := ss.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, p := range pipes {
		if _, err := p[1].Write([]byte{1}); err != nil {
			t.Fatalf("pipe %d after the second Close: %v", i, err)
		}
		if _, err := p[0].Read(make([]byte, 1)); err != nil {
			t.Fatalf("pipe %d after the second Close: %v", i, err)
		}
	}
}
