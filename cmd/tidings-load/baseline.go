package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// baselineCommand is the hidden first argument that turns this tool into
// one of its baseline servers, so a baseline runs in its own process like
// tidings does and is measured by the same client.
const baselineCommand = "_baseline-server"

// runBaselineServer serves kind ("noop" or "sse") on a loopback port and
// prints "listening <addr>" on stderr.
//
//   - noop answers every publish with a fixed 201 after reading the body:
//     the ceiling of Go's HTTP server for this request shape.
//   - sse is the least an SSE fan-out can do: a publish appends one
//     pre-encoded frame to an in-memory per-topic log and wakes that topic's
//     streams with a close-and-replace channel; each stream writes the new
//     frames and flushes. No storage, no validation.
func runBaselineServer(kind string) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {})
	switch kind {
	case "noop":
		mux.HandleFunc("POST /v1/topics/{topic}/events", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"id":1}` + "\n"))
		})
	case "sse":
		b := &sseBaseline{topics: make(map[string]*baselineTopic)}
		mux.HandleFunc("POST /v1/topics/{topic}/events", b.publish)
		mux.HandleFunc("GET /v1/topics/{topic}/sse", b.subscribe)
		mux.HandleFunc("GET /v1/topics/{topic}/poll", b.poll)
	default:
		fmt.Fprintf(os.Stderr, "unknown baseline %q\n", kind)
		return 2
	}
	fmt.Fprintf(os.Stderr, "listening %s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type sseBaseline struct {
	mu     sync.Mutex
	head   int64
	topics map[string]*baselineTopic
}

type baselineTopic struct {
	frames [][]byte
	ids    []int64
	notify chan struct{}
}

func (b *sseBaseline) topic(name string) *baselineTopic {
	t := b.topics[name]
	if t == nil {
		t = &baselineTopic{notify: make(chan struct{})}
		b.topics[name] = t
	}
	return t
}

func (b *sseBaseline) publish(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	// The body is {"data":<json>}; hand the data on as it came.
	data := bytes.TrimSpace(body)
	data = bytes.TrimPrefix(data, []byte(`{"data":`))
	data = bytes.TrimSuffix(data, []byte(`}`))
	b.mu.Lock()
	b.head++
	id := b.head
	f := make([]byte, 0, len(data)+48)
	f = append(f, "id: "...)
	f = strconv.AppendInt(f, id, 10)
	f = append(f, "\ndata: {\"id\":"...)
	f = strconv.AppendInt(f, id, 10)
	f = append(f, `,"data":`...)
	f = append(f, data...)
	f = append(f, "}\n\n"...)
	t := b.topic(r.PathValue("topic"))
	t.frames = append(t.frames, f)
	t.ids = append(t.ids, id)
	close(t.notify)
	t.notify = make(chan struct{})
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(strconv.AppendInt([]byte(`{"id":`), id, 10))
	w.Write([]byte("}\n"))
}

func (b *sseBaseline) subscribe(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("topic")
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	b.mu.Lock()
	t := b.topic(name)
	pos := len(t.frames)
	head := b.head
	notify := t.notify
	b.mu.Unlock()
	id := strconv.FormatInt(head, 10)
	fmt.Fprintf(w, "retry: 1000\nid: %s\nevent: tidings.cursor\ndata: {\"cursor\":%s}\n\n", id, id)
	if rc.Flush() != nil {
		return
	}
	var batch [][]byte
	for {
		select {
		case <-notify:
		case <-r.Context().Done():
			return
		}
		b.mu.Lock()
		batch = append(batch[:0], t.frames[pos:]...)
		pos = len(t.frames)
		notify = t.notify
		b.mu.Unlock()
		for _, f := range batch {
			w.Write(f)
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// poll is the least a waiting long-poll can do: wait for the topic's next
// publish, the client leaving or the timeout, then answer.
func (b *sseBaseline) poll(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	notify := b.topic(r.PathValue("topic")).notify
	b.mu.Unlock()
	timeout, _ := strconv.Atoi(r.URL.Query().Get("timeout"))
	t := time.NewTimer(time.Duration(timeout) * time.Second)
	defer t.Stop()
	select {
	case <-notify:
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"events":[]}` + "\n"))
}

// isBaselineInvocation reports whether args start the hidden subcommand.
func isBaselineInvocation(args []string) (string, bool) {
	if len(args) == 2 && args[0] == baselineCommand {
		return strings.TrimSpace(args[1]), true
	}
	return "", false
}
