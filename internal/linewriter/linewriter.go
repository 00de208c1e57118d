// Package linewriter writes log lines, folding the lines that come close
// together into one write.
//
// A server logging one access line per request makes one write system call
// per request, and wakes whatever reads its output (a pipe to a log
// collector) as often. Under load most of those calls can be one: lines are
// appended to a buffer, and a single goroutine writes whatever accumulated
// as soon as its previous write returns. A line that arrives when lines are
// few (none in the last Quiet) and nothing is being written is written at
// once by its caller, as a plain writer would: a hand-off to an idle
// goroutine costs more than the write it saves.
package linewriter

import (
	"io"
	"sync"
	"time"
)

// MaxPending bounds the bytes waiting to be written. A writer that cannot
// keep up (its reader stopped reading) makes Write wait, as an unbuffered
// writer would, rather than hold an unbounded backlog.
const MaxPending = 256 << 10

// Quiet is the gap between lines above which a line is written by its
// caller. At 1 publisher over HTTP (a line every 350 µs or so) handing
// every line off cost 20 µs of CPU per request; at 64 (a line every 70 µs)
// writing every line in its caller cost 10 µs more than folding them.
const Quiet = 200 * time.Microsecond

// Writer is an io.Writer that folds concurrent Writes. Each Write must be
// whole lines (as a slog handler's Write is): they are written in order,
// and one Write is never split across two.
type Writer struct {
	out io.Writer

	mu      sync.Mutex
	cond    sync.Cond // broadcast when pending is taken or busy clears
	pending []byte    // bytes waiting for the goroutine
	busy    bool      // a write to out is under way
	last    time.Time // when the last Write came
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
	w.cond.L = &w.mu
	go w.run()
	return w
}

// Write writes p at once if nothing is being written and lines are few,
// and otherwise queues it and returns, unless MaxPending bytes wait
// already. It never reports an error: a log line that cannot be written
// has nowhere else to go.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.out.Write(p)
		return len(p), nil
	}
	for len(w.pending) > 0 && len(w.pending)+len(p) > MaxPending && !w.closing {
		w.cond.Wait()
	}
	now := time.Now()
	quiet := now.Sub(w.last) > Quiet
	w.last = now
	if !w.busy && len(w.pending) == 0 && quiet {
		// Nothing to keep in order with: write it here, unlocked, so that
		// lines arriving meanwhile queue behind it.
		w.busy = true
		w.mu.Unlock()
		w.out.Write(p)
		w.mu.Lock()
		w.idle()
		return len(p), nil
	}
	w.pending = append(w.pending, p...)
	if !w.busy {
		w.wake()
	}
	return len(p), nil
}

// idle marks the write under way as done, and has the goroutine write
// what queued behind it. w.mu is held.
func (w *Writer) idle() {
	w.busy = false
	w.cond.Broadcast()
	if len(w.pending) > 0 {
		w.wake()
	}
}

// wake makes sure the goroutine will look at pending. w.mu is held.
func (w *Writer) wake() {
	if !w.kicked && !w.closing {
		// kick is empty: the goroutine took the last wake-up before it
		// cleared kicked, so this send does not block.
		w.kicked = true
		w.kick <- struct{}{}
	}
}

// run writes what is pending each time it is woken, until Close.
func (w *Writer) run() {
	defer close(w.done)
	var spare []byte
	for range w.kick {
		w.mu.Lock()
		w.kicked = false
		if w.busy || len(w.pending) == 0 {
			// Whoever is writing wakes this again when done.
			w.mu.Unlock()
			continue
		}
		buf := w.pending
		w.pending = spare[:0]
		w.busy = true
		w.mu.Unlock()
		w.out.Write(buf)
		spare = buf
		w.mu.Lock()
		w.idle()
		w.mu.Unlock()
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
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.busy {
		w.cond.Wait()
	}
	if len(w.pending) > 0 {
		w.out.Write(w.pending)
	}
	w.pending = nil
	w.closed = true
	return nil
}
