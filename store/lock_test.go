package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/storetest"
)

// A second store on the same file waits for the first to close, fails
// with ErrLocked naming the file when it does not, and stops waiting when
// its context ends.
func TestOneOwnerPerFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tidings.db")
	first, err := store.Open(path, store.Options{PruneInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, first, storetest.In("t", "1"), storetest.In("t", "2"))

	t.Run("timeout", func(t *testing.T) {
		_, err := store.Open(path, store.Options{LockTimeout: 100 * time.Millisecond})
		if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), path) {
			t.Fatalf("second open: got %v, want ErrLocked naming %s", err, path)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := store.OpenContext(ctx, path, store.Options{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("second open with a cancelled context: got %v, want context.Canceled", err)
		}
	})

	opened := make(chan *store.Store, 1)
	go func() {
		s, err := store.Open(path, store.Options{PruneInterval: time.Hour, LockTimeout: time.Minute})
		if err != nil {
			t.Error(err)
		}
		opened <- s
	}()
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := <-opened
	if second == nil {
		return
	}
	defer second.Close(context.Background())
	if r := mustAppend(t, second, storetest.In("t", "3")); r[0].Event.ID != 3 {
		t.Fatalf("id after takeover: got %d, want 3", r[0].Event.ID)
	}
}
