package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/storetest"
)

// Ping answers without the write connection: a write transaction held
// by another connection does not hold up readiness.
func TestPingDoesNotTakeTheWriteConnection(t *testing.T) {
	t.Parallel()
	s, path := mustOpen(t, store.Options{})
	mustAppend(t, s, storetest.In("t", "1"))
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE topics SET count = count`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping while another connection writes: %v, want nil", err)
	}
}

func TestPingAfterClose(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Ping after Close: %v, want ErrClosed", err)
	}
}
