package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// pruner runs Prune every PruneInterval until ctx is cancelled.
func (s *Store) pruner(ctx context.Context) {
	defer close(s.prunerDone)
	t := time.NewTicker(s.opts.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("prune failed", "err", err)
			} else if n > 0 {
				s.log.Debug("pruned events", "count", n)
			}
		}
	}
}

// Prune deletes events older than the retention and, per topic, events
// beyond the newest MaxEventsPerTopic. It works in transactions of at most
// pruneChunk rows so publishers wait at most one small transaction, and in
// each it raises the topics' pruned_id to the highest id it deleted. It
// returns the number of events deleted.
func (s *Store) Prune(ctx context.Context) (int, error) {
	total := 0
	cutoff := time.Now().Add(-s.opts.Retention).UnixMilli()
	for ctx.Err() == nil {
		// Commit times never decrease with id, so the expired events are a
		// prefix of the log: find its end within the next chunk.
		var bound sql.NullInt64
		err := s.wdb.QueryRowContext(ctx, `SELECT max(id) FROM (SELECT id, time FROM events ORDER BY id LIMIT ?) WHERE time < ?`, pruneChunk, cutoff).Scan(&bound)
		if err != nil {
			return total, fmt.Errorf("prune: find expired: %w", err)
		}
		if !bound.Valid {
			break
		}
		n, err := s.deleteChunk(ctx, `DELETE FROM events WHERE id <= ? RETURNING topic, id`, bound.Int64)
		total += n
		if err != nil {
			return total, err
		}
	}

	rows, err := s.wdb.QueryContext(ctx, `SELECT topic, count FROM topics WHERE count > ?`, s.opts.MaxEventsPerTopic)
	if err != nil {
		return total, fmt.Errorf("prune: find full topics: %w", err)
	}
	type full struct {
		topic string
		count int64
	}
	var fulls []full
	for rows.Next() {
		var f full
		if err := rows.Scan(&f.topic, &f.count); err != nil {
			rows.Close()
			return total, fmt.Errorf("prune: %w", err)
		}
		fulls = append(fulls, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return total, fmt.Errorf("prune: %w", err)
	}
	for _, f := range fulls {
		// The newest event to delete sits MaxEventsPerTopic below the top.
		var bound int64
		err := s.wdb.QueryRowContext(ctx, `SELECT id FROM events WHERE topic = ? ORDER BY id DESC LIMIT 1 OFFSET ?`, f.topic, s.opts.MaxEventsPerTopic).Scan(&bound)
		if err == sql.ErrNoRows {
			continue
		} else if err != nil {
			return total, fmt.Errorf("prune topic: %w", err)
		}
		for ctx.Err() == nil {
			n, err := s.deleteChunk(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE topic = ? AND id <= ? ORDER BY id LIMIT ?) RETURNING topic, id`, f.topic, bound, pruneChunk)
			total += n
			if err != nil {
				return total, err
			}
			if n < pruneChunk {
				break
			}
		}
	}
	return total, ctx.Err()
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
	type mark struct{ count, maxID int64 }
	marks := make(map[string]*mark)
	var n int
	var maxID int64
	for rows.Next() {
		var topic string
		var id int64
		if err := rows.Scan(&topic, &id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("prune: delete: %w", err)
		}
		m := marks[topic]
		if m == nil {
			m = &mark{}
			marks[topic] = m
		}
		m.count++
		m.maxID = max(m.maxID, id)
		maxID = max(maxID, id)
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("prune: delete: %w", err)
	}
	// A topic left with nothing retained gives up its row; the store-wide
	// floor keeps what the row knew (see migrations/0002_prune_floor.sql).
	var floor int64
	for topic, m := range marks {
		var left, pruned int64
		err := tx.QueryRowContext(ctx, `UPDATE topics SET count = max(count - ?, 0), pruned_id = max(pruned_id, ?) WHERE topic = ? RETURNING count, pruned_id`, m.count, m.maxID, topic).Scan(&left, &pruned)
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
	if n > 0 && s.opts.OnPrune != nil {
		s.opts.OnPrune(maxID)
	}
	if n > 0 && s.opts.Observer != nil {
		s.opts.Observer.PrunedEvents(n)
	}
	return n, nil
}
