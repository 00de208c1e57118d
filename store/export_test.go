package store

// OnLinger sets a function called each time q's writer starts to wait for
// more requests.
func OnLinger(q *CommitQueue, f func()) { q.lingering = f }
