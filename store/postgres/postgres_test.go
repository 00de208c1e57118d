package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/postgres"
	"github.com/tidings/tidings/store/postgres/pgtest"
	"github.com/tidings/tidings/store/storetest"
)

func opener(dbURL string) func(store.Options) (store.Log, error) {
	return func(opts store.Options) (store.Log, error) {
		return postgres.Open(context.Background(), dbURL, opts)
	}
}

func TestConformance(t *testing.T) {
	if !pgtest.Enabled() {
		t.Skip(pgtest.Env + " is not set")
	}
	storetest.Run(t, func(t *testing.T) func(store.Options) (store.Log, error) {
		return opener(pgtest.FreshDatabase(t))
	})
}

// replicas opens n stores on one fresh database, each with its recorder.
func replicas(t *testing.T, n int, opts store.Options) ([]store.Log, []*storetest.Recorder, string) {
	t.Helper()
	dbURL := pgtest.FreshDatabase(t)
	logs := make([]store.Log, n)
	recs := make([]*storetest.Recorder, n)
	for i := range n {
		recs[i] = storetest.NewRecorder()
		o := opts
		o.OnCommit, o.OnPrune = recs[i].OnCommit, recs[i].OnPrune
		logs[i] = storetest.MustOpen(t, opener(dbURL), o)
	}
	return logs, recs, dbURL
}

// TestReplicasCommitInIDOrder appends from three replicas at once while a
// reader polls: the ids it sees only ever extend a gap-free prefix, so no
// reader is ever shown an id before a smaller one that appears later.
func TestReplicasCommitInIDOrder(t *testing.T) {
	t.Parallel()
	logs, recs, _ := replicas(t, 3, store.Options{})
	const perReplica, publishers = 150, 8
	var wg sync.WaitGroup
	for _, s := range logs {
		for range publishers {
			wg.Go(func() {
				for i := range perReplica / publishers {
					in := []store.Input{storetest.In("t", fmt.Sprint(i))}
					if i%5 == 0 {
						in = append(in, storetest.In("t", `"batch"`))
					}
					storetest.MustAppend(t, s, in...)
				}
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	ctx := context.Background()
	var seen int64 // the reader has seen every id up to seen
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		p, err := logs[1].ReadAfter(ctx, []string{"t"}, seen, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			if e.ID != seen+1 {
				t.Fatalf("a reader saw id %d right after %d: a smaller id is missing", e.ID, seen)
			}
			seen = e.ID
		}
	}
	head, err := logs[0].Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every replica hands every event, its own and the others', to
	// OnCommit once, in id order.
	for i, rec := range recs {
		rec.WaitFor(t, fmt.Sprintf("replica %d to see head %d", i, head), func(r *storetest.Recorder) bool {
			evs := r.Events()
			return len(evs) > 0 && evs[len(evs)-1].ID >= head
		})
		for j, id := range storetest.IDs(rec.Events()) {
			if id != int64(j+1) {
				t.Fatalf("replica %d: OnCommit saw id %d at position %d", i, id, j)
			}
		}
	}
}

// TestReplicasShareIdempotencyKeys sends one key to every replica at once:
// one event is stored and every answer carries its id.
func TestReplicasShareIdempotencyKeys(t *testing.T) {
	t.Parallel()
	logs, _, _ := replicas(t, 3, store.Options{})
	for round := range 20 {
		key := fmt.Sprintf("k%d", round)
		var wg sync.WaitGroup
		got := make([]store.Result, 2*len(logs))
		for i := range got {
			wg.Go(func() {
				got[i] = storetest.MustAppend(t, logs[i%len(logs)], storetest.Keyed("orders", key, fmt.Sprint(i)))[0]
			})
		}
		wg.Wait()
		storetest.CheckOneStored(t, key, got)
	}
	if h, err := logs[0].Head(context.Background()); err != nil || h != 20 {
		t.Fatalf("head = %d, %v; want 20 (one event per key)", h, err)
	}
}

// TestReplicasDeliverEachOthersCommits checks a commit on one replica
// reaches OnCommit on another, and so does a prune.
func TestReplicasDeliverEachOthersCommits(t *testing.T) {
	t.Parallel()
	logs, recs, _ := replicas(t, 2, store.Options{MaxEventsPerTopic: 1})
	a, b := logs[0], logs[1]
	res := storetest.MustAppend(t, a, storetest.In("x", `{"n":1}`), storetest.In("y", `2`), storetest.In("x", `3`))
	recs[1].WaitFor(t, "replica B to see A's commit", func(r *storetest.Recorder) bool { return len(r.Events()) == 3 })
	got := recs[1].Events()
	for i, e := range got {
		w := res[i].Event
		if e.ID != w.ID || e.Topic != w.Topic || e.Type != w.Type || string(e.Data) != string(w.Data) || !e.Time.Equal(w.Time) {
			t.Fatalf("B saw %+v, A stored %+v", e, w)
		}
	}
	if n, err := b.Prune(context.Background()); err != nil || n != 1 {
		t.Fatalf("prune on B deleted %d, %v; want 1", n, err)
	}
	recs[0].WaitFor(t, "replica A to see B's prune", func(r *storetest.Recorder) bool { return r.Pruned() == 1 })
}

// TestListenConnectionRecovers terminates a replica's LISTEN connection:
// commits of the other replica still reach it, and it listens again.
func TestListenConnectionRecovers(t *testing.T) {
	t.Parallel()
	logs, recs, dbURL := replicas(t, 2, store.Options{})
	ctx := context.Background()
	admin := pgtest.Conn(t, dbURL)
	listeners := func() []int32 {
		rows, err := admin.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' ORDER BY pid`)
		if err != nil {
			t.Fatal(err)
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		return pids
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(listeners()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the replicas never listened")
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := listeners()
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		storetest.MustAppend(t, logs[0], storetest.In("t", fmt.Sprint(i)))
	}
	recs[1].WaitFor(t, "B to see A's commits after losing its listener", func(r *storetest.Recorder) bool { return len(r.Events()) == 5 })
	for {
		now := listeners()
		if len(now) == 2 && !slices.Contains(before, now[0]) && !slices.Contains(before, now[1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listeners %v after terminating %v: not reconnected", now, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	storetest.MustAppend(t, logs[0], storetest.In("t", "after"))
	recs[1].WaitFor(t, "B to see a commit after reconnecting", func(r *storetest.Recorder) bool { return len(r.Events()) == 6 })
}

// TestOpenFailsClearly opens unreachable and wrong URLs: the message names
// the host and database and never the password.
func TestOpenFailsClearly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name, url string
		want      []string
	}{
		{"unreachable", "postgres://tidings:s3cretpw@127.0.0.1:1/app?connect_timeout=5", []string{"127.0.0.1:1/app"}},
		{"not a URL", "postgres://tidings:s3cretpw@127.0.0.1:bad/app", []string{"URL"}},
	}
	if base := os.Getenv(pgtest.Env); base != "" {
		u, _ := url.Parse(base)
		u.User = url.UserPassword("postgres", "s3cretpw")
		u.Path = "/no_such_database"
		tests = append(tests, struct {
			name, url string
			want      []string
		}{"no such database", u.String(), []string{"no_such_database", u.Host}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := postgres.Open(ctx, tt.url, store.Options{})
			if err == nil {
				s.Close(ctx)
				t.Fatal("open succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "s3cretpw") {
				t.Fatalf("message shows the password: %s", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not name %q", msg, w)
				}
			}
		})
	}
}

// TestPingReflectsTheDatabase: Ping fails once the database goes away.
func TestPingReflectsTheDatabase(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.FreshDatabase(t)
	ctx := context.Background()
	s := storetest.MustOpen(t, opener(dbURL), store.Options{})
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	admin := pgtest.Conn(t, dbURL)
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+strings.TrimPrefix(mustPath(t, dbURL), "/")+` SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	// New sessions are read-only; end the pool's current ones.
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.Ping(ctx) == nil {
		if time.Now().After(deadline) {
			t.Fatal("ping still succeeds on a read-only database")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.Append(ctx, []store.Input{storetest.In("t", "1")}); err == nil {
		t.Fatal("append succeeded on a read-only database")
	}
}

func mustPath(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// TestCopyBetweenBackends copies SQLite to PostgreSQL and back: ids, keys,
// times, pruned marks, the pruned floor and the id sequence survive both
// ways.
func TestCopyBetweenBackends(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		opts  store.Options
		fill  func(testing.TB, store.Log)
		check func(testing.TB, store.Log, store.Log)
	}{
		{"capped topics", store.Options{MaxEventsPerTopic: 10}, storetest.Fill, storetest.CheckCopy},
		{"topics pruned empty", store.Options{Retention: time.Millisecond}, storetest.FillPruned, storetest.CheckPrunedPast},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqliteAt := func(name string) func(store.Options) (store.Log, error) {
				path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+"-"+name+".db")
				return func(o store.Options) (store.Log, error) { return store.Open(path, o) }
			}
			copyTo := func(dst func(store.Options) (store.Log, error), src store.Log) store.Log {
				t.Helper()
				s := storetest.MustOpen(t, dst, tc.opts)
				if _, err := store.Copy(context.Background(), s.(store.Importer), src.(store.Exporter)); err != nil {
					t.Fatalf("copy %T to %T: %v", src, s, err)
				}
				return s
			}
			src := storetest.MustOpen(t, sqliteAt("src"), tc.opts)
			tc.fill(t, src)
			pg := copyTo(opener(pgtest.FreshDatabase(t)), src)
			back := copyTo(sqliteAt("back"), pg)
			tc.check(t, src, back)
			tc.check(t, src, pg)
		})
	}
}
