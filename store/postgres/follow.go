package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidings/tidings/store"
)

// follow is the one goroutine that calls OnCommit and OnPrune. It delivers
// the writer's commits, reading first whatever other replicas committed
// before them, and reads other replicas' commits when woken by the
// listener or the safety poll. It answers the writer's publishers once
// their commit was delivered. It runs until the writer closes handoff.
func (s *Store) follow() {
	defer close(s.followDone)
	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
	f := follower{s: s, seen: s.seenID()}
	for {
		select {
		case c, ok := <-s.handoff:
			if !ok {
				return
			}
			f.deliver(c)
		case <-s.wake:
			f.catchUp(0)
		case <-poll.C:
			f.catchUp(0)
		}
	}
}

// follower is the state of the follow goroutine.
type follower struct {
	s    *Store
	seen int64 // every event up to seen was handed to OnCommit (or pruned)
	// prunedDone is the pruned mark last handed to OnPrune.
	prunedDone int64
}

// deliver hands a local commit to OnCommit in id order and answers its
// publishers. Events other replicas committed before it are read first.
func (f *follower) deliver(c *commitDone) {
	defer func() {
		for _, req := range c.reqs {
			req.Done()
		}
	}()
	if len(c.fresh) > 0 {
		first := c.fresh[0].ID
		if first > f.seen+1 && !f.catchUp(first-1) {
			// Closing, or the database is gone: the events are committed
			// and the publishers are answered; a later catch-up (or the
			// next start) delivers them.
			return
		}
		evs := c.fresh
		for len(evs) > 0 && evs[0].ID <= f.seen {
			evs = evs[1:]
		}
		if len(evs) > 0 {
			if f.s.opts.OnCommit != nil {
				f.s.opts.OnCommit(evs)
			}
			f.setSeen(evs[len(evs)-1].ID)
		}
	}
	if c.head > f.seen {
		f.catchUp(c.head)
	}
}

// catchUp reads and delivers the committed events after seen, up to
// target (0: up to the head). For a target it retries until it gets there
// or the store closes; it reports whether it got there.
func (f *follower) catchUp(target int64) bool {
	backoff := 10 * time.Millisecond
	for {
		done, err := f.readPage(target)
		if err == nil && done {
			return true
		}
		if err == nil {
			continue
		}
		if f.s.ctx.Err() != nil {
			return false
		}
		f.s.log.Warn("read commits of other replicas", "err", err)
		if target == 0 {
			return false // the next notification or poll tries again
		}
		select {
		case <-f.s.ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// readPage reads one page of events after seen, with the head and the
// pruned mark of the same snapshot, and delivers them. It reports whether
// nothing is left to read (up to target, if set).
func (f *follower) readPage(target int64) (bool, error) {
	ctx, cancel := context.WithTimeout(f.s.ctx, commitTimeout)
	defer cancel()
	rows, err := f.s.pool.Query(ctx, `SELECT s.head, s.pruned, e.id, e.topic, e.type, e.data, e.time
		FROM (SELECT (SELECT last_id FROM tidings_head) AS head, (SELECT pruned_id FROM tidings_pruned) AS pruned) s
		LEFT JOIN LATERAL (SELECT id, topic, type, data, time FROM tidings_events WHERE id > $1 ORDER BY id LIMIT $2) e ON true
		ORDER BY e.id`, f.seen, followPage)
	if err != nil {
		return false, err
	}
	var head, pruned int64
	var evs []store.Event
	for rows.Next() {
		var id, ms *int64
		var topic, typ *string
		var data []byte
		if err := rows.Scan(&head, &pruned, &id, &topic, &typ, &data, &ms); err != nil {
			rows.Close()
			return false, err
		}
		if id != nil {
			evs = append(evs, store.Event{ID: *id, Topic: *topic, Type: *typ, Data: data, Time: time.UnixMilli(*ms).UTC()})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	// The pruned mark goes first: the hub keeps a mark above its head and
	// applies it together with the events, so events whose older
	// neighbours were pruned before this replica read them are never
	// served without the mark that makes the store answer with a reset.
	if pruned > f.prunedDone {
		if f.s.opts.OnPrune != nil {
			f.s.opts.OnPrune(pruned)
		}
		f.prunedDone = pruned
	}
	if len(evs) > 0 {
		if f.s.opts.OnCommit != nil {
			f.s.opts.OnCommit(evs)
		}
		f.setSeen(evs[len(evs)-1].ID)
	}
	if len(evs) < followPage && head > f.seen {
		// Everything up to the head of this snapshot was read: what is
		// missing was pruned.
		f.setSeen(head)
	}
	if target > 0 {
		return f.seen >= target, nil
	}
	return len(evs) < followPage, nil
}

func (f *follower) setSeen(id int64) {
	f.seen = id
	f.s.seenMu.Lock()
	f.s.seen = id
	f.s.seenMu.Unlock()
}

func (s *Store) seenID() int64 {
	s.seenMu.Lock()
	defer s.seenMu.Unlock()
	return s.seen
}

// wakeFollower asks the follower to read, without blocking: one pending
// request covers any number of commits.
func (s *Store) wakeFollower() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// listen keeps a dedicated connection LISTENing for other replicas'
// commits and prunes, reconnecting when it drops. After each (re)connect
// it wakes the follower, which re-reads from the last id it saw, so a
// notification lost while disconnected costs nothing.
func (s *Store) listen() {
	defer close(s.listenDone)
	backoff := 100 * time.Millisecond
	for s.ctx.Err() == nil {
		err := s.listenOnce(func() { backoff = 100 * time.Millisecond })
		if s.ctx.Err() != nil {
			return
		}
		s.log.Warn("lost the PostgreSQL notification connection; reconnecting", "db", s.where, "err", err)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listenOnce(connected func()) error {
	conn, err := pgx.ConnectConfig(s.ctx, s.listenCfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, ch := range []string{channelCommit, channelPrune} {
		if _, err := conn.Exec(s.ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	connected()
	s.wakeFollower()
	for {
		n, err := conn.WaitForNotification(s.ctx)
		if err != nil {
			return err
		}
		if n.Channel == channelCommit {
			if head, err := strconv.ParseInt(n.Payload, 10, 64); err == nil && head <= s.seenID() {
				continue // this replica's own commit, already delivered
			}
		}
		s.wakeFollower()
	}
}
