package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Reasons a cursor cannot be honoured.
const (
	ResetExpired = "cursor_expired" // events after the cursor were pruned
	ResetAhead   = "cursor_ahead"   // the cursor is past the head
)

// Page is the answer to ReadAfter.
type Page struct {
	Events []Event
	// Cursor is where the next read starts: the last event's id when More,
	// otherwise the head of the snapshot (never below the cursor read from,
	// after any reset).
	Cursor int64
	More   bool
	// Reset is "" or one of the Reset* reasons; then ResetCursor is the
	// cursor the subscription continues from.
	Reset       string
	ResetCursor int64
	Head        int64
}

// ReadAfter returns up to limit events of topics with id > cursor in id
// order, all from one snapshot, together with the reset decision for
// cursor. Cursor 0 means everything retained and never resets.
func (s *Store) ReadAfter(ctx context.Context, topics []string, cursor int64, limit int) (Page, error) {
	p, err := s.readAfter(ctx, topics, cursor, limit)
	if err != nil {
		return Page{}, classify(fmt.Errorf("read events: %w", err))
	}
	return p, nil
}

func (s *Store) readAfter(ctx context.Context, topics []string, cursor int64, limit int) (Page, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Page{}, err
	}
	defer tx.Rollback()

	var p Page
	if p.Head, err = readSeq(ctx, tx); err != nil {
		return p, err
	}
	cursor, err = p.DecideReset(cursor,
		func() (int64, error) { return prunedMax(ctx, tx, topics) },
		func() (int64, error) { return firstAfter(ctx, tx, topics, cursor) })
	if err != nil {
		return p, err
	}
	events, err := readTopics(ctx, tx, topics, cursor, limit+1)
	if err != nil {
		return p, err
	}
	p.Fill(events, cursor, limit)
	return p, nil
}

// DecideReset sets p's reset decision for a read after cursor, with p.Head
// already set to the head of the read's snapshot, and returns the cursor
// to read after. A cursor past the head is reset to the head
// (ResetAhead). Otherwise a cursor above 0 below pruned(), the highest id
// pruned from any of the topics read, is reset to just below first(), the
// smallest retained id of those topics above cursor (0: none, then to the
// head), never moving back (ResetExpired). pruned and first are called
// only when the decision needs them, and their errors are returned.
func (p *Page) DecideReset(cursor int64, pruned, first func() (int64, error)) (int64, error) {
	if cursor > p.Head {
		p.Reset, p.ResetCursor = ResetAhead, p.Head
		return p.Head, nil
	}
	if cursor <= 0 {
		return cursor, nil
	}
	mark, err := pruned()
	if err != nil || mark <= cursor {
		return cursor, err
	}
	f, err := first()
	if err != nil {
		return cursor, err
	}
	n := p.Head
	if f > 0 {
		n = f - 1
	}
	// The refused cursor only ever moves forward.
	p.Reset, p.ResetCursor = ResetExpired, max(n, cursor)
	return p.ResetCursor, nil
}

// Fill sets p's events, More and Cursor from events, the first limit+1 (or
// fewer) events after cursor in id order, with p.Head already set: with
// more than limit, the first limit and a cursor at the last of them;
// otherwise all of them and a cursor at the head (never below cursor).
func (p *Page) Fill(events []Event, cursor int64, limit int) {
	if len(events) > limit {
		p.Events, p.More = events[:limit], true
		p.Cursor = events[limit-1].ID
	} else {
		p.Events = events
		p.Cursor = max(p.Head, cursor)
	}
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func topicArgs(topics []string, extra ...any) []any {
	args := make([]any, 0, len(topics)+len(extra))
	for _, t := range topics {
		args = append(args, t)
	}
	return append(args, extra...)
}

type txQuerier interface {
	querier
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// prunedMax is the highest id pruned from any of topics. A topic with no
// row (nothing retained) counts as pruned up to the store-wide floor.
func prunedMax(ctx context.Context, q txQuerier, topics []string) (int64, error) {
	var pruned sql.NullInt64
	var rows int
	err := q.QueryRowContext(ctx, `SELECT max(pruned_id), count(*) FROM topics WHERE topic IN (`+placeholders(len(topics))+`)`, topicArgs(topics)...).Scan(&pruned, &rows)
	if err != nil || rows == len(topics) {
		return pruned.Int64, err
	}
	var floor int64
	if err := q.QueryRowContext(ctx, `SELECT pruned_id FROM prune_floor`).Scan(&floor); err != nil {
		return 0, err
	}
	return max(pruned.Int64, floor), nil
}

// firstAfter returns the smallest retained id above cursor among topics, or 0.
func firstAfter(ctx context.Context, q txQuerier, topics []string, cursor int64) (int64, error) {
	var first int64
	for _, t := range topics {
		var id sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT min(id) FROM events WHERE topic = ? AND id > ?`, t, cursor).Scan(&id); err != nil {
			return 0, err
		}
		if id.Valid && (first == 0 || id.Int64 < first) {
			first = id.Int64
		}
	}
	return first, nil
}

// readTopics returns the first limit events of topics with id > cursor,
// in id order. Each topic is read in id order from the (topic, id) index
// and the topics are merged, one row at a time, until limit events are
// taken: the rows read, and the memory held, follow the answer (plus one
// pending row per topic), not the number of topics or the size of the log.
func readTopics(ctx context.Context, q txQuerier, topics []string, cursor int64, limit int) ([]Event, error) {
	const query = `SELECT id, type, data, time FROM events WHERE topic = ? AND id > ? ORDER BY id LIMIT ?`
	heads := make([]*topicRows, 0, len(topics))
	defer func() {
		for _, h := range heads {
			h.rows.Close()
		}
	}()
	for _, t := range topics {
		rows, err := q.QueryContext(ctx, query, t, cursor, limit)
		if err != nil {
			return nil, err
		}
		h := &topicRows{rows: rows, topic: t}
		heads = append(heads, h)
		if err := h.next(); err != nil {
			return nil, err
		}
	}
	out := make([]Event, 0, min(limit, 256))
	for len(out) < limit {
		// The topic whose pending row has the smallest id goes next. A
		// linear scan: at most MaxTopics heads, cheaper than a heap's
		// bookkeeping at these sizes.
		var lowest *topicRows
		for _, h := range heads {
			if h.ok && (lowest == nil || h.ev.ID < lowest.ev.ID) {
				lowest = h
			}
		}
		if lowest == nil {
			break
		}
		out = append(out, lowest.ev)
		if err := lowest.next(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// topicRows is one topic's rows in id order, with the pending one in ev.
type topicRows struct {
	rows  *sql.Rows
	topic string
	ev    Event
	ok    bool // ev holds a row not yet taken
}

// next moves to the topic's next row; ok turns false at the end.
func (h *topicRows) next() error {
	h.ok = false
	if !h.rows.Next() {
		return h.rows.Err()
	}
	ev := Event{Topic: h.topic}
	var data []byte
	var ms int64
	if err := h.rows.Scan(&ev.ID, &ev.Type, &data, &ms); err != nil {
		return err
	}
	ev.Data = data
	ev.Time = time.UnixMilli(ms).UTC()
	h.ev, h.ok = ev, true
	return nil
}
