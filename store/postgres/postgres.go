// Package postgres keeps tidings' event log in PostgreSQL, so any number of
// replicas serve the same topics from one database with the guarantees of
// the SQLite store.
//
// Each replica has one writer goroutine doing group commit, as in SQLite.
// Every group commit locks the one row of tidings_head and assigns ids
// last+1.. inside that transaction, so commits serialise across replicas,
// commit order is id order, and no reader anywhere sees an id before every
// smaller one. Idempotency keys are looked up under that lock, so the same
// key sent to two replicas at once stores one event.
//
// Each replica learns about commits through one follower goroutine that
// calls Options.OnCommit with every committed event in id order, whoever
// committed it: its own writer hands over each commit, and commits of other
// replicas are read from the database when a NOTIFY arrives on a dedicated
// LISTEN connection, when that connection is re-established, and on a slow
// safety poll. A publisher is answered once its events were handed to
// OnCommit. Pruning is done by one replica at a time (a session advisory
// lock), in chunks, recording per-topic pruned ids exactly as SQLite does.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tidings/tidings/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

const (
	// followPage bounds the events the follower reads at once.
	followPage = 1000
	// pollInterval is the safety poll: how late a commit of another
	// replica may be seen when its notification was lost.
	pollInterval = time.Second
	// commitTimeout bounds one group commit, so a hung database fails
	// publishers instead of holding them forever.
	commitTimeout = 30 * time.Second
	// defaultMaxConns is the pool size unless the URL sets pool_max_conns.
	defaultMaxConns = 16

	// Advisory lock keys (per database).
	lockMigrate = 0x7469_6469_6e67_0001
	lockPrune   = 0x7469_6469_6e67_0002

	channelCommit = "tidings_commit"
	channelPrune  = "tidings_prune"
)

// Store is the event log in PostgreSQL. Open it with Open and release it
// with Close. It satisfies store.Log, store.Exporter and store.Importer.
type Store struct {
	opts store.Options
	log  *slog.Logger
	pool *pgxpool.Pool
	// listenCfg connects the LISTEN connection, outside the pool.
	listenCfg *pgx.ConnConfig
	where     string // host:port/database, for messages; never the password

	queue *store.CommitQueue

	// handoff carries each commit of the writer to the follower, in
	// commit order; the writer closes it when it stops.
	handoff chan *commitDone
	// wake asks the follower to read what other replicas committed.
	wake chan struct{}
	// seen is the follower's position, shared with the listener.
	seenMu sync.Mutex
	seen   int64

	ctx        context.Context // cancelled by Close after the writer drained
	cancel     context.CancelFunc
	writerDone chan struct{}
	followDone chan struct{}
	prunerDone chan struct{}
	listenDone chan struct{}
}

var (
	_ store.Log      = (*Store)(nil)
	_ store.Exporter = (*Store)(nil)
	_ store.Importer = (*Store)(nil)
)

// commitDone is one committed group: its new events, the head right after
// it, and the requests to answer once the follower has passed that head.
type commitDone struct {
	fresh []store.Event
	head  int64
	reqs  []*store.AppendRequest
}

// Open connects to the database at url (postgres://user:pass@host:port/db),
// applies migrations and starts the writer, the follower, the listener and
// the pruner. It fails with a message naming the host and database, never
// the password, when the URL is wrong or the server cannot be reached.
//
// OnCommit may be called as soon as Open returns: other replicas commit at
// any time.
func Open(ctx context.Context, rawURL string, opts store.Options) (*Store, error) {
	if opts.Retention <= 0 {
		opts.Retention = store.DefaultRetention
	}
	if opts.MaxEventsPerTopic <= 0 {
		opts.MaxEventsPerTopic = store.DefaultMaxEventsPerTopic
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = store.DefaultPruneInterval
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = store.DefaultQueueSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}

	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse PostgreSQL URL: %s", scrub(err, rawURL))
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	if !strings.Contains(rawURL, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		// Every query here is a short index lookup; compiling one with JIT
		// (which a fresh table's estimates can trigger) takes longer than
		// running it many times over.
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %s", where, scrub(err, rawURL))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %s", where, scrub(err, rawURL))
	}
	s := &Store{
		opts:      opts,
		log:       opts.Logger,
		pool:      pool,
		listenCfg: cfg.ConnConfig.Copy(),
		where:     where,
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("PostgreSQL at %s: %s", where, scrub(err, rawURL))
	}
	head, err := s.Head(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("PostgreSQL at %s: %w", where, err)
	}
	s.seen = head

	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.queue = store.NewCommitQueue(opts.QueueSize)
	s.handoff = make(chan *commitDone, 64)
	s.wake = make(chan struct{}, 1)
	s.writerDone = make(chan struct{})
	s.followDone = make(chan struct{})
	s.prunerDone = make(chan struct{})
	s.listenDone = make(chan struct{})
	go s.writer()
	go s.follow()
	go s.listen()
	go s.pruner()
	return s, nil
}

// userinfo matches the password part of a URL that may not parse.
var userinfo = regexp.MustCompile(`(://[^:/@]*:)[^@]*@`)

// Redact returns rawURL with any password replaced, for messages.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return userinfo.ReplaceAllString(rawURL, "${1}xxxxx@")
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}

// scrub returns err's message with the URL's password, if any, removed:
// the driver's messages are not promised to leave it out.
func scrub(err error, rawURL string) string {
	msg := userinfo.ReplaceAllString(err.Error(), "${1}xxxxx@")
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// migrate applies the embedded migrations in name order in one
// transaction, under an advisory lock so replicas starting together do
// not race, recording the version in tidings_schema.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockMigrate)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS tidings_schema (version integer NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var version int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM tidings_schema`).Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(names) {
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d)", version, len(names))
	}
	if version == len(names) {
		return nil
	}
	for i := version; i < len(names); i++ {
		body, err := migrationFS.ReadFile(names[i])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM tidings_schema`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tidings_schema (version) VALUES ($1)`, len(names)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Head returns the largest id ever committed by any replica.
func (s *Store) Head(ctx context.Context) (int64, error) {
	var head int64
	if err := s.pool.QueryRow(ctx, `SELECT last_id FROM tidings_head`).Scan(&head); err != nil {
		return 0, classify(fmt.Errorf("read head: %w", err))
	}
	return head, nil
}

// Pruned returns the highest id pruned from any topic: see store.Log.
func (s *Store) Pruned(ctx context.Context) (int64, error) {
	var pruned int64
	// An import raises tidings_pruned to the floor it brings, and nothing
	// else raises the floor: the mark alone is the answer.
	err := s.pool.QueryRow(ctx, `SELECT pruned_id FROM tidings_pruned`).Scan(&pruned)
	if err != nil {
		return 0, classify(fmt.Errorf("read pruned mark: %w", err))
	}
	return pruned, nil
}

// Ping reports whether a publish would be committed now: the database
// answers and accepts writes (it is not a read-only standby).
func (s *Store) Ping(ctx context.Context) error {
	if s.queue.Closed() {
		return store.ErrClosed
	}
	var readOnly string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('transaction_read_only') FROM tidings_head`).Scan(&readOnly); err != nil {
		return classify(fmt.Errorf("ping %s: %w", s.where, err))
	}
	if readOnly == "on" {
		return fmt.Errorf("%w: PostgreSQL at %s is read-only", store.ErrUnavailable, s.where)
	}
	return nil
}

// Append queues inputs (1..store.MaxBatch) and returns once they are
// committed and handed to OnCommit: all of them or, on error, none. A nil
// error promises every returned event is committed in PostgreSQL.
func (s *Store) Append(ctx context.Context, inputs []store.Input) ([]store.Result, error) {
	return s.queue.Append(ctx, inputs)
}

// writer is the only goroutine of this replica that inserts. It runs until
// the queue is closed and drained, then closes handoff.
func (s *Store) writer() {
	defer close(s.writerDone)
	defer close(s.handoff)
	s.queue.Run(s.commit)
}

// commit stores every request of batch in one transaction and hands the
// result to the follower, which answers the requests. On failure every
// request gets the error at once and no id is consumed.
func (s *Store) commit(batch []*store.AppendRequest, n int) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(s.ctx, commitTimeout)
	fresh, head, err := s.commitTx(ctx, batch, n)
	cancel()
	if err != nil {
		err = classify(fmt.Errorf("append events: %w", err))
		s.log.Error("commit failed", "events", n, "err", err)
		for _, req := range batch {
			req.Fail(err)
		}
		return
	}
	if s.opts.Observer != nil {
		s.opts.Observer.Commit(len(fresh), time.Since(start))
	}
	s.handoff <- &commitDone{fresh: fresh, head: head, reqs: append([]*store.AppendRequest(nil), batch...)}
}

type topicKey struct{ topic, key string }

func (s *Store) commitTx(ctx context.Context, batch []*store.AppendRequest, n int) ([]store.Event, int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback(context.Background())

	// Lock the head row first: every replica's commit waits here, so ids
	// are assigned and committed in one order. The keys are looked up
	// under the lock, so a key committed by another replica is seen.
	var keyTopics, keys []string
	for _, req := range batch {
		for _, in := range req.Inputs {
			if in.Key != "" {
				keyTopics = append(keyTopics, in.Topic)
				keys = append(keys, in.Key)
			}
		}
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT last_id, last_time, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM tidings_head FOR UPDATE`)
	if len(keys) > 0 {
		b.Queue(`SELECT e.topic, e.key, e.id, e.type, e.time FROM tidings_events e
			JOIN unnest($1::text[], $2::text[]) AS k(topic, key) ON e.topic = k.topic AND e.key = k.key`, keyTopics, keys)
	}
	br := tx.SendBatch(ctx, b)
	var last, lastTime, dbNow int64
	if err := br.QueryRow().Scan(&last, &lastTime, &dbNow); err != nil {
		br.Close()
		return nil, 0, fmt.Errorf("lock head: %w", err)
	}
	stored := make(map[topicKey]store.Event)
	if len(keys) > 0 {
		rows, err := br.Query()
		if err != nil {
			br.Close()
			return nil, 0, fmt.Errorf("look up keys: %w", err)
		}
		for rows.Next() {
			var k topicKey
			var ev store.Event
			var ms int64
			if err := rows.Scan(&k.topic, &k.key, &ev.ID, &ev.Type, &ms); err != nil {
				rows.Close()
				br.Close()
				return nil, 0, fmt.Errorf("look up keys: %w", err)
			}
			ev.Topic = k.topic
			ev.Time = time.UnixMilli(ms).UTC()
			stored[k] = ev
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			br.Close()
			return nil, 0, fmt.Errorf("look up keys: %w", err)
		}
	}
	if err := br.Close(); err != nil {
		return nil, 0, err
	}

	// Times come from the database's clock, never below the last commit's,
	// so they do not decrease with id whatever the replicas' clocks say.
	now := max(dbNow, lastTime)
	ts := time.UnixMilli(now).UTC()
	next := last
	fresh := make([]store.Event, 0, n)
	var (
		colID, colTime    []int64
		colTopic, colType []string
		colData           [][]byte
		colKey            []*string
	)
	counts := make(map[string]int64)
	for _, req := range batch {
		req.Results = make([]store.Result, len(req.Inputs))
		for i, in := range req.Inputs {
			var key *string
			if in.Key != "" {
				k := topicKey{in.Topic, in.Key}
				if ev, ok := stored[k]; ok {
					// Stored earlier, possibly earlier in this batch.
					req.Results[i] = store.Result{Event: ev, Duplicate: true}
					continue
				}
				key = &in.Key
			}
			next++
			ev := store.Event{ID: next, Topic: in.Topic, Type: in.Type, Data: in.Data, Time: ts}
			req.Results[i] = store.Result{Event: ev}
			fresh = append(fresh, ev)
			if key != nil {
				stored[topicKey{in.Topic, in.Key}] = store.Event{ID: ev.ID, Topic: ev.Topic, Type: ev.Type, Time: ts}
			}
			colID = append(colID, next)
			colTopic = append(colTopic, in.Topic)
			colType = append(colType, in.Type)
			colData = append(colData, in.Data)
			colKey = append(colKey, key)
			colTime = append(colTime, now)
			counts[in.Topic]++
		}
	}
	if len(fresh) == 0 {
		// Every input was a duplicate: nothing to write.
		return nil, last, tx.Commit(ctx)
	}
	// Topic rows are locked in name order, as the pruner locks them, so
	// the two never deadlock.
	topics := make([]string, 0, len(counts))
	for t := range counts {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	topicCounts := make([]int64, len(topics))
	for i, t := range topics {
		topicCounts[i] = counts[t]
	}

	b = &pgx.Batch{}
	b.Queue(`INSERT INTO tidings_events (id, topic, type, data, key, time)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::bigint[])`,
		colID, colTopic, colType, colData, colKey, colTime)
	b.Queue(`INSERT INTO tidings_topics (topic, count) SELECT * FROM unnest($1::text[], $2::bigint[])
		ON CONFLICT (topic) DO UPDATE SET count = tidings_topics.count + excluded.count`, topics, topicCounts)
	b.Queue(`UPDATE tidings_head SET last_id = $1, last_time = $2`, next, now)
	b.Queue(`SELECT pg_notify($1, $2)`, channelCommit, fmt.Sprint(next))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, 0, err
	}
	return fresh, next, nil
}

// classify marks PostgreSQL failures with the sentinel a caller can act on.
func classify(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "53100" { // disk_full
		return fmt.Errorf("%w: %w", store.ErrFull, err)
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// Close stops accepting appends, commits everything already queued and
// hands it to OnCommit, stops the follower, the listener and the pruner
// and closes the pool. It returns early with ctx's error if the queue
// cannot be drained in time.
func (s *Store) Close(ctx context.Context) error {
	if !s.queue.Close() {
		return nil
	}

	var err error
	select {
	case <-s.followDone: // after the writer: it closes handoff
	case <-ctx.Done():
		err = fmt.Errorf("close store: %w", ctx.Err())
	}
	s.cancel()
	<-s.writerDone
	<-s.followDone
	<-s.listenDone
	<-s.prunerDone
	s.pool.Close()
	return err
}
