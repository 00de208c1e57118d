package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Cursor is where a subscription starts: FromNow (the zero value) or
// After an event id.
type Cursor struct {
	id  int64
	set bool
}

// FromNow starts at the server's head: only events committed after the
// subscription's first response began are delivered.
func FromNow() Cursor { return Cursor{} }

// After starts after event id: every retained event of the topics with a
// larger id is delivered. After(0) delivers everything still retained and
// never causes a reset.
func After(id int64) Cursor { return Cursor{id: id, set: true} }

// ID returns the event id the cursor stands after, and false for FromNow.
func (c Cursor) ID() (int64, bool) { return c.id, c.set }

func (c Cursor) String() string {
	if !c.set {
		return "now"
	}
	return strconv.FormatInt(c.id, 10)
}

// Reset is returned by Subscription.Next when the server could not honour
// the cursor: the events after it were pruned ("cursor_expired") or the
// cursor is beyond the server's head ("cursor_ahead": the store was
// replaced or restored). The subscription goes on from Cursor; the
// application should re-read its state, since events may have been missed.
type Reset struct {
	Reason string `json:"reason"`
	Cursor int64  `json:"cursor"`
}

func (r *Reset) Error() string {
	return fmt.Sprintf("tidings: cursor reset (%s), continuing after %d", r.Reason, r.Cursor)
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("tidings: subscription closed")

// Control block types and end reasons of the wire contract.
const (
	typeCursor = "tidings.cursor"
	typeReset  = "tidings.reset"
	endMaxDur  = "max_duration"
)

// Subscription follows topics from a cursor. Next is called from one
// goroutine; Cursor and Close may be called from any.
type Subscription struct {
	c      *Client
	ctx    context.Context
	cancel context.CancelFunc
	path   string

	cursor atomic.Int64 // -1 until known (a FromNow subscription before its first block)
	closed atomic.Bool

	// Owned by Next.
	rd         *sseReader
	body       io.Closer
	connCancel context.CancelFunc
	idle       *time.Timer
	retry      time.Duration // the server's retry: hint
	wait       time.Duration // before the next connection
	failures   int           // consecutive failed attempts
}

// Subscribe follows topics from cursor. It connects on the first call of
// Next and holds at most one request open at a time. Cancelling ctx or
// calling Close ends it.
func (c *Client) Subscribe(ctx context.Context, topics []string, cursor Cursor) *Subscription {
	ctx, cancel := context.WithCancel(ctx)
	s := &Subscription{
		c:      c,
		ctx:    ctx,
		cancel: cancel,
		path:   "/v1/topics/" + strings.Join(topics, ",") + "/sse",
		retry:  DefaultRetry,
	}
	s.cursor.Store(-1)
	if cursor.set {
		s.cursor.Store(max(cursor.id, 0))
	}
	return s
}

// Cursor returns the position reached: after the last event Next returned
// (or the cursor a server block moved it to). Pass it to a later Subscribe
// to resume.
func (s *Subscription) Cursor() Cursor {
	if id := s.cursor.Load(); id >= 0 {
		return After(id)
	}
	return FromNow()
}

// Close ends the subscription and its open request. It is safe to call
// more than once, from any goroutine.
func (s *Subscription) Close() error {
	s.closed.Store(true)
	s.cancel()
	return nil
}

// Next returns the next event of the subscribed topics, in id order, each
// once. It reconnects by itself after the end of a bounded response and
// after failures. It returns an error:
//   - *Reset when the cursor could not be honoured; the subscription goes
//     on, so call Next again;
//   - *Error for an answer that cannot succeed as sent (400, 401, 403, …);
//   - the context's error once it is done, or ErrClosed after Close.
func (s *Subscription) Next() (Event, error) {
	for {
		if err := s.ended(); err != nil {
			return Event{}, err
		}
		if s.rd == nil {
			if err := s.reconnect(); err != nil {
				return Event{}, err
			}
			if s.rd == nil {
				continue
			}
		}
		b, err := s.rd.Next()
		if err != nil {
			s.disconnect()
			if s.ctx.Err() == nil {
				s.fail(fmt.Errorf("stream cut off: %w", err))
			}
			continue
		}
		if s.rd.Retry >= 0 {
			s.retry = time.Duration(s.rd.Retry) * time.Millisecond
		}
		switch {
		case b.Type == typeCursor:
			s.onCursor(b.Data)
		case b.Type == typeReset:
			if r := s.onReset(b.Data); r != nil {
				return Event{}, r
			}
		case strings.HasPrefix(b.Type, "tidings."):
			// A control block of a later server: nothing to hand out.
		default:
			if e, ok := s.onEvent(b.Data); ok {
				return e, nil
			}
		}
	}
}

// ended returns ErrClosed after Close, or the context's error once it is
// done, having dropped the open response.
func (s *Subscription) ended() error {
	err := s.ctx.Err()
	if s.closed.Load() {
		err = ErrClosed
	}
	if err != nil {
		s.disconnect()
	}
	return err
}

// reconnect waits out the pause before the next attempt and opens the
// next response. It returns only an answer that cannot succeed as sent;
// other failures are counted, leaving s.rd nil for the next turn.
func (s *Subscription) reconnect() error {
	if err := s.sleep(s.wait); err != nil {
		return nil
	}
	err := s.connect()
	if err == nil || s.ctx.Err() != nil {
		return nil
	}
	var he *Error
	if errors.As(err, &he) && !he.Temporary() {
		s.wait = s.backoff(0)
		return he
	}
	s.fail(err)
	return nil
}

// onCursor moves the cursor forward to a cursor block's; a final block
// ends the response: resume at once after max_duration, after the
// server's hint when it is shutting down or overloaded.
func (s *Subscription) onCursor(data string) {
	var cb struct {
		Cursor *int64 `json:"cursor"`
		End    string `json:"end"`
	}
	if err := json.Unmarshal([]byte(data), &cb); err != nil || cb.Cursor == nil {
		s.protocolError(fmt.Errorf("bad cursor block %q", data))
		return
	}
	s.failures = 0
	if cur := s.cursor.Load(); *cb.Cursor > cur {
		s.cursor.Store(*cb.Cursor)
	}
	if cb.End != "" {
		s.disconnect()
		s.wait = 0
		if cb.End != endMaxDur {
			s.wait = jitter(s.retry)
		}
	}
}

// onReset moves the cursor to a reset block's and returns the *Reset to
// hand out; nil for a malformed block, which drops the response.
func (s *Subscription) onReset(data string) *Reset {
	var r Reset
	if err := json.Unmarshal([]byte(data), &r); err != nil || r.Reason == "" || r.Cursor < 0 {
		s.protocolError(fmt.Errorf("bad reset block %q", data))
		return nil
	}
	s.failures = 0
	s.cursor.Store(r.Cursor)
	return &r
}

// onEvent decodes an event block; false when it is malformed (the
// response is dropped) or was already handed out.
func (s *Subscription) onEvent(data string) (Event, bool) {
	var e Event
	if err := json.Unmarshal([]byte(data), &e); err != nil || e.ID <= 0 {
		s.protocolError(fmt.Errorf("bad event block %q", truncate(data, 200)))
		return Event{}, false
	}
	if e.ID <= s.cursor.Load() {
		return Event{}, false
	}
	e.Raw = json.RawMessage(data)
	s.cursor.Store(e.ID)
	return e, true
}

// All yields what Next returns: events with a nil error, a *Reset (after
// which it goes on), and a final error when the subscription ends or
// cannot go on.
func (s *Subscription) All() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			e, err := s.Next()
			var r *Reset
			if !yield(e, err) || err != nil && !errors.As(err, &r) {
				return
			}
		}
	}
}

// connect opens the next response and checks that it is an event stream.
func (s *Subscription) connect() error {
	q := url.Values{}
	if cur := s.cursor.Load(); cur >= 0 {
		q.Set("cursor", strconv.FormatInt(cur, 10))
	}
	if d := s.c.opts.StreamDuration; d > 0 {
		q.Set("max_duration", strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
	}
	ctx, cancel := context.WithCancel(s.ctx)
	req, err := s.c.newRequest(ctx, http.MethodGet, s.path, q, nil)
	if err != nil {
		cancel()
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	// Ask for no compression: a compressing proxy would buffer the stream.
	req.Header.Set("Accept-Encoding", "identity")
	// A dead connection sends nothing, not even the heartbeat: drop it.
	idle := time.AfterFunc(s.c.opts.IdleTimeout, cancel)
	resp, err := s.c.http.Do(req)
	if err != nil {
		idle.Stop()
		cancel()
		return fmt.Errorf("tidings: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		e := readError(resp)
		resp.Body.Close()
		idle.Stop()
		cancel()
		return e
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		idle.Stop()
		cancel()
		return fmt.Errorf("tidings: answer is %q, not an event stream", resp.Header.Get("Content-Type"))
	}
	s.rd = newSSEReader(&idleReader{r: resp.Body, t: idle, d: s.c.opts.IdleTimeout})
	s.body, s.connCancel, s.idle = resp.Body, cancel, idle
	return nil
}

// disconnect drops the open response, if any.
func (s *Subscription) disconnect() {
	if s.rd == nil {
		return
	}
	s.idle.Stop()
	s.connCancel()
	s.body.Close()
	s.rd, s.body, s.connCancel, s.idle = nil, nil, nil, nil
}

// fail counts a failed attempt and schedules the next one.
func (s *Subscription) fail(err error) {
	s.failures++
	s.wait = s.backoff(s.failures)
	var he *Error
	if errors.As(err, &he) && he.RetryAfter > s.wait {
		s.wait = he.RetryAfter
	}
	s.c.log.Warn("tidings: reconnecting", "path", s.path, "cursor", s.Cursor().String(), "in", s.wait.Round(time.Millisecond).String(), "err", err)
}

// protocolError drops a response that broke the wire contract.
func (s *Subscription) protocolError(err error) {
	s.disconnect()
	s.fail(err)
}

// backoff is the wait before attempt n+1 after n consecutive failures:
// the server's retry hint doubled per failure, capped, with jitter.
func (s *Subscription) backoff(n int) time.Duration {
	d := max(s.retry, time.Millisecond)
	for i := 1; i < n && d < s.c.opts.MaxBackoff; i++ {
		d *= 2
	}
	return jitter(min(d, s.c.opts.MaxBackoff))
}

// jitter spreads d over [d/2, d], so clients cut off together do not
// return together.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d unless the subscription ends first.
func (s *Subscription) sleep(d time.Duration) error {
	s.wait = 0
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

// idleReader pushes back the idle deadline on every read that returns data.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.t.Reset(r.d)
	}
	return n, err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
