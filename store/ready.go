package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// minFreeBytes is the room a commit needs on the database's filesystem
// (a few WAL frames); with less, Ping reports the store full.
const minFreeBytes = 256 << 10

// probeEvery bounds how often Ping asks the writer to try a write while
// the last commit failed.
const probeEvery = time.Second

// writerState is what the writer last learned about writing: the error of
// the last commit (nil once one succeeds).
type writerState struct {
	mu       sync.Mutex
	err      error
	probedAt time.Time
}

func (w *writerState) set(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
}

// probeDue returns the last commit's error and whether Ping should probe
// now (it failed, and no probe ran in the last probeEvery).
func (w *writerState) probeDue(now time.Time) (error, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil || now.Sub(w.probedAt) < probeEvery {
		return w.err, false
	}
	w.probedAt = now
	return w.err, true
}

// Ping reports whether a publish would be committed now, without taking
// the write connection on the way: the store is open, the read pool
// answers, the database file and its folder are writable, the filesystem
// has room, and the last commit did not fail. After a failed commit the
// writer is asked, at most once a second, to commit a write that changes
// nothing, so readiness comes back once writing works again. It returns
// nil, ErrClosed, or an error wrapping ErrFull or ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if s.queue.Closed() {
		return ErrClosed
	}
	if _, err := readSeq(ctx, s.rdb); err != nil {
		return classify(fmt.Errorf("read: %w", err))
	}
	if err := checkWritable(s.path); err != nil {
		return err
	}
	last, probe := s.state.probeDue(time.Now())
	if !probe {
		return last
	}
	req := NewAppendRequest(nil)
	req.Probe = true
	if err := s.queue.Enqueue(ctx, req); err != nil {
		return err
	}
	select {
	case <-req.done:
		return req.Err
	case <-ctx.Done():
		return last
	}
}
