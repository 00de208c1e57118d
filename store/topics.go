package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TopicInfo describes one topic with retained events.
type TopicInfo struct {
	Topic    string
	Events   int64     // events retained
	FirstID  int64     // oldest retained event
	LastID   int64     // newest retained event
	LastTime time.Time // commit time of LastID, UTC
}

// topicsBound is above every character a topic may hold, so every topic
// beginning with prefix sorts below prefix + topicsBound.
const topicsBound = "\x7f"

// Topics lists, in name order, up to limit topics that have retained
// events, whose names begin with prefix ("" for all) and sort after after
// ("" to start at the beginning; pass the last topic of a page to get the
// next). It returns them with the head (the largest id ever committed) of
// the same snapshot, so no listed LastID exceeds the head.
//
// The cost follows what is returned, not the size of the log or the number
// of topics whose events were all pruned: each topic is found by one seek
// on the (topic, id) index past the previous one, and its first and last
// events by one seek each.
func (s *Store) Topics(ctx context.Context, prefix, after string, limit int) ([]TopicInfo, int64, error) {
	list, head, err := s.topics(ctx, prefix, after, limit)
	if err != nil {
		return nil, 0, classify(fmt.Errorf("list topics: %w", err))
	}
	return list, head, nil
}

// topicsQuery walks the distinct topics of the events table through the
// (topic, id) index: each step seeks the first topic above the previous one
// (a recursive skip-scan), so a topic costs one seek however many events it
// has, and topics with nothing retained cost nothing.
const topicsQuery = `
WITH RECURSIVE names(topic) AS (
	SELECT (SELECT topic FROM events WHERE topic >= ?1 AND topic > ?2 AND topic < ?3 ORDER BY topic LIMIT 1)
	UNION ALL
	SELECT (SELECT e.topic FROM events e WHERE e.topic > names.topic AND e.topic < ?3 ORDER BY e.topic LIMIT 1)
	FROM names WHERE names.topic IS NOT NULL
	LIMIT ?4
)
SELECT n.topic,
	coalesce((SELECT count FROM topics t WHERE t.topic = n.topic), 0),
	(SELECT id FROM events e WHERE e.topic = n.topic ORDER BY e.id LIMIT 1),
	l.id, l.time
FROM names n
JOIN events l ON l.id = (SELECT id FROM events e WHERE e.topic = n.topic ORDER BY e.id DESC LIMIT 1)
WHERE n.topic IS NOT NULL
ORDER BY n.topic`

func (s *Store) topics(ctx context.Context, prefix, after string, limit int) ([]TopicInfo, int64, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	head, err := readSeq(ctx, tx)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		return nil, head, nil
	}
	rows, err := tx.QueryContext(ctx, topicsQuery, prefix, after, prefix+topicsBound, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	list := make([]TopicInfo, 0, min(limit, 64))
	for rows.Next() {
		var ti TopicInfo
		var ms int64
		if err := rows.Scan(&ti.Topic, &ti.Events, &ti.FirstID, &ti.LastID, &ms); err != nil {
			return nil, 0, err
		}
		ti.LastTime = time.UnixMilli(ms).UTC()
		list = append(list, ti)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return list, head, nil
}
