//go:build unix

package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
)

// checkWritable fails when the database file or its folder may not be
// written by this process, or its filesystem is (nearly) full.
func checkWritable(path string) error {
	for _, p := range []string{path, filepath.Dir(path)} {
		if err := syscall.Access(p, 2 /* W_OK */); err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("%w: %s is not writable: %w", ErrUnavailable, p, err)
		}
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &fs); err == nil {
		if free := fs.Bavail * uint64(fs.Bsize); free < minFreeBytes {
			return fmt.Errorf("%w: %d bytes free beside %s", ErrFull, free, path)
		}
	}
	return nil
}
