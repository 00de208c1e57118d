package store_test

import (
	"context"
	"path/filepath"
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
