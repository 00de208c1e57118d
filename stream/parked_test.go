package stream_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
	"github.com/tidings/tidings/stream/streamtest"
)

// parkWait bounds every wait of these tests.
const parkWait = 60 * time.Second

// ended is what a parked stream's Done reported.
type ended struct {
	reason string
	events int
}

// parkedClient is the client end of one parked stream.
type parkedClient struct {
	conn   net.Conn
	resp   *http.Response
	topics []string
	start  int64
	done   chan ended
	got    atomic.Int64 // events read so far
}

type parkOpts struct {
	end       time.Time
	heartbeat time.Duration
	small     bool // a small send buffer on the server's end
	stuck     bool // and a small receive buffer on the client's
}

// parkOne opens a TCP connection to ln, answers it on the server side as
// the SSE handler does (headers, then the retry line and the starting
// cursor block in one chunk), parks the server side and returns the
// client side, its response read.
func parkOne(t testing.TB, ss *stream.Streams, hub *stream.Hub, ln net.Listener, topics []string, o parkOpts) *parkedClient {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// (A small receive buffer is only for clients that never read: on
	// loopback the kernel then leaves a reader's window shut and waits
	// for its own probes, which back off to seconds.)
	if o.small || o.stuck {
		sc.(*net.TCPConn).SetWriteBuffer(4096)
	}
	if o.stuck {
		c.(*net.TCPConn).SetReadBuffer(4096)
	}
	sub, err := hub.Subscribe(topics)
	if err != nil {
		t.Fatal(err)
	}
	cursor := hub.Head()
	first := append(stream.Retry(1000), stream.CursorBlock(cursor, "")...)
	head := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(first), first)
	if _, err := io.WriteString(sc, head); err != nil {
		t.Fatal(err)
	}
	if o.end.IsZero() {
		o.end = time.Now().Add(time.Hour)
	}
	if o.heartbeat == 0 {
		o.heartbeat = time.Hour
	}
	pc := &parkedClient{conn: c, topics: topics, start: cursor, done: make(chan ended, 1)}
	ss.Park(sc, stream.Stream{
		Sub:       sub,
		Cursor:    cursor,
		End:       o.end,
		Heartbeat: o.heartbeat,
		Done:      func(e stream.StreamEnd) { pc.done <- ended{e.Reason, e.Events} },
	})
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	pc.resp = resp
	return pc
}

// received is what a client read off its stream.
type received struct {
	ids    []int64
	final  *streamtest.Control // the final cursor block; nil without one
	pings  int
	err    error // how the body ended: nil for its proper end
	tail   bool  // bytes came after the final block
	blocks int
}

// readStream reads a stream to its end; slow readers take their time.
// stopAfter > 0 closes the connection after that many events.
func readStream(pc *parkedClient, slow bool, stopAfter int) received {
	return readStreamUntil(pc, slow, stopAfter, 0, nil)
}

// readStreamUntil is readStream that also signals all once it has read
// expect events.
func readStreamUntil(pc *parkedClient, slow bool, stopAfter, expect int, all *sync.WaitGroup) received {
	var out received
	defer pc.conn.Close()
	var body io.Reader = pc.resp.Body
	if slow {
		body = slowReader{body}
	}
	rd := streamtest.NewReader(body)
	for {
		it, err := rd.Next()
		if out.final != nil && it.Raw != "" {
			out.tail = true
		}
		if err != nil {
			if err != io.EOF || out.final == nil {
				out.err = err
				if err == io.EOF {
					out.err = io.ErrUnexpectedEOF
				}
			}
			return out
		}
		if it.Comment {
			if it.Raw == string(stream.Ping) {
				out.pings++
			}
			continue
		}
		out.blocks++
		switch {
		case out.blocks == 1:
			// The retry line and the starting block.
		case it.IsCursor():
			c, err := it.Control()
			if err != nil {
				out.err = err
				return out
			}
			out.final = &c
		default:
			id, _ := strconv.ParseInt(it.ID, 10, 64)
			out.ids = append(out.ids, id)
			pc.got.Store(int64(len(out.ids)))
			if len(out.ids) == expect && all != nil {
				all.Done()
			}
			if stopAfter > 0 && len(out.ids) == stopAfter {
				return out
			}
		}
	}
}

// slowReader reads at most 512 bytes at a time, now and then after a
// pause.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	if rand.IntN(4) == 0 {
		time.Sleep(time.Millisecond) // a slow reader, not a synchronisation
	}
	return s.r.Read(p[:min(len(p), 512)])
}

func newStreams(t testing.TB, hub *stream.Hub, o stream.StreamsOptions) *stream.Streams {
	t.Helper()
	ss := stream.NewStreams(hub, o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), parkWait)
		defer cancel()
		ss.Close(ctx)
	})
	return ss
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func waitEnded(t testing.TB, pc *parkedClient) ended {
	t.Helper()
	select {
	case e := <-pc.done:
		return e
	case <-time.After(parkWait):
		t.Fatalf("stream of %v did not end", pc.topics)
		return ended{}
	}
}

// publishData commits n events on each of topics with data of size bytes.
func publishData(t testing.TB, st *store.Store, n, size int, topics ...string) {
	t.Helper()
	pad := strings.Repeat("x", size)
	for i := range n {
		in := make([]store.Input, len(topics))
		for j, tp := range topics {
			in[j] = store.Input{Topic: tp, Type: "message", Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, pad))}
		}
		if _, err := st.Append(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
}

// topicIDs returns every committed id of topics above after, in order.
func topicIDs(t testing.TB, st *store.Store, topics []string, after int64) []int64 {
	t.Helper()
	var ids []int64
	for {
		p, err := st.ReadAfter(context.Background(), topics, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			ids = append(ids, e.ID)
		}
		if !p.More {
			return ids
		}
		after = p.Cursor
	}
}

// TestParkedStreamsEndWithExactlyTheirSequence parks thousands of streams
// on overlapping topics, with small socket buffers and random slow
// readers, some of which leave midway, commits events while they read,
// then stops the hub: every stream that stayed ends with a final block
// after exactly the ids of its topics, in order, and nothing after it.
func TestParkedStreamsEndWithExactlyTheirSequence(t *testing.T) {
	t.Parallel()
	subs := 2000
	if testing.Short() {
		subs = 300
	}
	hub, st := newHub(t, store.Options{}, stream.HubOptions{})
	ss := newStreams(t, hub, stream.StreamsOptions{WriteTimeout: parkWait, Writers: 4})
	ln := listen(t)
	topicSets := [][]string{{"a"}, {"b"}, {"c"}, {"a", "b"}, {"b", "c", "d"}}
	clients := make([]*parkedClient, subs)
	for i := range clients {
		clients[i] = parkOne(t, ss, hub, ln, topicSets[i%len(topicSets)], parkOpts{small: i%3 == 0})
	}
	results := make([]received, subs)
	leaves := make([]int, subs)
	var wg sync.WaitGroup
	for i, pc := range clients {
		if i%7 == 3 {
			leaves[i] = 1 + rand.IntN(5)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = readStream(pc, i%2 == 0, leaves[i])
		}()
	}
	// Commits in several shapes, while the streams are read: single
	// events, batches over topics.
	publishData(t, st, 20, 1500, "a")
	publishData(t, st, 10, 100, "b", "c", "d")
	publishData(t, st, 10, 3000, "a", "b")
	// Wait until every stream that stays has every event of its topics.
	want := map[string][]int64{}
	for _, ts := range topicSets {
		want[fmt.Sprint(ts)] = topicIDs(t, st, ts, 0)
	}
	deadline := time.Now().Add(parkWait)
	for i := 0; i < len(clients); {
		pc := clients[i]
		if leaves[i] > 0 || pc.got.Load() == int64(len(want[fmt.Sprint(pc.topics)])) {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %d on %v has %d of its %d events", i, pc.topics, pc.got.Load(), len(want[fmt.Sprint(pc.topics)]))
		}
		time.Sleep(5 * time.Millisecond) // polling, bounded by the deadline
	}
	hub.Stop()
	wg.Wait()

	for i, pc := range clients {
		r := results[i]
		e := waitEnded(t, pc)
		want := want[fmt.Sprint(pc.topics)]
		if leaves[i] > 0 {
			if !slices.Equal(r.ids, want[:len(r.ids)]) || len(r.ids) != leaves[i] {
				t.Fatalf("stream %d (leaves after %d): got ids %v, want a prefix of %v", i, leaves[i], r.ids, want)
			}
			if e.reason != stream.EndClientGone && e.reason != stream.EndShuttingDown {
				t.Errorf("stream %d left: ended %q", i, e.reason)
			}
			continue
		}
		if r.err != nil || r.tail {
			t.Fatalf("stream %d: body ended with %v, bytes after the final block: %v", i, r.err, r.tail)
		}
		if !slices.Equal(r.ids, want) {
			t.Fatalf("stream %d on %v: got ids %v, want %v", i, pc.topics, r.ids, want)
		}
		// The final cursor is at least the last id delivered (the stream
		// may have read past it, over other topics' ids) and never beyond
		// what was committed.
		if r.final == nil || r.final.End != stream.EndShuttingDown {
			t.Fatalf("stream %d: final block %+v, want shutting_down", i, r.final)
		}
		if c := r.final.Cursor; c < want[len(want)-1] || c > hub.Head() {
			t.Fatalf("stream %d: final cursor %d, want from %d to %d", i, c, want[len(want)-1], hub.Head())
		}
		if e.reason != stream.EndShuttingDown || e.events != len(want) {
			t.Errorf("stream %d: Done(%q, %d), want (%q, %d)", i, e.reason, e.events, stream.EndShuttingDown, len(want))
		}
	}
	if n := ss.Active(); n != 0 {
		t.Errorf("%d streams still parked", n)
	}
	if n := hub.Active(); n != 0 {
		t.Errorf("%d subscriptions still open", n)
	}
}

// TestParkedStreamFraming checks the exact bytes of a stream: event
// blocks as encoded at commit, pings as lone comment lines while idle,
// and the final block on the maximum duration, then the body's end.
func TestParkedStreamFraming(t *testing.T) {
	t.Parallel()
	hub, st := newHub(t, store.Options{}, stream.HubOptions{})
	ss := newStreams(t, hub, stream.StreamsOptions{})
	ln := listen(t)

	pc := parkOne(t, ss, hub, ln, []string{"f"}, parkOpts{})
	if _, err := st.Append(context.Background(), []store.Input{
		{Topic: "f", Type: "message", Data: json.RawMessage(`{"a":1}`)},
		{Topic: "f", Type: "order.paid", Data: json.RawMessage(`"x"`)},
	}); err != nil {
		t.Fatal(err)
	}
	hub.Stop()
	body, err := io.ReadAll(pc.resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := hub.Read(context.Background(), []string{"f"}, 0, 10)
	var want bytes.Buffer
	want.Write(stream.Retry(1000))
	want.Write(stream.CursorBlock(0, ""))
	for _, e := range b.Events {
		want.Write(e.Frame)
	}
	want.Write(stream.CursorBlock(2, stream.EndShuttingDown))
	if !bytes.Equal(body, want.Bytes()) {
		t.Fatalf("got body\n%q\nwant\n%q", body, want.Bytes())
	}
	if e := waitEnded(t, pc); e != (ended{stream.EndShuttingDown, 2}) {
		t.Errorf("Done%v, want (%s, 2)", e, stream.EndShuttingDown)
	}
}

// TestParkedStreamHeartbeatAndMaxDuration: an idle stream gets pings and
// ends on its maximum duration with a final block at its cursor.
func TestParkedStreamHeartbeatAndMaxDuration(t *testing.T) {
	t.Parallel()
	hub, _ := newHub(t, store.Options{}, stream.HubOptions{})
	ss := newStreams(t, hub, stream.StreamsOptions{})
	ln := listen(t)
	pc := parkOne(t, ss, hub, ln, []string{"h"}, parkOpts{end: time.Now().Add(time.Second), heartbeat: 100 * time.Millisecond})
	r := readStream(pc, false, 0)
	if r.err != nil || r.tail {
		t.Fatalf("body ended with %v, bytes after the final block: %v", r.err, r.tail)
	}
	if r.pings == 0 {
		t.Error("no ping in a second with a 100ms heartbeat")
	}
	if r.final == nil || *r.final != (streamtest.Control{Cursor: 0, End: stream.EndMaxDuration}) {
		t.Errorf("final block %+v, want max_duration at 0", r.final)
	}
	if e := waitEnded(t, pc); e.reason != stream.EndMaxDuration {
		t.Errorf("ended %q", e.reason)
	}
}

// TestParkedSlowStreamDelaysNoOther: a stream whose client reads nothing
// fills its socket buffers; every other stream still gets every event
// and its final block while the stuck one waits out its write timeout,
// which then cuts it off without a final block.
func TestParkedSlowStreamDelaysNoOther(t *testing.T) {
	t.Parallel()
	hub, st := newHub(t, store.Options{}, stream.HubOptions{})
	ss := newStreams(t, hub, stream.StreamsOptions{WriteTimeout: time.Hour, Writers: 1})
	ln := listen(t)
	stuck := parkOne(t, ss, hub, ln, []string{"s"}, parkOpts{stuck: true})
	var others []*parkedClient
	for range 50 {
		others = append(others, parkOne(t, ss, hub, ln, []string{"s"}, parkOpts{}))
	}
	results := make([]received, len(others))
	var wg, all sync.WaitGroup
	all.Add(len(others))
	for i, pc := range others {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = readStreamUntil(pc, false, 0, 60, &all) }()
	}
	publishData(t, st, 60, 4000, "s") // far more than the stuck one's buffers hold
	want := topicIDs(t, st, []string{"s"}, 0)
	// The others get every event and end with their final block, on one
	// writer, while the stuck one's write timeout (an hour) is far away.
	all.Wait()
	hub.Stop()
	wg.Wait()
	for i, r := range results {
		if !slices.Equal(r.ids, want) || r.final == nil {
			t.Fatalf("stream %d: got %d ids (want %d), final %+v", i, len(r.ids), len(want), r.final)
		}
	}
	select {
	case e := <-stuck.done:
		t.Fatalf("the stuck stream ended (%v) though it waits on its remainder", e)
	default:
	}
	// Close gives up on it at once: it is closed without a final block.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ss.Close(ctx); err != context.Canceled {
		t.Errorf("Close with a stuck stream: %v, want context.Canceled", err)
	}
	if e := waitEnded(t, stuck); e.reason != stream.EndShuttingDown {
		t.Errorf("stuck stream ended %q", e.reason)
	}
	r := readStream(stuck, false, 0)
	if r.final != nil || r.err == nil {
		t.Errorf("stuck stream: final %+v, body end %v; want no final block and a cut body", r.final, r.err)
	}
}

// TestParkedSlowStreamIsCutOff: a stream that cannot take a write within
// the write timeout is closed without a final block; its client resumes
// from the last id it read.
func TestParkedSlowStreamIsCutOff(t *testing.T) {
	t.Parallel()
	hub, st := newHub(t, store.Options{}, stream.HubOptions{})
	ss := newStreams(t, hub, stream.StreamsOptions{WriteTimeout: 200 * time.Millisecond})
	ln := listen(t)
	stuck := parkOne(t, ss, hub, ln, []string{"s"}, parkOpts{stuck: true})
	publishData(t, st, 60, 4000, "s")
	if e := waitEnded(t, stuck); e.reason != stream.EndSlow {
		t.Fatalf("ended %q, want %q", e.reason, stream.EndSlow)
	}
	r := readStream(stuck, false, 0)
	want := topicIDs(t, st, []string{"s"}, 0)
	if r.final != nil || r.err == nil || !slices.Equal(r.ids, want[:len(r.ids)]) {
		t.Errorf("cut-off stream: final %+v, body end %v, ids %v; want no final block, a cut body and a prefix", r.final, r.err, r.ids)
	}
	if hub.Active() != 0 {
		t.Errorf("%d subscriptions open after the cut-off", hub.Active())
	}
}

// TestParkedStreamsClose: Close ends every stream with a shutting_down
// final block, and a stream parked after Close is closed at once.
func TestParkedStreamsClose(t *testing.T) {
	t.Parallel()
	hub, st := newHub(t, store.Options{}, stream.HubOptions{})
	ss := stream.NewStreams(hub, stream.StreamsOptions{})
	ln := listen(t)
	var clients []*parkedClient
	for range 100 {
		clients = append(clients, parkOne(t, ss, hub, ln, []string{"c"}, parkOpts{}))
	}
	publishData(t, st, 3, 10, "c")
	results := make([]received, len(clients))
	var wg, all sync.WaitGroup
	all.Add(len(clients))
	for i, pc := range clients {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = readStreamUntil(pc, i%2 == 0, 0, 3, &all) }()
	}
	all.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), parkWait)
	defer cancel()
	if err := ss.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.final == nil || r.final.End != stream.EndShuttingDown || len(r.ids) != 3 {
			t.Fatalf("stream %d: %d ids, final %+v, end %v", i, len(r.ids), r.final, r.err)
		}
	}
	late := parkOne(t, ss, hub, ln, []string{"c"}, parkOpts{})
	if e := waitEnded(t, late); e.reason != stream.EndShuttingDown {
		t.Errorf("late stream ended %q", e.reason)
	}
}
