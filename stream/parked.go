package stream

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Reasons a parked stream ends without a final block. (A final block
// carries one of the End* reasons of the wire instead.)
const (
	EndSlow       = "slow"        // it could not take a write within the write timeout
	EndClientGone = "client_gone" // the connection failed or the client closed it
)

// Bounds of the parked writers.
const (
	// chunkBudget bounds the event bytes of one chunk, and with it the
	// remainder kept for a stream whose socket buffer is full.
	chunkBudget = 64 << 10
	// parkedReadLimit bounds the events of one read.
	parkedReadLimit = 512
	// firstRetry and maxRetry space the attempts to write a remainder.
	firstRetry = time.Millisecond
	maxRetry   = 50 * time.Millisecond
	// fallbackWrite is the deadline of one write to a connection that
	// offers no file descriptor (non-blocking writes need one).
	fallbackWrite = 10 * time.Millisecond
)

// StreamObserver learns of deliveries: events written to one stream; live
// is false for the catch-up that follows the starting block.
type StreamObserver interface {
	Delivered(events []*Event, live bool)
}

// StreamsOptions configure Streams. Zero values take defaults.
type StreamsOptions struct {
	// WriteTimeout is how long a stream may be unable to take a chunk
	// before it is cut off (default 10s).
	WriteTimeout time.Duration
	// Writers is the number of writer goroutines (default two per
	// GOMAXPROCS).
	Writers  int
	Observer StreamObserver
}

// Stream is what Park needs to go on with a stream whose response headers,
// retry line and starting block are already on the connection.
type Stream struct {
	// Sub was registered before the first read; Streams closes it.
	Sub *Subscription
	// Cursor is where the stream goes on: the starting block's cursor.
	Cursor int64
	// End is when the maximum duration ends the stream.
	End time.Time
	// Heartbeat is the longest silence before a ping.
	Heartbeat time.Duration
	// Untyped leaves the event line out of event blocks (the type stays
	// in the data), for an EventSource's onmessage.
	Untyped bool
	// Done, if set, is called once when the stream has ended and its
	// connection is closed. It runs on a writer goroutine and must not
	// block.
	Done func(StreamEnd)
}

// StreamEnd is how a parked stream ended.
type StreamEnd struct {
	Reason string // an End* reason
	Events int    // events written
	Bytes  int64  // bytes written while parked
}

// Poll is what ParkPoll needs to go on with a long-poll that waits: its
// request is read, nothing of its answer is written.
type Poll struct {
	// Sub was registered before the first read; Streams closes it.
	Sub *Subscription
	// Cursor is where the poll waits from: its first read found nothing
	// after it.
	Cursor int64
	Limit  int
	// End is when the poll's timeout answers it empty.
	End time.Time
	// Check is how often to look whether the client has gone.
	Check time.Duration
	// Answer appends to dst the whole HTTP response carrying b, the
	// events found (none on the timeout or a stop). It runs on a writer
	// goroutine.
	Answer func(dst []byte, b Batch) []byte
	// Done, if set, is called once the poll has ended and its connection
	// is closed (Reason is PollAnswered, PollTimedOut, or an End* reason).
	Done func(StreamEnd)
}

// How a parked poll ends, besides the End* reasons.
const (
	PollAnswered = "answered"
	PollTimedOut = "timeout"
)

// Streams writes parked SSE streams: connections taken from the HTTP
// server once their starting block is flushed, so that an idle stream
// holds neither a goroutine nor buffers. Each stream's connection carries
// an HTTP/1.1 chunked body, which Streams frames itself.
//
// A few writer goroutines serve every stream. A commit on a stream's
// topics, a due heartbeat or the end of its maximum duration queues it;
// its writer reads from the stream's own cursor (from the hub's tail,
// without allocating) and writes the pre-encoded frames in one chunk,
// without blocking: what the socket does not take is kept as the stream's
// remainder (at most one chunk) and retried from the timer, and the stream
// reads nothing more until it is written. A stream whose remainder stays
// unwritten for the write timeout is cut off without a final block. One
// timer heap serves every stream's heartbeat, maximum duration and
// retries.
//
// A stream ends with its final cursor block on its maximum duration, on
// Hub.Stop and on Close; nothing is written after the final block but the
// chunked body's end, and then the connection is closed.
type Streams struct {
	hub      *Hub
	timeout  time.Duration
	observer StreamObserver
	epoch    time.Time
	writers  []*writer
	timers   timerHeap
	watch    *closeWatcher // nil: departed clients are noticed by the heartbeat
	kick     chan struct{}
	ctx      context.Context // cancelled when Close gives up waiting
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	next     atomic.Uint32 // round robin over writers
	closing  atomic.Bool   // Close began: every stream writes its final block
	forced   atomic.Bool   // Close ran out of time: streams end without writing

	mu      sync.Mutex
	all     map[*parked]struct{}
	stopped bool          // Close is done waiting: Park closes at once
	idle    chan struct{} // closed while no stream is parked
}

// NewStreams starts the writers of streams fed by hub. Close stops them.
func NewStreams(hub *Hub, o StreamsOptions) *Streams {
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Writers <= 0 {
		o.Writers = 2 * runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Streams{
		hub:      hub,
		timeout:  o.WriteTimeout,
		observer: o.Observer,
		epoch:    time.Now(),
		kick:     make(chan struct{}, 1),
		ctx:      ctx,
		cancel:   cancel,
		all:      make(map[*parked]struct{}),
		idle:     make(chan struct{}),
	}
	for range o.Writers {
		w := &writer{s: s, raw: newRawWriter()}
		w.cond.L = &w.mu
		s.writers = append(s.writers, w)
	}
	s.wg.Add(len(s.writers) + 1)
	for _, w := range s.writers {
		go func() { defer s.wg.Done(); w.run() }()
	}
	go func() { defer s.wg.Done(); s.runTimers() }()
	if s.watch = newCloseWatcher(); s.watch != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.watch.run() }()
	}
	return s
}

// now is the monotonic time in nanoseconds since the epoch.
func (s *Streams) now() int64 { return int64(time.Since(s.epoch)) }

// Active returns the number of parked streams.
func (s *Streams) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.all)
}

// Park takes over conn, which carries a chunked response whose starting
// block is flushed, and st.Sub. From now on Streams writes to conn and
// closes both; after Close it closes them at once.
func (s *Streams) Park(conn net.Conn, st Stream) {
	p := newParked(st.Sub, st.Cursor, st.Heartbeat, st.Done)
	p.untyped = st.Untyped
	s.park(conn, p, st.End)
}

// ParkPoll takes over conn, whose request pl answers once events follow
// pl.Cursor, its timeout passes or the server stops, and pl.Sub. The
// connection is closed after the answer (its headers must say so).
func (s *Streams) ParkPoll(conn net.Conn, pl Poll) {
	p := newParked(pl.Sub, pl.Cursor, pl.Check, pl.Done)
	p.poll = &pollSpec{limit: pl.Limit, answer: pl.Answer}
	s.park(conn, p, pl.End)
}

// newParked is what a stream and a poll share: the subscription, the
// cursor, how often the timers look at it (a stream's heartbeat, a poll's
// check for a client gone) and what to call at its end.
func newParked(sub *Subscription, cursor int64, every time.Duration, done func(StreamEnd)) *parked {
	return &parked{sub: sub, cursor: cursor, hb: int64(max(every, time.Millisecond)), done: done}
}

func (s *Streams) park(conn net.Conn, p *parked, end time.Time) {
	p.s, p.conn, p.hidx = s, conn, -1
	now := s.now()
	p.end = now + int64(time.Until(end))
	p.lastWrite = now
	p.raw = rawConnOf(conn)
	p.w = s.writers[int(s.next.Add(1))%len(s.writers)]
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		// The writers are gone: answer here, briefly, and close.
		var b []byte
		if p.poll != nil {
			b = p.poll.answer(nil, Batch{Cursor: p.cursor})
		} else {
			b = append(appendChunk(nil, CursorBlock(p.cursor, EndShuttingDown)), "0\r\n\r\n"...)
		}
		conn.SetWriteDeadline(time.Now().Add(fallbackWrite))
		conn.Write(b)
		conn.Close()
		p.sub.Close()
		if p.done != nil {
			p.done(StreamEnd{Reason: EndShuttingDown})
		}
		return
	}
	if len(s.all) == 0 {
		select {
		case <-s.idle:
			s.idle = make(chan struct{})
		default:
		}
	}
	s.all[p] = struct{}{}
	s.mu.Unlock()
	s.watch.add(p)
	// From here on the hub's wakes reach the writer. The first serve reads
	// from the cursor, so a commit before this point is not missed.
	p.sub.parked.Store(p)
	p.wake()
}

// Close ends every parked stream with its final block (shutting_down) and
// waits for them, then stops the writers. When ctx ends first, the
// streams still open are closed without a final block, and Close returns
// ctx.Err().
func (s *Streams) Close(ctx context.Context) error {
	s.closing.Store(true)
	s.wakeAll()
	var err error
	select {
	case <-s.waitIdle():
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.mu.Lock()
	s.stopped = true
	left := len(s.all)
	s.mu.Unlock()
	if left > 0 {
		// Out of time, or parked while the others ended: end them now.
		s.forced.Store(true)
		s.cancel()
		s.wakeAll()
		<-s.waitIdle()
	}
	for _, w := range s.writers {
		w.mu.Lock()
		w.stop = true
		w.mu.Unlock()
		w.cond.Broadcast()
	}
	s.watch.close()
	s.cancel()
	s.wg.Wait()
	s.watch.release()
	return err
}

// waitIdle returns a channel closed once no stream is parked.
func (s *Streams) waitIdle() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 {
		s.closeIdleLocked()
	}
	return s.idle
}

func (s *Streams) closeIdleLocked() {
	select {
	case <-s.idle:
	default:
		close(s.idle)
	}
}

func (s *Streams) wakeAll() {
	s.mu.Lock()
	all := make([]*parked, 0, len(s.all))
	for p := range s.all {
		all = append(all, p)
	}
	s.mu.Unlock()
	for _, p := range all {
		p.wake()
	}
}

// Stream states: a stream is in at most one writer's queue, and served by
// one writer at a time.
const (
	stIdle    = iota
	stQueued  // in its writer's queue
	stRunning // being served
	stAgain   // being served, and woken meanwhile: serve it again
	stDead    // ended
)

// parked is one parked stream. Its fields other than state, sched and
// the heap's are only touched by its writer while it serves it.
type parked struct {
	s      *Streams
	w      *writer
	conn   net.Conn
	raw    syscall.RawConn // nil: writes with a short deadline instead
	sub    *Subscription
	cursor int64 // every event up to here is written (or in rem)
	more   bool  // more events wait at once
	live   bool  // the first read (a catch-up) is done
	// untyped: event blocks without their event line.
	untyped bool
	// lastRead is set once the stream, stopping, has read what was
	// committed before the stop.
	lastRead bool
	events   int
	bytes    int64
	done     func(StreamEnd)
	poll     *pollSpec // set for a long-poll

	end       int64 // times: nanoseconds since the epoch
	hb        int64
	lastWrite int64
	stalled   int64  // when rem was first left unwritten
	retry     int64  // the next wait before retrying rem
	rem       []byte // what the socket did not take, at most one chunk
	ending    string // the final block is written (or in rem)

	state atomic.Uint32
	sched atomic.Int64 // the heap's due time for it, 0 when not in it
	// gone is set when the client has closed its side (closeWatcher).
	gone atomic.Bool
	// Its registration with the close watcher, 0 when none (under the
	// watcher's lock).
	watchID uint32
	watchFD int

	hidx int   // index in the timer heap, -1 when not in it (under timers.mu)
	due  int64 // (under timers.mu)
}

// pollSpec is what a parked long-poll needs beyond a stream.
type pollSpec struct {
	limit  int
	answer func(dst []byte, b Batch) []byte
}

// wake queues p for its writer, unless it is already queued or ended.
func (p *parked) wake() {
	for {
		switch p.state.Load() {
		case stIdle:
			if p.state.CompareAndSwap(stIdle, stQueued) {
				p.w.push(p)
				return
			}
		case stRunning:
			if p.state.CompareAndSwap(stRunning, stAgain) {
				return
			}
		default:
			return
		}
	}
}

// writer is one writer goroutine and its queue.
type writer struct {
	s     *Streams
	mu    sync.Mutex
	cond  sync.Cond
	q     []*parked
	spare []*parked
	stop  bool

	buf    []byte // the chunk of events being built, kept as shared
	ctl    []byte // a control chunk: ping, final block
	raw    *rawWriter
	evs    []*Event // the events of the last read
	shared sharedChunk
}

// sharedChunk is the last chunk of events this writer built for a
// single-topic stream; the next stream of that topic at the same cursor
// writes the same bytes while the hub's head has not moved.
type sharedChunk struct {
	topic   string
	from    int64
	head    int64
	cursor  int64
	more    bool
	n       int // events in it
	chunk   []byte
	valid   bool
	untyped bool
}

func (w *writer) push(p *parked) {
	w.mu.Lock()
	w.q = append(w.q, p)
	w.mu.Unlock()
	w.cond.Signal()
}

func (w *writer) run() {
	for {
		w.mu.Lock()
		for len(w.q) == 0 && !w.stop {
			w.cond.Wait()
		}
		if len(w.q) == 0 {
			w.mu.Unlock()
			return
		}
		q := w.q
		w.q = w.spare[:0]
		w.mu.Unlock()
		var now int64
		for i, p := range q {
			q[i] = nil
			if i%64 == 0 {
				now = w.s.now()
			}
			p.state.Store(stRunning)
			again := w.serve(p, now)
			if p.state.Load() == stDead {
				continue
			}
			if again || !p.state.CompareAndSwap(stRunning, stIdle) {
				p.state.Store(stQueued)
				w.push(p)
			}
		}
		w.spare = q[:0]
	}
}

// serve does what is due for p: write its remainder, end it, write new
// events or a heartbeat. It reports whether p should be served again at
// once (more events wait).
func (w *writer) serve(p *parked, now int64) bool {
	s := w.s
	if s.forced.Load() {
		p.finish(EndShuttingDown)
		return false
	}
	if p.gone.Load() {
		p.finish(EndClientGone)
		return false
	}
	if p.rem != nil && !p.flushRem(now) {
		return false
	}
	if p.ending != "" {
		p.finish(p.ending)
		return false
	}
	if p.poll != nil {
		w.servePoll(p, now)
		return false
	}
	if s.closing.Load() || s.hub.Stopping() {
		// What was committed before the stop still goes out, in one last
		// chunk at most, then the final block.
		if !p.lastRead && (p.more || s.hub.headNow.Load() > p.cursor) {
			p.lastRead = true
			if _, err := w.writeEvents(p, now); err == nil && (p.rem != nil || p.state.Load() == stDead) {
				return false // the final block follows the remainder
			}
		}
		w.final(p, EndShuttingDown, now)
		return false
	}
	if now >= p.end {
		w.final(p, EndMaxDuration, now)
		return false
	}
	if p.more || s.hub.headNow.Load() > p.cursor {
		wrote, err := w.writeEvents(p, now)
		if err != nil {
			w.final(p, EndOverloaded, now)
			return false
		}
		if wrote || p.state.Load() == stDead {
			if p.rem == nil && p.more {
				return true
			}
			p.schedule(now)
			return false
		}
	}
	if now-p.lastWrite >= p.hb {
		if p.peerClosed() {
			p.finish(EndClientGone)
			return false
		}
		w.ctl = appendChunk(w.ctl[:0], Ping)
		if !p.write(w.ctl, now) {
			return false
		}
	}
	p.schedule(now)
	return false
}

// servePoll answers a parked long-poll once there is something to
// answer, or looks whether its client has gone.
func (w *writer) servePoll(p *parked, now int64) {
	s := w.s
	b := Batch{Cursor: p.cursor}
	reason := ""
	switch {
	case s.closing.Load() || s.hub.Stopping():
		reason = EndShuttingDown
	case s.hub.headNow.Load() > p.cursor:
		// The read reuses w.evs, which the shared chunk's events are.
		w.shared.valid = false
		next, err := s.hub.readInto(s.ctx, w.evs[:0], p.sub.topics, p.cursor, p.poll.limit)
		if err == nil && cap(next.Events) > cap(w.evs) {
			w.evs = next.Events[:0]
		}
		switch {
		case err != nil:
			reason = EndOverloaded
		case len(next.Events) > 0:
			b, reason = next, PollAnswered
		default:
			p.cursor = next.Cursor
			b.Cursor = next.Cursor
		}
	}
	if reason == "" && now >= p.end {
		reason = PollTimedOut
	}
	if reason == "" {
		if now-p.lastWrite >= p.hb {
			if p.peerClosed() {
				p.finish(EndClientGone)
				return
			}
			p.lastWrite = now
		}
		p.schedule(now)
		return
	}
	p.ending = reason
	p.events = len(b.Events)
	w.ctl = p.poll.answer(w.ctl[:0], b)
	if p.write(w.ctl, now) {
		p.finish(reason)
	}
}

// writeEvents reads what follows p's cursor and writes it as one chunk.
// It reports whether it wrote anything (or left it in the remainder).
func (w *writer) writeEvents(p *parked, now int64) (bool, error) {
	topics := p.sub.topics
	head := w.s.hub.headNow.Load()
	sc := &w.shared
	if len(topics) == 1 && sc.valid && sc.topic == topics[0] && sc.from == p.cursor && sc.head == head && sc.untyped == p.untyped {
		return w.deliver(p, sc.chunk, sc.n, sc.cursor, sc.more, now), nil
	}
	b, err := w.s.hub.readInto(w.s.ctx, w.evs[:0], topics, p.cursor, parkedReadLimit)
	if err != nil {
		return false, err
	}
	if cap(b.Events) > cap(w.evs) {
		w.evs = b.Events[:0]
	}
	// Within the budget, but always at least one event.
	buf := append(w.buf[:0], chunkHeadRoom...)
	n := 0
	for _, e := range b.Events {
		if n > 0 && len(buf)-len(chunkHeadRoom)+len(e.Frame) > chunkBudget {
			break
		}
		if p.untyped {
			// The frame's id line, then the data line alone.
			buf = append(buf, e.Frame[:bytes.IndexByte(e.Frame, '\n')+1]...)
			buf = append(buf, "data: "...)
			buf = append(buf, e.JSON...)
			buf = append(buf, "\n\n"...)
		} else {
			buf = append(buf, e.Frame...)
		}
		n++
	}
	cursor, more := b.Cursor, b.More
	if n < len(b.Events) {
		cursor, more = b.Events[n-1].ID, true
	}
	w.evs = b.Events
	if n == 0 {
		w.buf = buf
		p.cursor, p.more = cursor, more
		p.live = true
		w.shared.valid = false
		return false, nil
	}
	buf = frameChunk(buf)
	w.buf = buf
	if len(topics) == 1 {
		*sc = sharedChunk{topic: topics[0], from: p.cursor, head: head, cursor: cursor, more: more, n: n, chunk: buf, valid: true, untyped: p.untyped}
	} else {
		sc.valid = false
	}
	return w.deliver(p, buf, n, cursor, more, now), nil
}

// deliver writes a chunk of the first n events of w.evs to p.
func (w *writer) deliver(p *parked, chunk []byte, n int, cursor int64, more bool, now int64) bool {
	p.cursor, p.more = cursor, more
	live := p.live
	p.live = true
	// A remainder still holds some of these events; they count as
	// delivered, as bytes in a socket buffer do.
	p.write(chunk, now)
	if p.state.Load() == stDead {
		return true
	}
	p.events += n
	if w.s.observer != nil {
		w.s.observer.Delivered(w.evs[:n], live)
	}
	return true
}

// final writes p's final cursor block and the end of the chunked body.
func (w *writer) final(p *parked, reason string, now int64) {
	p.ending = reason
	w.ctl = appendChunk(w.ctl[:0], CursorBlock(p.cursor, reason))
	w.ctl = append(w.ctl, "0\r\n\r\n"...)
	if p.write(w.ctl, now) {
		p.finish(reason)
	}
}

// write writes b to p without blocking. It reports whether all of it was
// written; otherwise the rest is p's remainder, retried from the timer, or
// p has ended.
func (p *parked) write(b []byte, now int64) bool {
	n, err := p.writeSome(b)
	if err != nil {
		p.finish(EndClientGone)
		return false
	}
	if n == len(b) {
		p.lastWrite = now
		return true
	}
	p.rem = append([]byte(nil), b[n:]...)
	p.stalled = now
	p.retry = int64(firstRetry)
	p.s.at(p, now+p.retry)
	return false
}

// flushRem writes p's remainder. It reports whether it is all written;
// otherwise p waits for the next retry or has been cut off.
func (p *parked) flushRem(now int64) bool {
	n, err := p.writeSome(p.rem)
	if err != nil {
		p.finish(EndClientGone)
		return false
	}
	if n == len(p.rem) {
		p.rem = nil
		p.lastWrite = now
		return true
	}
	p.rem = p.rem[n:]
	if now-p.stalled >= int64(p.s.timeout) {
		p.finish(EndSlow)
		return false
	}
	// A client that takes bytes is retried soon; one that takes none,
	// less and less often.
	if n > 0 {
		p.retry = int64(firstRetry)
	} else {
		p.retry = min(2*p.retry, int64(maxRetry))
	}
	p.s.at(p, min(now+p.retry, p.stalled+int64(p.s.timeout)))
	return false
}

func (p *parked) writeSome(b []byte) (n int, err error) {
	defer func() { p.bytes += int64(n) }()
	if p.raw != nil {
		return p.w.raw.write(p.raw, b)
	}
	p.conn.SetWriteDeadline(time.Now().Add(fallbackWrite))
	n, err = p.conn.Write(b)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		err = nil
	}
	return n, err
}

// peerClosed reports whether the client has closed its side, seen without
// reading anything off the connection. A stream the close watcher holds
// is told of that at once (gone), so only the others are looked at.
// (watchID is set before p is first queued and cleared by its writer.)
func (p *parked) peerClosed() bool {
	return p.raw != nil && p.watchID == 0 && peekEOF(p.raw)
}

// schedule asks the timer for p's next heartbeat or end, whichever is
// first.
func (p *parked) schedule(now int64) {
	next := min(p.end, p.lastWrite+p.hb)
	if due := p.sched.Load(); due != 0 && due <= next {
		return
	}
	p.s.at(p, next)
}

// finish ends p: it closes the connection and the subscription and tells
// Done.
func (p *parked) finish(reason string) {
	p.state.Store(stDead)
	p.s.watch.remove(p)
	p.conn.Close()
	p.sub.Close()
	p.rem = nil
	s := p.s
	s.timers.mu.Lock()
	if p.hidx >= 0 {
		heap.Remove(&s.timers, p.hidx)
	}
	s.timers.mu.Unlock()
	if p.done != nil {
		p.done(StreamEnd{Reason: reason, Events: p.events, Bytes: p.bytes})
	}
	s.mu.Lock()
	delete(s.all, p)
	if len(s.all) == 0 {
		s.closeIdleLocked()
	}
	s.mu.Unlock()
}

// chunkHeadRoom is reserved in front of a chunk's payload for its size
// line, which is known only once the payload is.
var chunkHeadRoom = []byte("          ") // 8 hex digits and CRLF, and one spare

// frameChunk turns headroom+payload into a chunk: size line, payload,
// CRLF. The result starts inside buf.
func frameChunk(buf []byte) []byte {
	n := len(buf) - len(chunkHeadRoom)
	var size [16]byte
	line := append(strconv.AppendInt(size[:0], int64(n), 16), '\r', '\n')
	start := len(chunkHeadRoom) - len(line)
	copy(buf[start:], line)
	return append(buf, '\r', '\n')[start:]
}

// appendChunk appends payload to b as one chunk.
func appendChunk(b, payload []byte) []byte {
	b = strconv.AppendInt(b, int64(len(payload)), 16)
	b = append(b, '\r', '\n')
	b = append(b, payload...)
	return append(b, '\r', '\n')
}

// The timer heap: every parked stream's next due time (heartbeat, end or
// retry), earliest first, served by one goroutine.
type timerHeap struct {
	mu sync.Mutex
	h  []*parked
}

func (t *timerHeap) Len() int           { return len(t.h) }
func (t *timerHeap) Less(i, j int) bool { return t.h[i].due < t.h[j].due }
func (t *timerHeap) Swap(i, j int) {
	t.h[i], t.h[j] = t.h[j], t.h[i]
	t.h[i].hidx = i
	t.h[j].hidx = j
}
func (t *timerHeap) Push(x any) {
	p := x.(*parked)
	p.hidx = len(t.h)
	t.h = append(t.h, p)
}
func (t *timerHeap) Pop() any {
	n := len(t.h) - 1
	p := t.h[n]
	t.h[n] = nil
	t.h = t.h[:n]
	p.hidx = -1
	p.sched.Store(0)
	return p
}

// at makes p due no later than due.
func (s *Streams) at(p *parked, due int64) {
	t := &s.timers
	t.mu.Lock()
	if p.state.Load() == stDead {
		t.mu.Unlock()
		return
	}
	switch {
	case p.hidx < 0:
		p.due = due
		heap.Push(t, p)
	case due < p.due:
		p.due = due
		heap.Fix(t, p.hidx)
	}
	p.sched.Store(p.due)
	first := p.hidx == 0
	t.mu.Unlock()
	if first {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

func (s *Streams) runTimers() {
	t := &s.timers
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var fire []*parked
	for {
		now := s.now()
		next := time.Hour
		t.mu.Lock()
		for len(t.h) > 0 && t.h[0].due <= now {
			fire = append(fire, heap.Pop(t).(*parked))
		}
		if len(t.h) > 0 {
			next = time.Duration(t.h[0].due - now)
		}
		t.mu.Unlock()
		for i, p := range fire {
			p.wake()
			fire[i] = nil
		}
		fire = fire[:0]
		timer.Reset(next)
		select {
		case <-timer.C:
		case <-s.kick:
		case <-s.ctx.Done():
			return
		}
	}
}
