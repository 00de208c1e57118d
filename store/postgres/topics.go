package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings/tidings/store"
)

// topicsBound is above every character a topic may hold, so every topic
// beginning with prefix sorts below prefix + topicsBound.
const topicsBound = "\x7f"

// topicsQuery walks the distinct topics through the (topic, id) index, one
// seek per topic (a recursive skip-scan), as the SQLite store does, and
// reads the head in the same statement, so from the same snapshot.
const topicsQuery = `WITH RECURSIVE names(topic) AS (
	SELECT (SELECT topic FROM tidings_events WHERE topic >= $1 AND topic > $2 AND topic < $3 ORDER BY topic LIMIT 1)
	UNION ALL
	SELECT (SELECT e.topic FROM tidings_events e WHERE e.topic > names.topic AND e.topic < $3 ORDER BY e.topic LIMIT 1)
	FROM names WHERE names.topic IS NOT NULL
), listed AS (
	SELECT n.topic,
		coalesce((SELECT count FROM tidings_topics t WHERE t.topic = n.topic), 0) AS events,
		(SELECT id FROM tidings_events e WHERE e.topic = n.topic ORDER BY e.id LIMIT 1) AS first_id,
		l.id AS last_id, l.time AS last_time
	FROM (SELECT topic FROM names WHERE topic IS NOT NULL LIMIT $4) n
	CROSS JOIN LATERAL (SELECT id, time FROM tidings_events e WHERE e.topic = n.topic ORDER BY e.id DESC LIMIT 1) l
)
SELECT h.head, x.topic, x.events, x.first_id, x.last_id, x.last_time
FROM (SELECT (SELECT last_id FROM tidings_head) AS head) h
LEFT JOIN listed x ON true
ORDER BY x.topic`

// Topics lists, in name order, up to limit topics that have retained
// events, whose names begin with prefix and sort after after, with the
// head of the same snapshot: see store.Store.Topics.
func (s *Store) Topics(ctx context.Context, prefix, after string, limit int) ([]store.TopicInfo, int64, error) {
	list, head, err := s.topics(ctx, prefix, after, limit)
	if err != nil {
		return nil, 0, classify(fmt.Errorf("list topics: %w", err))
	}
	return list, head, nil
}

func (s *Store) topics(ctx context.Context, prefix, after string, limit int) ([]store.TopicInfo, int64, error) {
	if limit <= 0 {
		head, err := s.Head(ctx)
		return nil, head, err
	}
	rows, err := s.pool.Query(ctx, topicsQuery, prefix, after, prefix+topicsBound, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var head int64
	list := make([]store.TopicInfo, 0, min(limit, 64))
	for rows.Next() {
		var topic *string
		var events, first, last, ms *int64
		if err := rows.Scan(&head, &topic, &events, &first, &last, &ms); err != nil {
			return nil, 0, err
		}
		if topic == nil {
			continue
		}
		list = append(list, store.TopicInfo{Topic: *topic, Events: *events, FirstID: *first, LastID: *last, LastTime: time.UnixMilli(*ms).UTC()})
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return list, head, nil
}
