package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// DefaultLockTimeout is how long Open waits for another process to let go
// of the database file.
const DefaultLockTimeout = 30 * time.Second

// lockPoll is how often a waiting Open tries the lock again: the delay
// between the owner's exit and the takeover.
const lockPoll = 50 * time.Millisecond

// ErrLocked is returned by Open when another process kept the database
// file for longer than the lock timeout.
var ErrLocked = errors.New("database file held by another process")

// LockPath is the lock file that marks a database file's owner: the
// database path with ".lock" appended. It is created beside the database
// and left in place; what counts is the lock on it, which the kernel
// releases when its owner exits, however it exits.
func LockPath(dbPath string) string { return dbPath + ".lock" }

// lockDatabase takes an exclusive lock on the lock file of path, waiting
// up to timeout (logging once that it waits) or until ctx ends. The lock
// is held until the returned file is closed.
func lockDatabase(ctx context.Context, path string, timeout time.Duration, log *slog.Logger) (*os.File, error) {
	lp := LockPath(path)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot write in the database folder %s: %w", filepath.Dir(lp), err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	if held {
		return f, nil
	}
	log.Warn("another process holds the database file; waiting for it to exit",
		"db", path, "lock", lp, "timeout", timeout.String())
	start := time.Now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(lockPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-deadline.C:
			f.Close()
			return nil, fmt.Errorf("another process still holds %s after %s (lock file %s); stop it, or give this server its own TIDINGS_DB: %w",
				path, timeout, lp, ErrLocked)
		case <-tick.C:
			held, err := tryLock(f)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("lock %s: %w", lp, err)
			}
			if held {
				log.Info("took over the database file", "db", path, "waited", time.Since(start).Round(time.Millisecond).String())
				return f, nil
			}
		}
	}
}
