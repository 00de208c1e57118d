package store

import (
	"context"
	"iter"
)

// Log is what every backend of the event log offers: the SQLite Store of
// this package and the PostgreSQL store of store/postgres. The fan-out side
// learns about commits only through Options.OnCommit and Options.OnPrune,
// so it does not know which backend it runs on.
type Log interface {
	// Append commits 1..MaxBatch inputs atomically; a nil error promises
	// every returned event survives a crash of the process.
	Append(ctx context.Context, inputs []Input) ([]Result, error)
	// ReadAfter returns events of topics after cursor and the reset
	// decision for cursor, from one snapshot.
	ReadAfter(ctx context.Context, topics []string, cursor int64, limit int) (Page, error)
	// Head returns the largest id ever committed.
	Head(ctx context.Context) (int64, error)
	// Pruned returns the highest id pruned from any topic (or covered by
	// a pruned floor): a cursor at or above it is never expired.
	Pruned(ctx context.Context) (int64, error)
	// Topics lists, in name order, up to limit topics with retained
	// events, whose names begin with prefix and sort after after, with the
	// head of the same snapshot.
	Topics(ctx context.Context, prefix, after string, limit int) ([]TopicInfo, int64, error)
	// Ping reports whether a publish would be committed now.
	Ping(ctx context.Context) error
	// Prune enforces retention and the per-topic cap now and returns the
	// number of events deleted.
	Prune(ctx context.Context) (int, error)
	// Close commits what is queued, stops every goroutine and releases
	// the database.
	Close(ctx context.Context) error
}

var _ Log = (*Store)(nil)

// Record is one retained event as a copy carries it: the event with its
// data and its idempotency key ("" for none).
type Record struct {
	Event
	Key string
}

// TopicMark is a topic's highest pruned id: cursors below it are expired.
type TopicMark struct {
	Topic    string
	PrunedID int64
}

// Marks is what a store holds besides its events: the largest id ever
// assigned (so ids are never reused), the per-topic pruned ids and the
// floor every topic counts as pruned up to, marked or not (so cursor
// resets are decided exactly as before a copy).
type Marks struct {
	Head   int64
	Topics []TopicMark
	Floor  int64
}

// Exporter is a store that can read out its whole content.
type Exporter interface {
	// Export reads the marks and every retained event from one snapshot
	// and calls fn with them; events come in id order, in batches. The
	// iterator is valid only during fn.
	Export(ctx context.Context, fn func(Marks, iter.Seq2[[]Record, error]) error) error
}

// Importer is a store that can be filled with another store's content.
type Importer interface {
	// Import fills an empty store with marks and events, keeping every id,
	// key and time, in one transaction: all or nothing. It refuses a store
	// that holds any event or mark. Nothing may append meanwhile.
	Import(ctx context.Context, marks Marks, events iter.Seq2[[]Record, error]) error
}

// Copy copies the whole content of src into the empty store dst and
// returns the number of events copied. Clients of src resume on dst with
// their cursors and see no reset.
func Copy(ctx context.Context, dst Importer, src Exporter) (int, error) {
	n := 0
	err := src.Export(ctx, func(m Marks, events iter.Seq2[[]Record, error]) error {
		return dst.Import(ctx, m, func(yield func([]Record, error) bool) {
			for page, err := range events {
				n += len(page)
				if !yield(page, err) {
					return
				}
			}
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
