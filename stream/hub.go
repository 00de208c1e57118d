// Package stream wakes subscribers when events commit, serves their reads
// from an in-memory tail of the newest events (falling back to the store for
// older cursors) and frames Server-Sent Events.
//
// Nothing is pushed to a subscriber: on commit the hub gives each
// subscriber of an affected topic a capacity-1 wake signal, and the
// subscriber reads from its own cursor. A slow subscriber therefore costs
// nothing while it is slow, and nothing is buffered for it.
package stream

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings/tidings/store"
)

// Defaults for the tail.
const (
	DefaultTailEvents = 8192
	DefaultTailBytes  = 32 << 20
)

// ErrOverloaded is returned by Subscribe when MaxSubscribers are active.
var ErrOverloaded = errors.New("too many subscribers")

// ErrStopped is returned by Subscribe once Stop was called.
var ErrStopped = errors.New("hub stopped")

// Store is what the hub needs from the log.
type Store interface {
	Head(ctx context.Context) (int64, error)
	Pruned(ctx context.Context) (int64, error)
	ReadAfter(ctx context.Context, topics []string, cursor int64, limit int) (store.Page, error)
}

// Batch is the answer to Read.
type Batch struct {
	Events []*Event
	// Cursor is the position the reader has reached: the last event's id
	// when More, otherwise the head it read up to (≥ the cursor it read from).
	Cursor int64
	More   bool
	// Reset and ResetCursor are set when the cursor could not be honoured.
	Reset       string
	ResetCursor int64
}

// Hub is the fan-out point. Feed it every commit with Committed (in id
// order, from one goroutine), Attach the store it was fed from, and read
// through it.
type Hub struct {
	store          Store // set by Attach, under mu
	maxSubscribers int64
	active         atomic.Int64

	mu   sync.RWMutex
	head int64 // largest id committed, as seen by Committed
	// pruned is the highest pruned id reported by Pruned; it may be above
	// head until the commits up to it arrive.
	pruned int64
	// headNow mirrors head for readers that only need to know whether it
	// moved (the parked writers' shared chunk), without the lock.
	headNow atomic.Int64
	// tail holds every event with id > base, oldest first.
	base      int64
	tail      []*Event
	tailBytes int
	maxEvents int
	maxBytes  int
	subs      map[string]map[*Subscription]struct{}
	// wakeBuf is reused by Committed, which only ever runs on one
	// goroutine (the store's writer).
	wakeBuf []*Subscription

	stopOnce sync.Once
	stopped  chan struct{}
	// stopping is set, under mu, when Stop begins; every subscription
	// registered before then is woken once.
	stopping atomic.Bool
}

// HubOptions configure a Hub. Zero values take defaults.
type HubOptions struct {
	MaxSubscribers int // 0: unlimited
	TailEvents     int
	TailBytes      int
}

// NewHub returns a hub. Give its Committed and Pruned to the store as the
// commit and prune hooks, then Attach the store before the first Read.
func NewHub(o HubOptions) *Hub {
	if o.TailEvents <= 0 {
		o.TailEvents = DefaultTailEvents
	}
	if o.TailBytes <= 0 {
		o.TailBytes = DefaultTailBytes
	}
	return &Hub{
		maxSubscribers: int64(o.MaxSubscribers),
		maxEvents:      o.TailEvents,
		maxBytes:       o.TailBytes,
		subs:           make(map[string]map[*Subscription]struct{}),
		stopped:        make(chan struct{}),
	}
}

// Committed records newly committed events (ascending ids, each larger than
// any before) and wakes the subscribers of their topics. It is the store's
// OnCommit hook.
func (h *Hub) Committed(events []store.Event) {
	if len(events) == 0 {
		return
	}
	now := time.Now()
	enc := make([]*Event, len(events))
	for i, e := range events {
		enc[i] = Encode(e)
		enc[i].Committed = now
	}
	h.mu.Lock()
	// Events at or below the head are already known (a store that commits
	// on its own may deliver some before Attach read its head): skip them,
	// so the head never moves back.
	for len(enc) > 0 && enc[0].ID <= h.head {
		enc = enc[1:]
	}
	if len(enc) == 0 {
		h.mu.Unlock()
		return
	}
	for _, e := range enc {
		h.tail = append(h.tail, e)
		h.tailBytes += len(e.Frame)
	}
	h.head = enc[len(enc)-1].ID
	h.headNow.Store(h.head)
	h.applyPrunedLocked()
	h.trimLocked()
	// Collect the subscribers under the lock but wake them after it: a
	// reader woken while the lock is held would block on it at once, and
	// with thousands of subscribers every wake would cost a park and a
	// second wake-up.
	wake := h.wakeBuf[:0]
	var last string
	for _, e := range enc {
		if e.Topic == last {
			continue
		}
		last = e.Topic
		for sub := range h.subs[e.Topic] {
			wake = append(wake, sub)
		}
	}
	h.mu.Unlock()
	for _, sub := range wake {
		sub.wake()
	}
	clear(wake)
	h.wakeBuf = wake[:0]
}

// trimLocked drops the oldest events beyond the tail's bounds.
func (h *Hub) trimLocked() {
	drop := 0
	for len(h.tail)-drop > h.maxEvents || (h.tailBytes > h.maxBytes && len(h.tail)-drop > 1) {
		h.tailBytes -= len(h.tail[drop].Frame)
		drop++
	}
	h.dropLocked(drop)
}

func (h *Hub) dropLocked(drop int) {
	if drop == 0 {
		return
	}
	h.base = h.tail[drop-1].ID
	clear(h.tail[:drop])
	// Reuse the array until the dead prefix is as large as the live part.
	h.tail = h.tail[drop:]
	if cap(h.tail) > 2*h.maxEvents {
		h.tail = append(make([]*Event, 0, h.maxEvents+h.maxEvents/4), h.tail...)
	}
}

// Pruned drops from the tail every event at or below maxID, so that reads
// below the pruned ids go to the store, which decides resets exactly. It is
// the store's OnPrune hook.
func (h *Hub) Pruned(maxID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pruned = max(h.pruned, maxID)
	h.applyPrunedLocked()
}

// applyPrunedLocked drops the tail's events at or below the pruned mark
// and raises base to it (capped at the head). A mark above the head (a
// replica that learns of a prune before the commits it followed) is kept
// and applied by Committed in the same critical section as the events,
// so no reader ever sees those events without the mark.
func (h *Hub) applyPrunedLocked() {
	if h.pruned <= h.base {
		return
	}
	h.dropThroughLocked(h.pruned)
	h.base = max(h.base, min(h.pruned, h.head))
}

// dropThroughLocked drops the tail's events with ids up to id.
func (h *Hub) dropThroughLocked(id int64) {
	i := sort.Search(len(h.tail), func(i int) bool { return h.tail[i].ID > id })
	for _, e := range h.tail[:i] {
		h.tailBytes -= len(e.Frame)
	}
	h.dropLocked(i)
}

// Attach makes st the source of reads older than the tail and starts the
// hub at st's head. Commits the hub saw before (none, unless the store
// commits on its own) are at or below that head and are left to st.
func (h *Hub) Attach(ctx context.Context, st Store) error {
	head, err := st.Head(ctx)
	if err != nil {
		return err
	}
	pruned, err := st.Pruned(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.store = st
	h.head = max(h.head, head)
	h.headNow.Store(h.head)
	h.dropThroughLocked(head)
	h.base = max(h.base, head)
	h.pruned = max(h.pruned, pruned)
	h.applyPrunedLocked()
	return nil
}

// MayBeExpired reports whether cursor may be expired on some topic: it
// is above 0 and below the highest id pruned. A cursor for which it
// reports false is never expired, so it can be answered without a read.
func (h *Hub) MayBeExpired(cursor int64) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return cursor > 0 && cursor < h.pruned
}

// Head returns the largest id the hub has seen committed.
func (h *Hub) Head() int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.head
}

// Read returns up to limit events of topics after cursor, from memory when
// the tail covers the cursor and from the store otherwise.
func (h *Hub) Read(ctx context.Context, topics []string, cursor int64, limit int) (Batch, error) {
	h.mu.RLock()
	if cursor >= h.base && cursor <= h.head {
		b := h.readTailLocked(topics, cursor, limit)
		h.mu.RUnlock()
		return b, nil
	}
	st := h.store
	h.mu.RUnlock()

	// Older than the tail, or ahead of what this hub has seen: the store
	// decides, from one snapshot.
	p, err := st.ReadAfter(ctx, topics, cursor, limit)
	if err != nil {
		return Batch{}, err
	}
	b := Batch{Cursor: p.Cursor, More: p.More, Reset: p.Reset, ResetCursor: p.ResetCursor}
	b.Events = make([]*Event, len(p.Events))
	for i, e := range p.Events {
		b.Events[i] = Encode(e)
	}
	return b, nil
}

// readInto is Read for the parked writers: from the tail it appends to
// dst instead of allocating, so a live delivery allocates nothing.
func (h *Hub) readInto(ctx context.Context, dst []*Event, topics []string, cursor int64, limit int) (Batch, error) {
	h.mu.RLock()
	if cursor >= h.base && cursor <= h.head {
		b := h.readTailInto(dst, topics, cursor, limit)
		h.mu.RUnlock()
		return b, nil
	}
	h.mu.RUnlock()
	return h.Read(ctx, topics, cursor, limit)
}

func (h *Hub) readTailLocked(topics []string, cursor int64, limit int) Batch {
	return h.readTailInto(nil, topics, cursor, limit)
}

func (h *Hub) readTailInto(out []*Event, topics []string, cursor int64, limit int) Batch {
	i := sort.Search(len(h.tail), func(i int) bool { return h.tail[i].ID > cursor })
	for ; i < len(h.tail); i++ {
		e := h.tail[i]
		if !slices.Contains(topics, e.Topic) {
			continue
		}
		if len(out) == limit {
			return Batch{Events: out, Cursor: out[len(out)-1].ID, More: true}
		}
		out = append(out, e)
	}
	return Batch{Events: out, Cursor: h.head}
}

// Subscription is a registered interest in topics. Wait on C: a value
// means something may have been committed since the last read.
type Subscription struct {
	C      <-chan struct{}
	c      chan struct{}
	topics []string
	hub    *Hub
	once   sync.Once
	// parked is set once the stream is handed to the parked writers:
	// wakes then queue it for a writer instead of signalling C.
	parked atomic.Pointer[parked]
}

func (s *Subscription) wake() {
	if p := s.parked.Load(); p != nil {
		p.wake()
		return
	}
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// Subscribe registers for wake signals on topics. Register before the first
// Read so no commit between the two is missed. The caller must Close it.
func (h *Hub) Subscribe(topics []string) (*Subscription, error) {
	if h.stopping.Load() {
		return nil, ErrStopped
	}
	if n := h.active.Add(1); h.maxSubscribers > 0 && n > h.maxSubscribers {
		h.active.Add(-1)
		return nil, ErrOverloaded
	}
	c := make(chan struct{}, 1)
	sub := &Subscription{C: c, c: c, topics: topics, hub: h}
	h.mu.Lock()
	if h.stopping.Load() {
		// Stop ran since the check above; it has woken everyone it will.
		h.mu.Unlock()
		h.active.Add(-1)
		return nil, ErrStopped
	}
	for _, t := range topics {
		m := h.subs[t]
		if m == nil {
			m = make(map[*Subscription]struct{})
			h.subs[t] = m
		}
		m[sub] = struct{}{}
	}
	h.mu.Unlock()
	return sub, nil
}

// Close unregisters the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		h := s.hub
		h.mu.Lock()
		for _, t := range s.topics {
			if m := h.subs[t]; m != nil {
				delete(m, s)
				if len(m) == 0 {
					delete(h.subs, t)
				}
			}
		}
		h.mu.Unlock()
		h.active.Add(-1)
	})
}

// Active returns the number of open subscriptions.
func (h *Hub) Active() int { return int(h.active.Load()) }

// Stopped is closed when Stop is called: every stream should end with its
// final block and every waiting poll should answer.
func (h *Hub) Stopped() <-chan struct{} { return h.stopped }

// Stopping reports whether Stop was called. A subscriber checks it after
// each wake: Stop wakes every subscription, so a stream loop need not also
// select on Stopped, a channel every stream would share.
func (h *Hub) Stopping() bool { return h.stopping.Load() }

// Stop tells every subscriber to finish and refuses new ones.
func (h *Hub) Stop() {
	h.stopOnce.Do(func() {
		h.mu.Lock()
		h.stopping.Store(true)
		var all []*Subscription
		for _, m := range h.subs {
			for sub := range m {
				all = append(all, sub)
			}
		}
		h.mu.Unlock()
		close(h.stopped)
		for _, sub := range all {
			sub.wake()
		}
	})
}
