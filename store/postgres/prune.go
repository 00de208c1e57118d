package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tidings/tidings/store"
)

// pruner runs Prune every PruneInterval until the store closes. Every
// replica runs one; the advisory lock lets one at a time work.
func (s *Store) pruner() {
	defer close(s.prunerDone)
	store.RunPruner(s.ctx, s.opts.PruneInterval, s.log, s.Prune)
}

// Prune deletes events older than the retention and, per topic, events
// beyond the newest MaxEventsPerTopic, in transactions of at most
// store.PruneChunk rows, raising in each the topics' pruned_id to the highest id
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
	retention := s.opts.Retention.Milliseconds()
	return store.PrunePlan{
		ExpiredBound: func(ctx context.Context) (int64, bool, error) {
			// The cutoff is taken from the database's clock, like commit
			// times.
			var bound *int64
			err := conn.QueryRow(ctx, `SELECT max(id) FROM (SELECT id, time FROM tidings_events ORDER BY id LIMIT $1) s
				WHERE time < floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - $2`, store.PruneChunk, retention).Scan(&bound)
			if err != nil {
				return 0, false, fmt.Errorf("prune: find expired: %w", err)
			}
			if bound == nil {
				return 0, false, nil
			}
			return *bound, true, nil
		},
		DeleteThrough: func(ctx context.Context, bound int64) (int, error) {
			return s.deleteChunk(ctx, conn, `DELETE FROM tidings_events WHERE id <= $1 RETURNING topic, id`, bound)
		},
		FullTopics: func(ctx context.Context) ([]string, error) {
			rows, err := conn.Query(ctx, `SELECT topic FROM tidings_topics WHERE count > $1 ORDER BY topic`, s.opts.MaxEventsPerTopic)
			if err != nil {
				return nil, fmt.Errorf("prune: find full topics: %w", err)
			}
			topics, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return nil, fmt.Errorf("prune: find full topics: %w", err)
			}
			return topics, nil
		},
		TopicBound: func(ctx context.Context, topic string) (int64, bool, error) {
			var bound int64
			err := conn.QueryRow(ctx, `SELECT id FROM tidings_events WHERE topic = $1 ORDER BY id DESC LIMIT 1 OFFSET $2`, topic, s.opts.MaxEventsPerTopic).Scan(&bound)
			if errors.Is(err, pgx.ErrNoRows) {
				return 0, false, nil
			} else if err != nil {
				return 0, false, fmt.Errorf("prune topic: %w", err)
			}
			return bound, true, nil
		},
		DeleteTopicChunk: func(ctx context.Context, topic string, bound int64) (int, error) {
			return s.deleteChunk(ctx, conn, `DELETE FROM tidings_events WHERE id IN
				(SELECT id FROM tidings_events WHERE topic = $1 AND id <= $2 ORDER BY id LIMIT $3) RETURNING topic, id`, topic, bound, store.PruneChunk)
		},
	}.Run(ctx)
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
	var del store.PrunedRows
	err = del.Scan(rows)
	rows.Close()
	if err != nil {
		return 0, fmt.Errorf("prune: delete: %w", err)
	}
	if del.N == 0 {
		return 0, nil
	}
	// Topic rows in name order, as the writers lock them.
	topics := make([]string, 0, len(del.Topics))
	for t := range del.Topics {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	b := &pgx.Batch{}
	for _, t := range topics {
		m := del.Topics[t]
		b.Queue(`UPDATE tidings_topics SET count = greatest(count - $1, 0), pruned_id = greatest(pruned_id, $2) WHERE topic = $3`, m.Count, m.MaxID, t)
	}
	b.Queue(`UPDATE tidings_pruned SET pruned_id = greatest(pruned_id, $1)`, del.MaxID)
	b.Queue(`SELECT pg_notify($1, $2)`, channelPrune, fmt.Sprint(del.MaxID))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("prune: record: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("prune: commit: %w", err)
	}
	s.wakeFollower()
	if s.opts.Observer != nil {
		s.opts.Observer.PrunedEvents(del.N)
	}
	return del.N, nil
}
