package postgres

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidings/tidings/store"
)

// Export reads the store from one repeatable-read snapshot: see
// store.Exporter.
func (s *Store) Export(ctx context.Context, fn func(store.Marks, iter.Seq2[[]store.Record, error]) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer tx.Rollback(context.Background())
	var m store.Marks
	if err := tx.QueryRow(ctx, `SELECT last_id, (SELECT pruned_id FROM tidings_prune_floor) FROM tidings_head`).Scan(&m.Head, &m.Floor); err != nil {
		return fmt.Errorf("export: read head: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT topic, pruned_id FROM tidings_topics WHERE pruned_id > 0 ORDER BY topic`)
	if err != nil {
		return fmt.Errorf("export: read marks: %w", err)
	}
	m.Topics, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.TopicMark, error) {
		var t store.TopicMark
		return t, r.Scan(&t.Topic, &t.PrunedID)
	})
	if err != nil {
		return fmt.Errorf("export: read marks: %w", err)
	}
	events := store.ExportEvents(func(after int64) ([]store.Record, error) {
		rows, err := tx.Query(ctx, `SELECT id, topic, type, data, coalesce(key, ''), time FROM tidings_events WHERE id > $1 ORDER BY id LIMIT $2`, after, store.ExportPage)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Record, error) {
			var rec store.Record
			var data []byte
			var ms int64
			err := r.Scan(&rec.ID, &rec.Topic, &rec.Type, &data, &rec.Key, &ms)
			rec.Data = data
			rec.Time = time.UnixMilli(ms).UTC()
			return rec, err
		})
	})
	return fn(m, events)
}

// Import fills the empty store in one transaction: see store.Importer. It
// holds the head lock throughout, so no replica commits meanwhile.
func (s *Store) Import(ctx context.Context, m store.Marks, events iter.Seq2[[]store.Record, error]) error {
	if err := s.importTx(ctx, m, events); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	s.wakeFollower()
	return nil
}

func (s *Store) importTx(ctx context.Context, m store.Marks, events iter.Seq2[[]store.Record, error]) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	var head, topics int64
	var hasEvents bool
	if err := tx.QueryRow(ctx, `SELECT last_id, (SELECT count(*) FROM tidings_topics), EXISTS (SELECT 1 FROM tidings_events) FROM tidings_head FOR UPDATE`).Scan(&head, &topics, &hasEvents); err != nil {
		return err
	}
	if head > 0 || topics > 0 || hasEvents {
		return store.NotEmptyError(head, topics)
	}
	var lastTime int64
	err = store.ImportEvents(m, events, func(page []store.Record) error {
		for _, r := range page {
			lastTime = max(lastTime, r.Time.UnixMilli())
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"tidings_events"}, []string{"id", "topic", "type", "data", "key", "time"},
			pgx.CopyFromSlice(len(page), func(i int) ([]any, error) {
				r := page[i]
				var key *string
				if r.Key != "" {
					key = &r.Key
				}
				return []any{r.ID, r.Topic, r.Type, []byte(r.Data), key, r.Time.UnixMilli()}, nil
			}))
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var pruned int64
	markTopics := make([]string, len(m.Topics))
	markIDs := make([]int64, len(m.Topics))
	for i, t := range m.Topics {
		markTopics[i], markIDs[i] = t.Topic, t.PrunedID
		pruned = max(pruned, t.PrunedID)
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO tidings_topics (topic, count) SELECT topic, count(*) FROM tidings_events GROUP BY topic`)
	b.Queue(`INSERT INTO tidings_topics (topic, pruned_id) SELECT * FROM unnest($1::text[], $2::bigint[])
		ON CONFLICT (topic) DO UPDATE SET pruned_id = excluded.pruned_id`, markTopics, markIDs)
	b.Queue(`UPDATE tidings_head SET last_id = $1, last_time = $2`, m.Head, lastTime)
	b.Queue(`UPDATE tidings_pruned SET pruned_id = $1`, max(pruned, m.Floor))
	b.Queue(`UPDATE tidings_prune_floor SET pruned_id = $1`, m.Floor)
	b.Queue(`SELECT pg_notify($1, $2)`, channelCommit, fmt.Sprint(m.Head))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
