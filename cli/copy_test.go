package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/postgres"
	"github.com/tidings/tidings/store/postgres/pgtest"
	"github.com/tidings/tidings/store/storetest"
)

func sqliteOpener(path string) func(store.Options) (store.Log, error) {
	return func(o store.Options) (store.Log, error) { return store.Open(path, o) }
}

func runCopyOK(t *testing.T, from, to string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Copy([]string{"--from", from, "--to", to}, &stdout, &stderr); code != 0 {
		t.Fatalf("copy %s to %s: exit %d: %s", from, to, code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "copied 32 events") {
		t.Errorf("copy said %q, want the 32 retained events counted", stdout.String())
	}
}

// fillSQLite writes storetest.Fill's content to a new SQLite file.
func fillSQLite(t *testing.T, path string) {
	t.Helper()
	s, err := store.Open(path, store.Options{MaxEventsPerTopic: 10})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Fill(t, s)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestCopyCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	fillSQLite(t, src)
	dst := filepath.Join(dir, "copy.db")
	runCopyOK(t, src, dst)
	opts := store.Options{MaxEventsPerTopic: 10}
	from, to := storetest.MustOpen(t, sqliteOpener(src), opts), storetest.MustOpen(t, sqliteOpener(dst), opts)
	storetest.CheckCopy(t, from, to)
	// One process at a time holds a SQLite file: let go of both before
	// copying again.
	from.Close(context.Background())
	to.Close(context.Background())

	t.Run("refuses a target holding events", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := Copy([]string{"--from", src, "--to", dst}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "not empty") {
			t.Fatalf("exit %d, %q; want 1 and a sentence saying the target is not empty", code, stderr.String())
		}
	})
	t.Run("missing source", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := Copy([]string{"--from", filepath.Join(dir, "nope.db"), "--to", filepath.Join(dir, "x.db")}, &stdout, &stderr); code != 1 {
			t.Fatalf("exit %d, want 1: %s", code, stderr.String())
		}
	})
	t.Run("usage", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := Copy([]string{"--from", src}, &stdout, &stderr); code != 2 {
			t.Fatalf("exit %d, want 2", code)
		}
	})
}

// TestCopyCommandThroughPostgres moves a SQLite store to PostgreSQL and
// back with the command, as a team moving to replicas (or back) would.
func TestCopyCommandThroughPostgres(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.FreshDatabase(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	fillSQLite(t, src)
	runCopyOK(t, src, dbURL)
	back := filepath.Join(dir, "back.db")
	runCopyOK(t, dbURL, back)

	opts := store.Options{MaxEventsPerTopic: 10}
	pg := storetest.MustOpen(t, func(o store.Options) (store.Log, error) {
		return postgres.Open(context.Background(), dbURL, o)
	}, opts)
	// The source is opened once: one process at a time holds a SQLite file.
	from := storetest.MustOpen(t, sqliteOpener(src), opts)
	storetest.CheckCopy(t, from, pg)
	storetest.CheckCopy(t, from, storetest.MustOpen(t, sqliteOpener(back), opts))
}

// A source a running server holds is refused at once, not copied under it.
func TestCopyRefusesAHeldSource(t *testing.T) {
	t.Parallel()
	src := filepath.Join(t.TempDir(), "src.db")
	fillSQLite(t, src)
	storetest.MustOpen(t, sqliteOpener(src), store.Options{})
	var stdout, stderr bytes.Buffer
	if code := Copy([]string{"--from", src, "--to", filepath.Join(t.TempDir(), "dst.db")}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "another process still holds "+src) {
		t.Fatalf("exit %d, %q; want 1 and a sentence naming the held file", code, stderr.String())
	}
}
