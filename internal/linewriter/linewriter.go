// Package linewriter writes log lines from one goroutine, folding the lines
// that arrive while it writes into its next write.
//
// A server logging one access line per request makes one write system call
// per request, and wakes whatever reads its output (a pipe to a log
// collector) as often. Under load most of those calls can be one: lines are
// appended to a buffer, and a single goroutine writes whatever accumulated
// as soon as its previous write returns. An idle server's line is written at
// once, as before; a busy server's lines are written in batches, in order.
package linewriter

import (
	"io"
	"sync"
)

// MaxPending bounds the bytes waiting to be written. A writer that cannot
// keep up (its reader stopped reading) makes Write wait, as an unbuffered
// writer would, rather than hold an unbounded backlog.
const MaxPending = 256 << 10

// Writer is an io.Writer that hands each Write's bytes to a goroutine. Each
// Write must be whole lines (as a slog handler's Write is): the goroutine
// writes them in order and never splits one Write across two.
type Writer struct {
	out io.Writer

	mu      sync.Mutex
	room    sync.Cond // broadcast when pending is taken
	pending []byte    // bytes not yet taken by the goroutine
	kicked  bool      // a wake-up waits in kick: sending another would block
	closing bool      // Close was called: nothing more is sent on kick
	closed  bool      // Close wrote the rest: Write writes directly
	kick    chan struct{}
	done    chan struct{}
}

// New returns a Writer writing to out, and starts its goroutine. Call Close
// to write what is pending and stop it.
func New(out io.Writer) *Writer {
	w := &Writer{out: out, kick: make(chan struct{}, 1), done: make(chan struct{})}
	w.room.L = &w.mu
	go w.run()
	return w
}

// Write queues p and returns at once, unless MaxPending bytes wait already.
// After Close it writes p itself. It never reports an error: a log line that
// cannot be written has nowhere else to go.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.out.Write(p)
		return len(p), nil
	}
	for len(w.pending) > 0 && len(w.pending)+len(p) > MaxPending && !w.closing {
		w.room.Wait()
	}
	w.pending = append(w.pending, p...)
	if !w.kicked && !w.closing {
		// kick is empty: the goroutine took the last wake-up before it
		// cleared kicked, so this send does not block.
		w.kicked = true
		w.kick <- struct{}{}
	}
	return len(p), nil
}

// run writes what is pending each time it is woken, until Close.
func (w *Writer) run() {
	defer close(w.done)
	var spare []byte
	for range w.kick {
		w.mu.Lock()
		buf := w.pending
		w.pending = spare[:0]
		w.kicked = false
		w.room.Broadcast()
		w.mu.Unlock()
		w.out.Write(buf)
		spare = buf
	}
}

// Close writes every line queued before it returns and stops the
// goroutine; later Writes are written directly. It is safe to call more
// than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closing = true
	close(w.kick)
	w.room.Broadcast()
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		w.out.Write(w.pending)
	}
	w.pending = nil
	w.closed = true
	return nil
}
