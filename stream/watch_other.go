//go:build !linux

package stream

// Without epoll, a departed client is noticed at its stream's next write
// (the heartbeat).
type closeWatcher struct{}

func newCloseWatcher() *closeWatcher { return nil }
func (*closeWatcher) add(*parked)    {}
func (*closeWatcher) remove(*parked) {}
func (*closeWatcher) run()           {}
func (*closeWatcher) close()         {}
func (*closeWatcher) release()       {}
