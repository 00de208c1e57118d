package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/storetest"
)

// TestConformance runs the behaviour every backend shares on SQLite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func(store.Options) (store.Log, error) {
		path := filepath.Join(t.TempDir(), "tidings.db")
		return func(opts store.Options) (store.Log, error) { return store.Open(path, opts) }
	})
}

// mustOpen opens a store on a new file in t.TempDir and closes it at the end.
func mustOpen(tb testing.TB, opts store.Options) (*store.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "tidings.db")
	return mustOpenAt(tb, path, opts), path
}

func mustOpenAt(tb testing.TB, path string, opts store.Options) *store.Store {
	tb.Helper()
	if opts.PruneInterval == 0 {
		opts.PruneInterval = time.Hour // tests prune explicitly
	}
	s, err := store.Open(path, opts)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func mustAppend(tb testing.TB, s *store.Store, inputs ...store.Input) []store.Result {
	tb.Helper()
	res, err := s.Append(context.Background(), inputs)
	if err != nil {
		tb.Fatalf("append: %v", err)
	}
	return res
}

// Reads across topics merge them in id order and stop at the limit, from
// any cursor.
func TestReadAcrossTopicsInIDOrder(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	topics := []string{"a", "b", "c"}
	var all []store.Input
	for i := range 40 {
		// Uneven: a gets every other event, b and c share the rest.
		tp := "a"
		if i%2 == 1 {
			tp = topics[1+i%3%2]
		}
		all = append(all, storetest.In(tp, fmt.Sprint(i)))
	}
	res := mustAppend(t, s, all...)
	for _, sub := range [][]string{{"a"}, {"b", "c"}, {"c", "a", "b"}} {
		for cursor := int64(0); cursor <= 40; cursor += 7 {
			for _, limit := range []int{1, 5, 100} {
				var want []int64
				for _, r := range res {
					if r.Event.ID > cursor && slices.Contains(sub, r.Event.Topic) && len(want) < limit {
						want = append(want, r.Event.ID)
					}
				}
				p, err := s.ReadAfter(context.Background(), sub, cursor, limit)
				if err != nil {
					t.Fatal(err)
				}
				if got := storetest.IDs(p.Events); !slices.Equal(got, want) {
					t.Errorf("topics %v after %d limit %d: got %v, want %v", sub, cursor, limit, got, want)
				}
			}
		}
	}
}

// Topics with nothing retained leave no bookkeeping behind, and reset
// detection still never misses pruned events: a topic without a row
// counts as pruned up to the store-wide floor.
func TestEmptyTopicsAreForgotten(t *testing.T) {
	t.Parallel()
	s, path := mustOpen(t, store.Options{Retention: time.Millisecond})
	var inputs []store.Input
	for i := range 50 {
		inputs = append(inputs, storetest.In(fmt.Sprintf("user:%d", i), "1"))
	}
	mustAppend(t, s, inputs...) // ids 1..50
	storetest.WaitPruned(t, s, 50)
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int
	if err := db.QueryRow(`SELECT count(*) FROM topics`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("topics rows after pruning everything: got %d, want 0", rows)
	}

	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		topics []string
		cursor int64
		reset  string
	}{
		{"a pruned topic, cursor before its event", []string{"user:7"}, 5, store.ResetExpired},
		{"cursor at the floor", []string{"user:7"}, 50, ""},
		{"cursor 0 never resets", []string{"user:7"}, 0, ""},
	} {
		p, err := s.ReadAfter(ctx, tc.topics, tc.cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		if p.Reset != tc.reset {
			t.Errorf("%s: reset %q, want %q", tc.name, p.Reset, tc.reset)
		}
	}
	// A topic that comes back starts from the floor: its pruned past is
	// still detected.
	mustAppend(t, s, storetest.In("user:7", "2")) // id 51
	p, err := s.ReadAfter(ctx, []string{"user:7"}, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	if p.Reset != store.ResetExpired || p.ResetCursor != 50 || len(p.Events) != 1 || p.Events[0].ID != 51 {
		t.Errorf("returning topic from cursor 3: got reset %q at %d, events %v; want cursor_expired at 50, [51]", p.Reset, p.ResetCursor, storetest.IDs(p.Events))
	}
}
