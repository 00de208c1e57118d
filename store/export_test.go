package store

import "time"

// SetLinger replaces q's wait for more requests (time.Sleep) in a test.
func SetLinger(q *CommitQueue, f func(time.Duration)) { q.linger = f }
