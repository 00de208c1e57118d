package stream

import (
	"sync"
	"syscall"
)

// closeWatcher learns at once that the client of a parked stream or poll
// has closed its side, from one epoll set of its own in which every
// parked connection is registered for peer hang-up only (never for data).
// Without it, a departed client would be noticed at its next write, the
// heartbeat; meanwhile it would hold its subscription and its address's
// slot. The runtime's own poller keeps working on the same descriptors:
// a descriptor may be in several epoll sets.
type closeWatcher struct {
	epfd int
	wake [2]int // a pipe whose read end, id 0, stops run

	mu       sync.Mutex
	next     uint32             // ids are never reused while registered
	byID     map[uint32]*parked // registered streams
	stop     bool
	released bool // the descriptors are closed: never close them twice
}

// newCloseWatcher returns a watcher, or nil when the system refuses one
// (the heartbeat then notices departed clients).
func newCloseWatcher() *closeWatcher {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	w := &closeWatcher{epfd: epfd, byID: make(map[uint32]*parked)}
	if err := syscall.Pipe2(w.wake[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: 0}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, w.wake[0], &ev); err != nil {
		w.closeFDs()
		return nil
	}
	return w
}

func (w *closeWatcher) closeFDs() {
	syscall.Close(w.wake[0])
	syscall.Close(w.wake[1])
	syscall.Close(w.epfd)
}

// add registers p, whose raw connection must be set. The event carries an
// id, not the descriptor: a descriptor closed and reused by a later
// stream cannot be mistaken for it.
func (w *closeWatcher) add(p *parked) {
	if w == nil || p.raw == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop || w.released {
		return
	}
	w.next++
	if w.next == 0 {
		w.next++
	}
	id := w.next
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR | syscall.EPOLLONESHOT, Fd: int32(id)}
	var err error
	p.raw.Control(func(fd uintptr) {
		err = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		if err == nil {
			p.watchFD = int(fd)
		}
	})
	if err == nil {
		p.watchID = id
		w.byID[id] = p
	}
}

// remove unregisters p. It must run before p's connection is closed, so
// that its descriptor leaves the set before it can be reused.
func (w *closeWatcher) remove(p *parked) {
	if w == nil || p.watchID == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.byID, p.watchID)
	p.watchID = 0
	if !w.released {
		syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, p.watchFD, nil)
	}
}

// run marks and wakes each stream whose client hung up, until close.
func (w *closeWatcher) run() {
	events := make([]syscall.EpollEvent, 64)
	for {
		n, err := syscall.EpollWait(w.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		w.mu.Lock()
		if w.stop {
			w.mu.Unlock()
			return
		}
		var gone []*parked
		for _, ev := range events[:n] {
			if p := w.byID[uint32(ev.Fd)]; p != nil {
				gone = append(gone, p)
			}
		}
		w.mu.Unlock()
		for _, p := range gone {
			p.gone.Store(true)
			p.wake()
		}
	}
}

// close stops run. Registered streams stay as they are; their writers
// close them.
func (w *closeWatcher) close() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stop && !w.released {
		w.stop = true
		syscall.Write(w.wake[1], []byte{0})
	}
}

// release closes the descriptors once run has returned, once: a second
// close of a descriptor number could close another connection's.
func (w *closeWatcher) release() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.released {
		w.released = true
		w.closeFDs()
	}
}
