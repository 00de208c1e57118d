package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/postgres"
)

// Copy copies a whole store into an empty one, SQLite or PostgreSQL
// either way: tidings copy --from data/tidings.db --to postgres://…
func Copy(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tidings copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the store to copy: a SQLite file or a postgres:// URL")
	to := fs.String("to", "", "the empty store to fill: a SQLite file or a postgres:// URL")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: tidings copy --from STORE --to STORE

Copies every retained event with its id, key and time, the per-topic
pruned marks and the id sequence into an empty store, in one transaction.
Clients resume on the copy with their cursors and see no reset. Stop the
servers writing to the source first: events published during the copy
are not copied.

A STORE is a SQLite file (data/tidings.db) or a PostgreSQL URL
(postgres://user:password@host:5432/db).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "tidings copy: give --from and --to, and nothing else")
		return 2
	}
	n, err := copyStore(context.Background(), *from, *to)
	if err != nil {
		fmt.Fprintln(stderr, "tidings copy:", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %d events from %s to %s\n", n, postgres.Redact(*from), postgres.Redact(*to))
	return 0
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// copyLog is what the copy needs of either backend.
type copyLog interface {
	store.Log
	store.Exporter
	store.Importer
}

func copyStore(ctx context.Context, from, to string) (int, error) {
	if !isPostgresURL(from) {
		if _, err := os.Stat(from); err != nil {
			return 0, fmt.Errorf("source: %w", err)
		}
	}
	// Neither store prunes during the copy. A SQLite file a server still
	// holds is refused at once: stop the server first.
	opts := store.Options{PruneInterval: 100 * 365 * 24 * time.Hour, LockTimeout: time.Second}
	open := func(where string) (copyLog, error) {
		if isPostgresURL(where) {
			return postgres.Open(ctx, where, opts)
		}
		return store.Open(where, opts)
	}
	src, err := open(from)
	if err != nil {
		return 0, fmt.Errorf("open source: %w", err)
	}
	defer src.Close(context.Background())
	dst, err := open(to)
	if err != nil {
		return 0, fmt.Errorf("open target: %w", err)
	}
	n, err := store.Copy(ctx, dst, src)
	return n, errors.Join(err, dst.Close(context.Background()))
}
