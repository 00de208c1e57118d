package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/server"
	"github.com/tidings/tidings/server/servertest"
	"github.com/tidings/tidings/stream"
	"github.com/tidings/tidings/stream/streamtest"
)

// waitFor bounds every wait in these tests: long enough for a loaded
// machine under the race detector, short enough to fail rather than hang.
const waitFor = 20 * time.Second

type testServer struct {
	*servertest.Server
}

// newTestServer runs a whole server (servertest, wired as the binary is)
// on a fresh database, with settings that suit these tests: no per-address
// or publish limits, short timeouts. Cleanup stops it as SIGTERM does.
func newTestServer(t *testing.T, tweaks ...func(*server.Config)) *testServer {
	t.Helper()
	ts := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.SSEMaxDuration = 30 * time.Second
		c.WriteTimeout = 5 * time.Second
		c.PollMaxTimeout = 30 * time.Second
		c.MaxSubsPerIP = 0
		c.PublishRate = 0
		for _, tw := range tweaks {
			tw(c)
		}
	}})
	return &testServer{ts}
}

// published is the 201/200 answer to a publish.
type published struct {
	ID        int64  `json:"id"`
	Topic     string `json:"topic"`
	Type      string `json:"type"`
	Time      string `json:"time"`
	Duplicate bool   `json:"duplicate"`
}

// wireEvent is an event object as SSE and long-poll hand it out.
type wireEvent struct {
	ID    int64           `json:"id"`
	Topic string          `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
	Time  string          `json:"time"`
}

type pollAnswer struct {
	Events      []wireEvent `json:"events"`
	Cursor      int64       `json:"cursor"`
	More        bool        `json:"more"`
	Reset       bool        `json:"reset"`
	ResetReason string      `json:"reset_reason"`
}

var timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// do sends a request and returns the status, headers and whole body.
func do(t testing.TB, method, url string, header http.Header, body string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return res.StatusCode, res.Header, b
}

// publish posts data to topic and returns the stored event, failing the
// test unless the answer is 201.
func (s *testServer) publish(t testing.TB, topic, body string) published {
	t.Helper()
	status, _, b := do(t, "POST", s.URL+"/v1/topics/"+topic+"/events", http.Header{"Content-Type": {"application/json"}}, body)
	if status != http.StatusCreated {
		t.Fatalf("publish to %s: got status %d (%s), want 201", topic, status, b)
	}
	var p published
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("publish answer %s: %v", b, err)
	}
	return p
}

// publishN publishes n events {"n":i} to topic and returns their ids.
func (s *testServer) publishN(t testing.TB, topic string, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range n {
		ids[i] = s.publish(t, topic, fmt.Sprintf(`{"data":{"n":%d}}`, i)).ID
	}
	return ids
}

// poll GETs the poll route (query starts with "?" or is empty) and decodes
// a 200 answer.
func (s *testServer) poll(t testing.TB, topics, query string) (pollAnswer, []byte) {
	t.Helper()
	status, h, b := do(t, "GET", s.URL+"/v1/topics/"+topics+"/poll"+query, nil, "")
	if status != http.StatusOK {
		t.Fatalf("poll %s%s: got status %d (%s), want 200", topics, query, status, b)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("poll Content-Type: got %q, want application/json", ct)
	}
	var a pollAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("poll answer %s: %v", b, err)
	}
	if a.Events == nil {
		t.Errorf("poll answer %s: events must be an array, not null or absent", b)
	}
	return a, b
}

func (s *testServer) head(t testing.TB) int64 {
	t.Helper()
	h, err := s.Store().Head(context.Background())
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

// waitActive waits until the hub counts n open subscriptions.
func (s *testServer) waitActive(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for s.Hub().Active() != n {
		if time.Now().After(deadline) {
			t.Fatalf("active subscriptions: got %d, want %d", s.Hub().Active(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ids(evs []wireEvent) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// cursorData decodes a control block's data, failing the test unless it
// is exactly {"cursor":N} or {"cursor":N,"end":"reason"}.
func cursorData(t testing.TB, it streamtest.Item) (cursor int64, end string) {
	t.Helper()
	c, err := it.Control()
	if err != nil {
		t.Fatal(err)
	}
	return c.Cursor, c.End
}

// sseStream reads an event stream in the background and hands out items.
type sseStream struct {
	Res   *http.Response
	items chan streamtest.Item
	err   error // set before items is closed
	done  chan struct{}
	close func()
}

// openSSE GETs the SSE route and starts reading it. The stream is closed
// at cleanup.
func (s *testServer) openSSE(t testing.TB, path string, header http.Header) *sseStream {
	t.Helper()
	return openSSEWith(t, http.DefaultClient, s.URL+path, header)
}

// openSSEWith is openSSE with client, at url.
func openSSEWith(t testing.TB, client *http.Client, url string, header http.Header) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	ss := &sseStream{Res: res, items: make(chan streamtest.Item, 1024), done: make(chan struct{})}
	ss.close = func() {
		cancel()
		res.Body.Close()
		<-ss.done
	}
	t.Cleanup(ss.close)
	go ss.read()
	return ss
}

func (ss *sseStream) read() {
	defer close(ss.done)
	defer close(ss.items)
	rd := streamtest.NewReader(ss.Res.Body)
	for {
		it, err := rd.Next()
		if err != nil {
			ss.err = err
			return
		}
		ss.items <- it
	}
}

// next returns the next item, failing the test if the stream ends or
// nothing arrives in time.
func (ss *sseStream) next(t testing.TB) streamtest.Item {
	t.Helper()
	it, ok := ss.nextOrEnd(t)
	if !ok {
		t.Fatalf("stream ended: %v", ss.err)
	}
	return it
}

// nextOrEnd returns the next item, or false at a clean end of the stream.
func (ss *sseStream) nextOrEnd(t testing.TB) (streamtest.Item, bool) {
	t.Helper()
	select {
	case it, ok := <-ss.items:
		if !ok {
			if ss.err != io.EOF {
				t.Fatalf("stream failed: %v", ss.err)
			}
			return streamtest.Item{}, false
		}
		return it, true
	case <-time.After(waitFor):
		t.Fatalf("no SSE item within %s", waitFor)
		return streamtest.Item{}, false
	}
}

// nextBlock skips heartbeat comments.
func (ss *sseStream) nextBlock(t testing.TB) streamtest.Item {
	t.Helper()
	for {
		if it := ss.next(t); !it.Comment {
			return it
		}
	}
}

// rest reads every remaining block until the stream ends cleanly.
func (ss *sseStream) rest(t testing.TB) []streamtest.Item {
	t.Helper()
	var out []streamtest.Item
	for {
		it, ok := ss.nextOrEnd(t)
		if !ok {
			return out
		}
		if !it.Comment {
			out = append(out, it)
		}
	}
}

// cursorBlockRaw is the exact text of a cursor block.
func cursorBlockRaw(cursor int64, end string) string {
	id := strconv.FormatInt(cursor, 10)
	data := `{"cursor":` + id
	if end != "" {
		data += `,"end":"` + end + `"`
	}
	return "id: " + id + "\nevent: tidings.cursor\ndata: " + data + "}\n\n"
}

// eventOf decodes an event block's data strictly: exactly the fields of an
// event object, with the id of the block.
func eventOf(t testing.TB, it streamtest.Item) wireEvent {
	t.Helper()
	if it.Comment || it.Event == stream.TypeCursor || it.Event == stream.TypeReset {
		t.Fatalf("got %q, want an event block", it.Raw)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(it.Data), &fields); err != nil {
		t.Fatalf("event data %q: %v", it.Data, err)
	}
	for _, k := range []string{"id", "topic", "type", "data", "time"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("event data %q: no %q field", it.Data, k)
		}
	}
	if len(fields) != 5 {
		t.Errorf("event data %q: got %d fields, want id, topic, type, data, time", it.Data, len(fields))
	}
	var e wireEvent
	if err := json.Unmarshal([]byte(it.Data), &e); err != nil {
		t.Fatalf("event data %q: %v", it.Data, err)
	}
	if got, want := it.ID, strconv.FormatInt(e.ID, 10); got != want {
		t.Errorf("block id: got %q, want the event's id %q", got, want)
	}
	if !timeRE.MatchString(e.Time) {
		t.Errorf("event time: got %q, want RFC 3339 UTC with milliseconds", e.Time)
	}
	return e
}

// errorBody checks that b is exactly {"error":{"code","message"}}.
func errorBody(t testing.TB, h http.Header, b []byte) (code string) {
	t.Helper()
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type: got %q, want application/json", ct)
	}
	var e struct {
		Error *struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	if e.Error == nil || e.Error.Code == nil || e.Error.Message == nil {
		t.Fatalf("error body %s: want {\"error\":{\"code\":..,\"message\":..}}", b)
	}
	if !regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`).MatchString(*e.Error.Code) {
		t.Errorf("error code: got %q, want snake_case", *e.Error.Code)
	}
	if *e.Error.Message == "" {
		t.Errorf("error body %s: empty message", b)
	}
	return *e.Error.Code
}

// post sends a JSON body; it is safe to call from any goroutine.
func post(url, body string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// get is safe to call from any goroutine.
func get(url string) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b, err
}

// decode unmarshals b into v, reporting (not stopping) on failure so it
// may run in any goroutine.
func decode(t testing.TB, b []byte, v any) {
	if err := json.Unmarshal(b, v); err != nil {
		t.Errorf("decode %s: %v", b, err)
	}
}
