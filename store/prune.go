package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// pruner runs Prune every PruneInterval until ctx is cancelled.
func (s *Store) pruner(ctx context.Context) {
	defer close(s.prunerDone)
	RunPruner(ctx, s.opts.PruneInterval, s.log, s.Prune)
}

// Prune deletes events older than the retention and, per topic, events
// beyond the newest MaxEventsPerTopic. It works in transactions of at most
// PruneChunk rows so publishers wait at most one small transaction, and in
// each it raises the topics' pruned_id to the highest id it deleted. It
// returns the number of events deleted.
func (s *Store) Prune(ctx context.Context) (int, error) {
	cutoff := time.Now().Add(-s.opts.Retention).UnixMilli()
	return PrunePlan{
		ExpiredBound: func(ctx context.Context) (int64, bool, error) {
			var bound sql.NullInt64
			err := s.wdb.QueryRowContext(ctx, `SELECT max(id) FROM (SELECT id, time FROM events ORDER BY id LIMIT ?) WHERE time < ?`, PruneChunk, cutoff).Scan(&bound)
			if err != nil {
				return 0, false, fmt.Errorf("prune: find expired: %w", err)
			}
			return bound.Int64, bound.Valid, nil
		},
		DeleteThrough: func(ctx context.Context, bound int64) (int, error) {
			return s.deleteChunk(ctx, `DELETE FROM events WHERE id <= ? RETURNING topic, id`, bound)
		},
		FullTopics: s.fullTopics,
		TopicBound: func(ctx context.Context, topic string) (int64, bool, error) {
			var bound int64
			err := s.wdb.QueryRowContext(ctx, `SELECT id FROM events WHERE topic = ? ORDER BY id DESC LIMIT 1 OFFSET ?`, topic, s.opts.MaxEventsPerTopic).Scan(&bound)
			if errors.Is(err, sql.ErrNoRows) {
				return 0, false, nil
			} else if err != nil {
				return 0, false, fmt.Errorf("prune topic: %w", err)
			}
			return bound, true, nil
		},
		DeleteTopicChunk: func(ctx context.Context, topic string, bound int64) (int, error) {
			return s.deleteChunk(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE topic = ? AND id <= ? ORDER BY id LIMIT ?) RETURNING topic, id`, topic, bound, PruneChunk)
		},
	}.Run(ctx)
}

// fullTopics returns the topics holding more than MaxEventsPerTopic events.
func (s *Store) fullTopics(ctx context.Context) ([]string, error) {
	rows, err := s.wdb.QueryContext(ctx, `SELECT topic FROM topics WHERE count > ?`, s.opts.MaxEventsPerTopic)
	if err != nil {
		return nil, fmt.Errorf("prune: find full topics: %w", err)
	}
	defer rows.Close()
	var topics []string
	for rows.Next() {
		var topic string
		if err := rows.Scan(&topic); err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		}
		topics = append(topics, topic)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	return topics, nil
}

// deleteChunk runs one DELETE ... RETURNING topic, id in a transaction and
// records per topic the count removed and the highest id pruned.
func (s *Store) deleteChunk(ctx context.Context, query string, args ...any) (int, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("prune: delete: %w", err)
	}
	var del PrunedRows
	err = del.Scan(rows)
	rows.Close()
	if err != nil {
		return 0, fmt.Errorf("prune: delete: %w", err)
	}
	// A topic left with nothing retained gives up its row; the store-wide
	// floor keeps what the row knew (see migrations/0002_prune_floor.sql).
	var floor int64
	for topic, m := range del.Topics {
		var left, pruned int64
		err := tx.QueryRowContext(ctx, `UPDATE topics SET count = max(count - ?, 0), pruned_id = max(pruned_id, ?) WHERE topic = ? RETURNING count, pruned_id`, m.Count, m.MaxID, topic).Scan(&left, &pruned)
		if err != nil && err != sql.ErrNoRows {
			return 0, fmt.Errorf("prune: record: %w", err)
		}
		if err == nil && left == 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM topics WHERE topic = ?`, topic); err != nil {
				return 0, fmt.Errorf("prune: forget empty topic: %w", err)
			}
			floor = max(floor, pruned)
		}
	}
	if floor > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE prune_floor SET pruned_id = max(pruned_id, ?)`, floor); err != nil {
			return 0, fmt.Errorf("prune: record floor: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("prune: commit: %w", err)
	}
	if del.N > 0 && s.opts.OnPrune != nil {
		s.opts.OnPrune(del.MaxID)
	}
	if del.N > 0 && s.opts.Observer != nil {
		s.opts.Observer.PrunedEvents(del.N)
	}
	return del.N, nil
}
