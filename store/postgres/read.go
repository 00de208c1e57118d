package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings/tidings/store"
)

// readQuery reads, in one statement and so from one snapshot, the head,
// the highest pruned id among the topics (at least the store-wide floor),
// and up to $3 events of the
// topics after the cursor, merged in id order from the (topic, id) index.
const readQuery = `SELECT s.head, s.pruned, e.id, e.topic, e.type, e.data, e.time
FROM (SELECT (SELECT last_id FROM tidings_head) AS head,
	greatest((SELECT coalesce(max(pruned_id), 0) FROM tidings_topics WHERE topic = ANY($1::text[])),
		(SELECT pruned_id FROM tidings_prune_floor)) AS pruned) s
LEFT JOIN LATERAL (
	SELECT x.* FROM unnest($1::text[]) AS t(topic)
	CROSS JOIN LATERAL (
		SELECT ev.id, ev.topic, ev.type, ev.data, ev.time FROM tidings_events ev
		WHERE ev.topic = t.topic AND ev.id > $2 ORDER BY ev.id LIMIT $3
	) x
	ORDER BY x.id LIMIT $3
) e ON true
ORDER BY e.id`

// ReadAfter returns up to limit events of topics with id > cursor in id
// order, all from one snapshot, together with the reset decision for
// cursor, decided exactly as the SQLite store decides it.
func (s *Store) ReadAfter(ctx context.Context, topics []string, cursor int64, limit int) (store.Page, error) {
	p, err := s.readAfter(ctx, topics, cursor, limit)
	if err != nil {
		return store.Page{}, classify(fmt.Errorf("read events: %w", err))
	}
	return p, nil
}

func (s *Store) readAfter(ctx context.Context, topics []string, cursor int64, limit int) (store.Page, error) {
	rows, err := s.pool.Query(ctx, readQuery, topics, cursor, limit+1)
	if err != nil {
		return store.Page{}, err
	}
	defer rows.Close()
	var p store.Page
	var pruned int64
	var events []store.Event
	for rows.Next() {
		var id, ms *int64
		var topic, typ *string
		var data []byte
		if err := rows.Scan(&p.Head, &pruned, &id, &topic, &typ, &data, &ms); err != nil {
			return store.Page{}, err
		}
		if id != nil {
			events = append(events, store.Event{ID: *id, Topic: *topic, Type: *typ, Data: data, Time: time.UnixMilli(*ms).UTC()})
		}
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, err
	}

	// The events after an expired cursor are those after one less than
	// the first of them, and there are none after a cursor ahead of the
	// head: the events read after the cursor as sent are the answer in
	// every case. Neither function below fails.
	cursor, _ = p.DecideReset(cursor,
		func() (int64, error) { return pruned, nil },
		func() (int64, error) {
			if len(events) > 0 {
				return events[0].ID, nil
			}
			return 0, nil
		})
	p.Fill(events, cursor, limit)
	return p, nil
}
