package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// newClient is a keep-alive client for n concurrent requesters.
func newClient(n int) *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			MaxIdleConns:        n + 16,
			MaxIdleConnsPerHost: n + 16,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// post sends body and returns the status and the answer.
func post(ctx context.Context, c *http.Client, u string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// firstID reads N from an answer that begins {"id":N or {"events":[{"id":N.
func firstID(b []byte) int64 {
	i := bytes.Index(b, []byte(`"id":`))
	if i < 0 {
		return 0
	}
	return leadingInt(b[i+5:])
}

// leadingInt parses the decimal digits at the start of b.
func leadingInt(b []byte) int64 {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// stampedData is the event data the tool publishes: the publish time.
func stampedData(b []byte) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, time.Now().UnixNano(), 10)
	return append(b, '}')
}

// sseSubscriber is a lean SSE reader: one raw connection, one goroutine, a
// line reader over the chunked body. It records every delivered id and
// its publish-to-delivery latency, and resumes with Last-Event-ID when a
// bounded stream ends.
type sseSubscriber struct {
	host  string // host:port
	path  string // /v1/topics/x/sse
	query string

	started    atomic.Bool
	startAt    int64 // cursor of the first starting block
	lastID     int64
	ids        []int64
	lat        []time.Duration
	dups       int
	reconnects int
	refusals   int
	delivered  atomic.Int64
	err        error
}

func newSSESubscriber(base, topic, query string) *sseSubscriber {
	u, _ := url.Parse(base)
	return &sseSubscriber{host: u.Host, path: "/v1/topics/" + topic + "/sse", query: query}
}

// run reads until ctx ends; ready is called once after the first
// starting block (or with the connection error).
func (s *sseSubscriber) run(ctx context.Context, ready func(error)) {
	var once sync.Once
	signal := func(err error) { once.Do(func() { ready(err) }) }
	defer signal(errors.New("stream ended before its first block"))
	resume := ""
	for ctx.Err() == nil {
		last, err := s.stream(ctx, resume, signal)
		if ctx.Err() != nil {
			return
		}
		if err != nil && !s.started.Load() {
			s.err = err
			signal(err)
			return
		}
		s.reconnects++
		resume = strconv.FormatInt(last, 10)
	}
}

// stream runs one response and returns the cursor to resume from.
func (s *sseSubscriber) stream(ctx context.Context, resume string, signal func(error)) (int64, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.host)
	if err != nil {
		return s.lastID, err
	}
	defer closeNow(conn)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req := "GET " + s.path + s.query + " HTTP/1.1\r\nHost: " + s.host + "\r\nAccept: text/event-stream\r\n"
	if resume != "" {
		req += "Last-Event-ID: " + resume + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return s.lastID, err
	}
	br := bufio.NewReaderSize(conn, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return s.lastID, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s.lastID, fmt.Errorf("GET %s: %s", s.path, resp.Status)
	}
	lr := bufio.NewReaderSize(resp.Body, 4096)
	cursor := s.lastID
	var id int64
	control := false
	for {
		line, err := lr.ReadSlice('\n')
		if err != nil {
			return max(cursor, s.lastID), err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			id, control = 0, false
		case line[0] == ':':
		case bytes.HasPrefix(line, []byte("id: ")):
			id = leadingInt(line[4:])
		case bytes.HasPrefix(line, []byte("event: ")):
			control = bytes.HasPrefix(line[7:], []byte("tidings."))
		case bytes.HasPrefix(line, []byte("data: ")):
			data := line[6:]
			if control {
				cursor = id
				if !s.started.Load() {
					s.startAt = id
					s.lastID = id
					s.started.Store(true)
					signal(nil)
				}
				if bytes.Contains(data, []byte(`"end"`)) {
					if !bytes.Contains(data, []byte(`"max_duration"`)) {
						// Refused or shutting down: wait out the retry
						// hint rather than hammer the server.
						s.refusals++
						select {
						case <-ctx.Done():
						case <-time.After(time.Second):
						}
					}
					return max(cursor, s.lastID), nil
				}
				continue
			}
			now := time.Now()
			if i := bytes.Index(data, []byte(`"t":`)); i >= 0 {
				s.lat = append(s.lat, now.Sub(time.Unix(0, leadingInt(data[i+4:]))))
			}
			if id <= s.lastID {
				s.dups++
			} else {
				s.ids = append(s.ids, id)
				s.lastID = id
			}
			s.delivered.Add(1)
		}
	}
}

// countMissing returns how many of want (ascending) are not in got
// (ascending).
func countMissing(want, got []int64) int {
	missing, j := 0, 0
	for _, w := range want {
		for j < len(got) && got[j] < w {
			j++
		}
		if j < len(got) && got[j] == w {
			j++
			continue
		}
		missing++
	}
	return missing
}

// rawRequest opens a connection and sends one GET, leaving the answer
// unread: the cheapest way to hold a waiting request open.
func rawRequest(ctx context.Context, base, path string) (net.Conn, error) {
	u, _ := url.Parse(base)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+u.Host+"\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// readUntil reads from conn until the bytes seen so far contain marker
// and returns them.
func readUntil(conn net.Conn, marker string, timeout time.Duration) (string, error) {
	conn.SetReadDeadline(time.Now().Add(timeout))
	defer conn.SetReadDeadline(time.Time{})
	var seen []byte
	buf := make([]byte, 1024)
	for !strings.Contains(string(seen), marker) {
		n, err := conn.Read(buf)
		seen = append(seen, buf[:n]...)
		if err != nil {
			return string(seen), err
		}
	}
	return string(seen), nil
}

// answered reports whether the server has already written to conn, which
// for a long-poll means it did not wait.
func answered(conn net.Conn) bool {
	conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	defer conn.SetReadDeadline(time.Time{})
	var b [1]byte
	n, _ := conn.Read(b[:])
	return n > 0
}

// decodeJSON reads a 200 answer into v.
func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", resp.Request.Method, resp.Request.URL.Path, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, v)
}
