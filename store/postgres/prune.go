package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pruner runs Prune every PruneInterval until the store closes. Every
// replica runs one; the advisory lock lets one at a time work.
func (s *Store) pruner() {
	defer close(s.prunerDone)
	t := time.NewTicker(s.opts.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if n, err := s.Prune(s.ctx); err != nil && s.ctx.Err() == nil {
				s.log.Error("prune failed", "err", err)
			} else if n > 0 {
				s.log.Debug("pruned events", "count", n)
			}
		}
	}
}

// Prune deletes events older than the retention and, per topic, events
// beyond the newest MaxEventsPerTopic, in transactions of at most
// pruneChunk rows, raising in each the topics' pruned_id to the highest id
// it deleted. Only one replica prunes at a time: if another holds the
// prune lock, Prune returns 0 at once. It returns the number of events
// deleted. OnPrune is called by the follower, as for other replicas'
// prunes.
func (s *Store) Prune(ctx context.Context) (int, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, classify(fmt.Errorf("prune: %w", err))
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(lockPrune)).Scan(&got); err != nil {
		return 0, classify(fmt.Errorf("prune: take lock: %w", err))
	}
	if !got {
		return 0, nil
	}
	defer func() {
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(lockPrune)); err != nil {
			// The session lock must not outlive this call: end the session.
			conn.Conn().Close(context.Background())
		}
	}()
	return s.prune(ctx, conn)
}

func (s *Store) prune(ctx context.Context, conn *pgxpool.Conn) (int, error) {
	total := 0
	retention := s.opts.Retention.Milliseconds()
	for ctx.Err() == nil {
		// Commit times never decrease with id, so the expired events are a
		// prefix of the log: find its end within the next chunk. The
		// cutoff is taken from the database's clock, like commit times.
		var bound *int64
		err := conn.QueryRow(ctx, `SELECT max(id) FROM (SELECT id, time FROM tidings_events ORDER BY id LIMIT $1) s
			WHERE time < floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - $2`, pruneChunk, retention).Scan(&bound)
		if err != nil {
			return total, fmt.Errorf("prune: find expired: %w", err)
		}
		if bound == nil {
			break
		}
		n, err := s.deleteChunk(ctx, conn, `DELETE FROM tidings_events WHERE id <= $1 RETURNING topic, id`, *bound)
		total += n
		if err != nil {
			return total, err
		}
	}

	type full struct {
		topic string
		count int64
	}
	rows, err := conn.Query(ctx, `SELECT topic, count FROM tidings_topics WHERE count > $1 ORDER BY topic`, s.opts.MaxEventsPerTopic)
	if err != nil {
		return total, fmt.Errorf("prune: find full topics: %w", err)
	}
	fulls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (full, error) {
		var f full
		return f, r.Scan(&f.topic, &f.count)
	})
	if err != nil {
		return total, fmt.Errorf("prune: find full topics: %w", err)
	}
	for _, f := range fulls {
		// The newest event to delete sits MaxEventsPerTopic below the top.
		var bound int64
		err := conn.QueryRow(ctx, `SELECT id FROM tidings_events WHERE topic = $1 ORDER BY id DESC LIMIT 1 OFFSET $2`, f.topic, s.opts.MaxEventsPerTopic).Scan(&bound)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		} else if err != nil {
			return total, fmt.Errorf("prune topic: %w", err)
		}
		for ctx.Err() == nil {
			n, err := s.deleteChunk(ctx, conn, `DELETE FROM tidings_events WHERE id IN
				(SELECT id FROM tidings_events WHERE topic = $1 AND id <= $2 ORDER BY id LIMIT $3) RETURNING topic, id`, f.topic, bound, pruneChunk)
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

// deleteChunk runs one DELETE ... RETURNING topic, id in a transaction,
// records per topic the count removed and the highest id pruned, raises
// the global pruned mark and notifies every replica.
func (s *Store) deleteChunk(ctx context.Context, conn *pgxpool.Conn, query string, args ...any) (int, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	defer tx.Rollback(context.Background())
	rows, err := tx.Query(ctx, query, args...)
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
	if n == 0 {
		return 0, nil
	}
	// Topic rows in name order, as the writers lock them.
	topics := make([]string, 0, len(marks))
	for t := range marks {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	b := &pgx.Batch{}
	for _, t := range topics {
		m := marks[t]
		b.Queue(`UPDATE tidings_topics SET count = greatest(count - $1, 0), pruned_id = greatest(pruned_id, $2) WHERE topic = $3`, m.count, m.maxID, t)
	}
	b.Queue(`UPDATE tidings_pruned SET pruned_id = greatest(pruned_id, $1)`, maxID)
	b.Queue(`SELECT pg_notify($1, $2)`, channelPrune, fmt.Sprint(maxID))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("prune: record: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("prune: commit: %w", err)
	}
	s.wakeFollower()
	if s.opts.Observer != nil {
		s.opts.Observer.PrunedEvents(n)
	}
	return n, nil
}
