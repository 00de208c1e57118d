package store

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"time"
)

// ExportPage bounds the events read per batch of an export.
const ExportPage = 1000

// ExportEvents returns the events of an export as an iterator of batches:
// read(after) returns up to ExportPage events with ids above after, in id
// order, and none once the log is read through. Each batch starts after
// the last id of the one before; the iterator stops at the first error,
// which it yields wrapped, or when its consumer stops.
func ExportEvents(read func(after int64) ([]Record, error)) iter.Seq2[[]Record, error] {
	return func(yield func([]Record, error) bool) {
		var after int64
		for {
			page, err := read(after)
			if err != nil {
				yield(nil, fmt.Errorf("export: read events: %w", err))
				return
			}
			if len(page) == 0 || !yield(page, nil) {
				return
			}
			after = page[len(page)-1].ID
		}
	}
}

// ImportEvents passes the batches of events to insert in order, having
// checked that every id is above the one before it and none is above
// m.Head. It stops at the first error, of events, of that check or of
// insert, and returns it.
func ImportEvents(m Marks, events iter.Seq2[[]Record, error], insert func([]Record) error) error {
	var last int64
	for page, err := range events {
		if err != nil {
			return err
		}
		for _, r := range page {
			if r.ID <= last || r.ID > m.Head {
				return fmt.Errorf("event id %d out of order (after %d, head %d)", r.ID, last, m.Head)
			}
			last = r.ID
		}
		if err := insert(page); err != nil {
			return err
		}
	}
	return nil
}

// NotEmptyError is Import's refusal of a store holding events or marks.
func NotEmptyError(head, topics int64) error {
	return fmt.Errorf("the target store is not empty (head %d, %d topics)", head, topics)
}

// Export reads the store from one read transaction: see Exporter.
func (s *Store) Export(ctx context.Context, fn func(Marks, iter.Seq2[[]Record, error]) error) error {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer tx.Rollback()
	var m Marks
	if m.Head, err = readSeq(ctx, tx); err != nil {
		return fmt.Errorf("export: read head: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT pruned_id FROM prune_floor`).Scan(&m.Floor); err != nil {
		return fmt.Errorf("export: read floor: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT topic, pruned_id FROM topics WHERE pruned_id > 0 ORDER BY topic`)
	if err != nil {
		return fmt.Errorf("export: read marks: %w", err)
	}
	for rows.Next() {
		var t TopicMark
		if err := rows.Scan(&t.Topic, &t.PrunedID); err != nil {
			rows.Close()
			return fmt.Errorf("export: read marks: %w", err)
		}
		m.Topics = append(m.Topics, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export: read marks: %w", err)
	}
	events := ExportEvents(func(after int64) ([]Record, error) { return exportEvents(ctx, tx, after) })
	return fn(m, events)
}

func exportEvents(ctx context.Context, tx *sql.Tx, after int64) ([]Record, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, topic, type, data, coalesce(key, ''), time FROM events WHERE id > ? ORDER BY id LIMIT ?`, after, ExportPage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var page []Record
	for rows.Next() {
		var r Record
		var data []byte
		var ms int64
		if err := rows.Scan(&r.ID, &r.Topic, &r.Type, &data, &r.Key, &ms); err != nil {
			return nil, err
		}
		r.Data = data
		r.Time = time.UnixMilli(ms).UTC()
		page = append(page, r)
	}
	return page, rows.Err()
}

// Import fills the empty store: see Importer. It runs on the write
// connection; nothing may append meanwhile.
func (s *Store) Import(ctx context.Context, m Marks, events iter.Seq2[[]Record, error]) error {
	if err := s.importTx(ctx, m, events); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return s.loadHead()
}

func (s *Store) importTx(ctx context.Context, m Marks, events iter.Seq2[[]Record, error]) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	seq, err := readSeq(ctx, tx)
	if err != nil {
		return err
	}
	var topics int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM topics`).Scan(&topics); err != nil {
		return err
	}
	if seq > 0 || topics > 0 {
		return NotEmptyError(seq, topics)
	}
	insert := s.inserter(ctx, tx)
	count := tx.StmtContext(ctx, s.countStmt)
	err = ImportEvents(m, events, func(page []Record) error {
		counts := make(map[string]int64)
		for _, r := range page {
			var key any
			if r.Key != "" {
				key = r.Key
			}
			if err := insert.add(r.ID, r.Topic, r.Type, []byte(r.Data), key, r.Time.UnixMilli()); err != nil {
				return err
			}
			counts[r.Topic]++
		}
		if err := insert.flush(); err != nil {
			return err
		}
		for topic, c := range counts {
			if _, err := count.ExecContext(ctx, topic, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, t := range m.Topics {
		if _, err := tx.ExecContext(ctx, `INSERT INTO topics (topic, pruned_id) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET pruned_id = excluded.pruned_id`, t.Topic, t.PrunedID); err != nil {
			return err
		}
	}
	// Set last: the rows made above keep the marks they had, not the floor.
	if _, err := tx.ExecContext(ctx, `UPDATE prune_floor SET pruned_id = ?`, m.Floor); err != nil {
		return err
	}
	// The sequence row exists once an event was inserted; an export whose
	// events were all pruned still carries its head.
	if _, err := tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'`, m.Head); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) SELECT 'events', ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events')`, m.Head); err != nil {
		return err
	}
	return tx.Commit()
}
