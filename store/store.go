// Package store is tidings' durable event log in embedded SQLite.
//
// One goroutine owns the write connection. Publishers queue their events with
// Append; the writer takes everything queued, commits it in one transaction
// (group commit), and only then answers each publisher and calls OnCommit.
// Ids are assigned by that writer in commit order, so a reader of any
// snapshot never sees an id before every smaller id is visible, and the
// AUTOINCREMENT sequence guarantees an id is never reused.
//
// Reads go through a separate pool of read connections (WAL lets them run
// beside the writer). A background pruner enforces retention in small
// transactions and records, per topic, the highest pruned id so an expired
// cursor is detected exactly.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Defaults for Options fields left zero.
const (
	DefaultRetention         = 24 * time.Hour
	DefaultMaxEventsPerTopic = 10000
	DefaultPruneInterval     = time.Minute
	DefaultQueueSize         = 4096

	// MaxBatch is the largest number of events one Append may carry.
	MaxBatch = 1000
)

// Errors callers must tell apart.
var (
	// ErrClosed is returned by Append once Close has begun.
	ErrClosed = errors.New("store closed")
	// ErrUnavailable wraps failures of the database itself.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrFull wraps a write refused because the disk or database is full.
	ErrFull = errors.New("storage full")
)

// Event is one committed event.
type Event struct {
	ID    int64
	Topic string
	Type  string
	Data  json.RawMessage // compact JSON, never empty
	Time  time.Time       // commit time, UTC, millisecond precision
}

// Input is one event to publish. Data must be valid, compact JSON; Key, if
// set, makes the publish idempotent per topic while the event is retained.
type Input struct {
	Topic string
	Type  string
	Key   string
	Data  json.RawMessage
}

// Result answers one Input: the stored event, or with Duplicate the event
// stored earlier under the same key (its Data is not loaded).
type Result struct {
	Event     Event
	Duplicate bool
}

// Options tune a Store. Zero values take the Default* constants.
type Options struct {
	Retention         time.Duration
	MaxEventsPerTopic int
	PruneInterval     time.Duration
	QueueSize         int
	// LockTimeout bounds the wait for another process to let go of the
	// database file (see LockPath).
	LockTimeout time.Duration

	// OnCommit is called by the writer goroutine after each commit with the
	// newly stored events in id order (duplicates excluded), before any
	// publisher of that commit is answered. It must not block for long.
	OnCommit func([]Event)
	// OnPrune is called after a pruning transaction commits with the
	// highest id it deleted. It is called from the same goroutine as
	// OnCommit; a backend whose commits come from elsewhere (PostgreSQL)
	// may report a mark above the ids it has handed to OnCommit so far.
	OnPrune func(maxID int64)
	// Observer, if set, is told about every commit and prune.
	Observer Observer

	Logger *slog.Logger
}

// Observer receives store statistics (metrics).
type Observer interface {
	Commit(events int, took time.Duration)
	PrunedEvents(n int)
}

// Store is the event log. Open it with Open and release it with Close.
type Store struct {
	opts   Options
	log    *slog.Logger
	wdb    *sql.DB  // one connection, owned by the writer goroutine and the pruner
	rdb    *sql.DB  // read pool
	lock   *os.File // holds the exclusive lock on the database file
	path   string
	schema int // the schema version, len(migrations)

	state writerState

	queue *CommitQueue

	// Owned by the writer goroutine.
	lastID   int64
	lastTime int64
	// Prepared once on the write connection; each commit binds them to its
	// transaction without preparing again.
	inserts               [len(insertSizes)]*sql.Stmt
	lookupStmt, countStmt *sql.Stmt

	cancel     context.CancelFunc
	writerDone chan struct{}
	prunerDone chan struct{}
}

// Open opens (creating if needed) the database at path, applies migrations,
// checks that WAL is on and starts the writer and the pruner. It is
// OpenContext without a way to stop waiting for the database file.
func Open(path string, opts Options) (*Store, error) {
	return OpenContext(context.Background(), path, opts)
}

// OpenContext is Open. Before it touches the database it takes the
// exclusive lock on the file beside it (LockPath): while another process
// holds it, OpenContext waits up to opts.LockTimeout (logging once that it
// waits), then fails with ErrLocked; it also stops waiting when ctx ends.
// The lock is held until Close, so one process at a time writes the file.
func OpenContext(ctx context.Context, path string, opts Options) (_ *Store, err error) {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.MaxEventsPerTopic <= 0 {
		opts.MaxEventsPerTopic = DefaultMaxEventsPerTopic
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = DefaultPruneInterval
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	lock, err := lockDatabase(ctx, path, opts.LockTimeout, opts.Logger)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close() // closing the file releases the lock
		}
	}()

	wdb, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)

	s := &Store{opts: opts, log: opts.Logger, wdb: wdb, lock: lock, path: path}
	if err := s.migrate(); err != nil {
		wdb.Close()
		return nil, err
	}
	var mode string
	if err := wdb.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		wdb.Close()
		return nil, fmt.Errorf("journal mode is %q, want wal: is %s on a filesystem that supports it?", mode, path)
	}

	rdb, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open read pool: %w", err)
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)
	rdb.SetConnMaxIdleTime(0)
	s.rdb = rdb

	if err := s.loadHead(); err != nil {
		s.wdb.Close()
		s.rdb.Close()
		return nil, err
	}

	if err := s.prepare(); err != nil {
		s.wdb.Close()
		s.rdb.Close()
		return nil, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.queue = NewCommitQueue(opts.QueueSize)
	s.writerDone = make(chan struct{})
	s.prunerDone = make(chan struct{})
	go s.writer()
	go s.pruner(ctx)
	return s, nil
}

// dsn sets every pragma on every connection: busy_timeout first so the
// others never fail on a busy database, then WAL and synchronous=NORMAL
// (with WAL, a commit survives a crash of the process; only a power loss may
// take the last transactions). The write pool takes its lock at BEGIN.
func dsn(path string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	if write {
		q.Add("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(ON)")
	}
	return "file:" + path + "?" + q.Encode()
}

// migrate applies the embedded migrations in name order, each in its own
// transaction, recording progress in user_version.
func (s *Store) migrate() error {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var version int
	if err := s.wdb.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	s.schema = len(names)
	if version > len(names) {
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d)", version, len(names))
	}
	for i := version; i < len(names); i++ {
		body, err := migrationFS.ReadFile(names[i])
		if err != nil {
			return err
		}
		tx, err := s.wdb.Begin()
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
	}
	return nil
}

func (s *Store) loadHead() error {
	seq, err := readSeq(context.Background(), s.wdb)
	if err != nil {
		return fmt.Errorf("read head: %w", err)
	}
	var maxID, maxTime sql.NullInt64
	if err := s.wdb.QueryRow(`SELECT id, time FROM events ORDER BY id DESC LIMIT 1`).Scan(&maxID, &maxTime); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read head: %w", err)
	}
	s.lastID = max(seq, maxID.Int64)
	s.lastTime = maxTime.Int64
	return nil
}

func (s *Store) prepare() (err error) {
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.wdb.Prepare(q)
		return st
	}
	for i, size := range insertSizes {
		s.inserts[i] = prep(insertSQL(size))
	}
	s.lookupStmt = prep(`SELECT id, type, time FROM events WHERE topic = ? AND key = ?`)
	// A topic without a row starts from the store-wide pruned floor: its
	// earlier events, if it had any, may have been pruned up to there.
	s.countStmt = prep(`INSERT INTO topics (topic, count, pruned_id) VALUES (?, ?, (SELECT pruned_id FROM prune_floor)) ON CONFLICT (topic) DO UPDATE SET count = count + excluded.count`)
	if err != nil {
		return fmt.Errorf("prepare statements: %w", err)
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readSeq returns the largest id ever assigned.
func readSeq(ctx context.Context, q querier) (int64, error) {
	var seq int64
	err := q.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'events'`).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, err
}

// Head returns the largest id ever committed, read from the database
// through the read pool.
func (s *Store) Head(ctx context.Context) (int64, error) {
	seq, err := readSeq(ctx, s.rdb)
	if err != nil {
		return 0, fmt.Errorf("read head: %w: %w", ErrUnavailable, err)
	}
	return seq, nil
}

// Pruned returns the highest id pruned from any topic: see Log.
func (s *Store) Pruned(ctx context.Context) (int64, error) {
	var pruned int64
	err := s.rdb.QueryRowContext(ctx, `SELECT max((SELECT coalesce(max(pruned_id), 0) FROM topics), (SELECT pruned_id FROM prune_floor))`).Scan(&pruned)
	if err != nil {
		return 0, fmt.Errorf("read pruned mark: %w: %w", ErrUnavailable, err)
	}
	return pruned, nil
}

// Append queues inputs (1..MaxBatch) and returns once they are committed:
// all of them or, on error, none. A nil error is a promise that every
// returned event survives a crash of the process.
func (s *Store) Append(ctx context.Context, inputs []Input) ([]Result, error) {
	return s.queue.Append(ctx, inputs)
}

// writer is the only goroutine that inserts. It runs until the queue is
// closed and drained.
func (s *Store) writer() {
	defer close(s.writerDone)
	s.queue.Run(s.commit)
}

type topicKey struct{ topic, key string }

// commit stores every request of batch in one transaction, then notifies and
// answers. On failure every request in the batch gets the error and no id is
// consumed.
func (s *Store) commit(batch []*AppendRequest, n int) {
	start := time.Now()
	fresh, err := s.commitTx(batch, n)
	if s.opts.Observer != nil && err == nil {
		s.opts.Observer.Commit(len(fresh), time.Since(start))
	}
	if err != nil {
		err = classify(fmt.Errorf("append events: %w", err))
	}
	s.state.set(err)
	if err != nil {
		s.log.Error("commit failed", "events", n, "err", err)
		for _, req := range batch {
			req.Fail(err)
		}
		return
	}
	if len(fresh) > 0 && s.opts.OnCommit != nil {
		s.opts.OnCommit(fresh)
	}
	for _, req := range batch {
		req.Done()
	}
}

func (s *Store) commitTx(batch []*AppendRequest, n int) ([]Event, error) {
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	insert := s.inserter(ctx, tx)
	var lookup *sql.Stmt

	now := max(time.Now().UnixMilli(), s.lastTime)
	ts := time.UnixMilli(now).UTC()
	next := s.lastID
	fresh := make([]Event, 0, n)
	counts := make(map[string]int64)
	for _, req := range batch {
		if req.Probe {
			// Rewriting the schema version writes the database header:
			// the commit needs room on disk and a writable file, and
			// changes nothing.
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, s.schema)); err != nil {
				return nil, err
			}
			continue
		}
		req.Results = make([]Result, len(req.Inputs))
		for i, in := range req.Inputs {
			var key any
			if in.Key != "" {
				// Look the key up before inserting: an ignored insert with an
				// explicit id would still raise the AUTOINCREMENT sequence,
				// moving the head past an id that does not exist. Events
				// added before it and not yet written may hold the same
				// key: they are written first.
				if err := insert.flush(); err != nil {
					return nil, err
				}
				if lookup == nil {
					lookup = tx.StmtContext(ctx, s.lookupStmt)
				}
				ev := Event{Topic: in.Topic}
				var ms int64
				err := lookup.QueryRowContext(ctx, in.Topic, in.Key).Scan(&ev.ID, &ev.Type, &ms)
				if err == nil {
					// Stored earlier, possibly earlier in this transaction.
					ev.Time = time.UnixMilli(ms).UTC()
					req.Results[i] = Result{Event: ev, Duplicate: true}
					continue
				} else if !errors.Is(err, sql.ErrNoRows) {
					return nil, fmt.Errorf("look up key: %w", err)
				}
				key = in.Key
			}
			if err := insert.add(next+1, in.Topic, in.Type, []byte(in.Data), key, now); err != nil {
				return nil, err
			}
			next++
			ev := Event{ID: next, Topic: in.Topic, Type: in.Type, Data: in.Data, Time: ts}
			req.Results[i] = Result{Event: ev}
			fresh = append(fresh, ev)
			counts[in.Topic]++
		}
	}
	if err := insert.flush(); err != nil {
		return nil, err
	}
	if len(counts) > 0 {
		up := tx.StmtContext(ctx, s.countStmt)
		for topic, c := range counts {
			if _, err := up.ExecContext(ctx, topic, c); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.lastID = next
	s.lastTime = now
	return fresh, nil
}

// classify marks SQLite failures with the sentinel a caller can act on.
func classify(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("%w: %w", ErrFull, err)
		}
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Close stops accepting appends, commits everything already queued, stops
// the pruner and closes the database. If ctx ends before the queue is
// drained, the database is closed under the writer: what it has not
// committed is answered with an error (never acknowledged), and Close
// returns ctx's error once everything is closed.
func (s *Store) Close(ctx context.Context) error {
	if !s.queue.Close() {
		return nil
	}

	s.cancel()
	var late error
	select {
	case <-s.writerDone:
	case <-ctx.Done():
		// Out of time: closing the database makes the writer's next
		// transaction fail at once, so it answers the rest of the queue.
		late = ctx.Err()
		s.wdb.Close()
		<-s.writerDone
	}
	<-s.prunerDone
	errs := []error{late, s.lookupStmt.Close(), s.countStmt.Close()}
	for _, st := range s.inserts {
		errs = append(errs, st.Close())
	}
	err := errors.Join(append(errs, s.rdb.Close(), s.wdb.Close())...)
	// Only now may another process take the file.
	s.lock.Close()
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}
