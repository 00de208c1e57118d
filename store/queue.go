package store

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"
)

// MaxCommit bounds the events a CommitQueue folds into one group commit.
const MaxCommit = 4096

// Linger bounds how long the writer waits for more requests before a
// commit when the previous commit folded at least LingerAfter requests and
// fewer have arrived since: many publishers are overlapping, and most of a
// commit's cost is fixed (BEGIN, the WAL or network round trip, COMMIT), so
// a commit of 20 events costs about half as much per event as one of 10.
// The wait ends as soon as as many requests as last time are queued, which
// under steady load takes far less than Linger; it adds Linger to a publish
// only when the overlapping publishers stop. (An idle Go process's timers
// fire with about a millisecond's resolution here, so a shorter bound would
// not wait less.)
const Linger = time.Millisecond

// LingerAfter is the fewest requests in a commit after which the writer
// lingers. With a few publishers the process is seldom short of CPU, and
// waiting for as many requests as last time makes each commit wait for the
// slowest of them: at 4 publishers over HTTP lingering cost 11% of the
// throughput, while at 16 and 64 it gained. A lone publisher never waits.
const LingerAfter = 8

// AppendRequest is one call of Append (or a probe) waiting in a
// CommitQueue. The writer fills Results or Err, then calls Done exactly
// once; the caller reads them only after Done.
type AppendRequest struct {
	// Probe asks for a commit that writes without storing anything (a
	// test of writability); a probe has no Inputs.
	Probe   bool
	Inputs  []Input
	Results []Result
	Err     error
	done    chan struct{}
}

// NewAppendRequest returns a request for inputs, not yet queued.
func NewAppendRequest(inputs []Input) *AppendRequest {
	return &AppendRequest{Inputs: inputs, done: make(chan struct{})}
}

// Done answers the request: whoever waits on it wakes and reads Results
// and Err. It must be called once, after the request's commit succeeded
// or failed for good.
func (r *AppendRequest) Done() { close(r.done) }

// Fail answers the request with err and no results.
func (r *AppendRequest) Fail(err error) {
	r.Results, r.Err = nil, err
	r.Done()
}

// Wait returns the request's answer once Done was called, or ctx's error
// if ctx ends first (the request may still commit; its caller cannot be
// told).
func (r *AppendRequest) Wait(ctx context.Context) ([]Result, error) {
	select {
	case <-r.done:
		return r.Results, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// CommitQueue feeds one writer goroutine that does group commit. Callers
// Enqueue requests (or Append, which also waits); the writer, in Run, takes
// everything queued, up to MaxCommit events, and passes it to its commit
// function as one batch. Requests reach commit in the order they were
// queued, one batch at a time, so a commit function that assigns ids in
// batch order assigns them in commit order. The queue answers nothing
// itself: commit answers every request of its batch (Done or Fail), and
// must do so only once what it answers is committed.
type CommitQueue struct {
	mu     sync.RWMutex // guards closed against sends on ch
	closed bool
	ch     chan *AppendRequest
	// lingering, when set, is called each time the writer starts to
	// linger (tests count the calls).
	lingering func()
}

// NewCommitQueue returns an open queue holding up to size requests.
func NewCommitQueue(size int) *CommitQueue {
	return &CommitQueue{ch: make(chan *AppendRequest, size)}
}

// Append queues inputs (1..MaxBatch) as one request and waits for its
// answer: the results of a batch committed whole, or an error and none.
// It returns ErrClosed once Close was called, or ctx's error if ctx ends
// first.
func (q *CommitQueue) Append(ctx context.Context, inputs []Input) ([]Result, error) {
	if len(inputs) == 0 || len(inputs) > MaxBatch {
		return nil, fmt.Errorf("append %d events: batch must hold 1..%d", len(inputs), MaxBatch)
	}
	req := NewAppendRequest(inputs)
	if err := q.Enqueue(ctx, req); err != nil {
		return nil, err
	}
	return req.Wait(ctx)
}

// Enqueue hands req to the writer without waiting for its answer. It
// returns ErrClosed once Close was called, or ctx's error if the queue
// stays full until ctx ends; either way req was not queued.
func (q *CommitQueue) Enqueue(ctx context.Context, req *AppendRequest) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrClosed
	}
	select {
	case q.ch <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Closed reports whether Close was called.
func (q *CommitQueue) Closed() bool {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return q.closed
}

// Close stops accepting requests; Run returns once it has passed on every
// request already queued. It reports false if the queue was closed before.
func (q *CommitQueue) Close() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.closed = true
	close(q.ch)
	return true
}

// Run is the writer loop: until the queue is closed and drained, it waits
// for a request, adds whatever else is queued already (up to MaxCommit
// events), waits up to Linger for as many requests as the previous commit
// had if that held LingerAfter or more, and calls commit with the batch and
// its number of events. commit must not keep batch: its backing array is
// reused.
func (q *CommitQueue) Run(commit func(batch []*AppendRequest, n int)) {
	batch := make([]*AppendRequest, 0, 256)
	n := 0
	// gather adds queued requests to batch until it holds want requests or
	// MaxCommit events, or the queue is closed. Without wait it takes only
	// what is queued now; with wait it also takes what arrives until wait
	// fires.
	gather := func(want int, wait <-chan time.Time) {
		for len(batch) < want && n < MaxCommit {
			var r *AppendRequest
			var ok bool
			if wait == nil {
				select {
				case r, ok = <-q.ch:
				default:
					return
				}
			} else {
				select {
				case r, ok = <-q.ch:
				case <-wait:
					return
				}
			}
			if !ok {
				return
			}
			batch = append(batch, r)
			n += len(r.Inputs)
		}
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	prev := 0 // requests in the previous commit
	for req := range q.ch {
		batch = append(batch[:0], req)
		n = len(req.Inputs)
		if len(q.ch) == 0 {
			// Let the goroutines that are ready run first: under load some
			// are about to queue a request. When nothing else is ready,
			// this returns at once.
			runtime.Gosched()
		}
		gather(math.MaxInt, nil)
		if prev >= LingerAfter && len(batch) < prev && n < MaxCommit {
			if q.lingering != nil {
				q.lingering()
			}
			timer.Reset(Linger)
			gather(prev, timer.C)
			timer.Stop()
		}
		prev = len(batch)
		commit(batch, n)
		clear(batch)
	}
}
