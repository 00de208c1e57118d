package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/tidings/tidings/cmd/tidings-load/internal/stats"
)

type idleRun struct {
	BaseRSSKB      int64   `json:"base_rss_kb"`
	SSERSSKB       int64   `json:"rss_with_sse_kb"`
	PollRSSKB      int64   `json:"rss_with_polls_kb"`
	SSEKBPerConn   float64 `json:"sse_kb_per_conn"`
	PollKBPerConn  float64 `json:"poll_kb_per_conn"`
	ServerCPUIdleS float64 `json:"server_cpu_while_idle_s"`
}

type idleRow struct {
	Conns         int       `json:"conns"`
	SSEKBPerConn  float64   `json:"sse_kb_per_conn"`
	PollKBPerConn float64   `json:"poll_kb_per_conn"`
	Runs          []idleRun `json:"runs"`
	// The same measured on the minimal net/http SSE server: the least a
	// Go HTTP server holds per waiting connection.
	BaselineSSEKBPerConn  float64   `json:"baseline_sse_kb_per_conn"`
	BaselinePollKBPerConn float64   `json:"baseline_poll_kb_per_conn"`
	BaselineRuns          []idleRun `json:"baseline_runs"`
}

func (o *options) runIdle(ctx context.Context, rep *report) error {
	if o.addr != "" {
		logf("idle: skipped: RSS needs a server this tool started")
		return nil
	}
	row := &idleRow{Conns: o.idleConns}
	var sse, poll []float64
	for run := 1; run <= o.runs; run++ {
		// A fresh server each run: a Go heap does not give memory back at
		// once, so a second run on the same process would look cheaper.
		r, err := o.idleRun(ctx, func() (*server, error) {
			srv, err := o.startTidings(ctx, "")
			if err == nil {
				rep.addStartup(srv)
			}
			return srv, err
		})
		if err != nil {
			return err
		}
		logf("idle run %d: %.1f KB per SSE stream, %.1f KB per waiting poll", run, r.SSEKBPerConn, r.PollKBPerConn)
		row.Runs = append(row.Runs, r)
		sse = append(sse, r.SSEKBPerConn)
		poll = append(poll, r.PollKBPerConn)
	}
	row.SSEKBPerConn, row.PollKBPerConn = stats.Median(sse), stats.Median(poll)
	sse, poll = nil, nil
	for run := 1; run <= o.runs; run++ {
		r, err := o.idleRun(ctx, func() (*server, error) { return o.startBaseline(ctx, "sse") })
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		logf("idle baseline run %d: %.1f KB per SSE stream, %.1f KB per waiting poll", run, r.SSEKBPerConn, r.PollKBPerConn)
		row.BaselineRuns = append(row.BaselineRuns, r)
		sse = append(sse, r.SSEKBPerConn)
		poll = append(poll, r.PollKBPerConn)
	}
	row.BaselineSSEKBPerConn, row.BaselinePollKBPerConn = stats.Median(sse), stats.Median(poll)
	rep.Idle = row
	return nil
}

// idleRun measures streams and polls each on a fresh server from start:
// together, 10,000 of each would take more descriptors (on both sides)
// than a usual open-file limit of 20,000 allows.
func (o *options) idleRun(ctx context.Context, start func() (*server, error)) (idleRun, error) {
	var out idleRun
	for _, kind := range []string{"sse", "poll"} {
		srv, err := start()
		if err != nil {
			return out, err
		}
		r, err := driveIdle(ctx, srv, o.idleConns, kind)
		srv.stop()
		if err != nil {
			return out, err
		}
		if kind == "sse" {
			out.BaseRSSKB, out.SSERSSKB, out.SSEKBPerConn = r.BaseRSSKB, r.SSERSSKB, r.SSEKBPerConn
		} else {
			out.PollRSSKB, out.PollKBPerConn, out.ServerCPUIdleS = r.PollRSSKB, r.PollKBPerConn, r.ServerCPUIdleS
		}
	}
	return out, nil
}

// driveIdle opens n SSE streams (each waits for its first block) or n
// long-polls that wait, reading the server's RSS before and after.
func driveIdle(ctx context.Context, srv *server, n int, kind string) (idleRun, error) {
	var out idleRun
	out.BaseRSSKB = settledRSS(srv)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			closeNow(c)
		}
	}()
	open := func(path func(i int) string, marker string) error {
		var mu sync.Mutex
		var firstErr error
		sem := make(chan struct{}, 64)
		var wg sync.WaitGroup
		for i := range n {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				c, err := rawRequest(ctx, srv.base, path(i))
				if err == nil && marker != "" {
					var seen string
					seen, err = readUntil(c, marker, 30*time.Second)
					if err == nil && strings.Contains(seen, `"end"`) {
						err = fmt.Errorf("stream refused: %q", seen)
					}
					if err != nil {
						closeNow(c)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				conns = append(conns, c)
			}()
		}
		wg.Wait()
		return firstErr
	}
	if kind == "sse" {
		if err := open(func(i int) string { return fmt.Sprintf("/v1/topics/idle-%d/sse", i) }, `"cursor":`); err != nil {
			return out, fmt.Errorf("open idle streams: %w", err)
		}
		out.SSERSSKB = settledRSS(srv)
		out.SSEKBPerConn = float64(out.SSERSSKB-out.BaseRSSKB) / float64(n)
		return out, nil
	}
	if err := open(func(i int) string { return fmt.Sprintf("/v1/topics/idlepoll-%d/poll?timeout=600", i) }, ""); err != nil {
		return out, fmt.Errorf("open waiting polls: %w", err)
	}
	cpu0 := srv.cpuSeconds()
	out.PollRSSKB = settledRSS(srv)
	out.ServerCPUIdleS = srv.cpuSeconds() - cpu0
	for _, c := range conns {
		if answered(c) {
			return out, fmt.Errorf("a long-poll was answered at once instead of waiting (refused?)")
		}
	}
	out.PollKBPerConn = float64(out.PollRSSKB-out.BaseRSSKB) / float64(n)
	return out, nil
}

// settledRSS waits until the server's RSS stops moving (two readings
// 250ms apart within 0.5%, at least 1s after the call) and returns it.
func settledRSS(srv *server) int64 {
	start := time.Now()
	prev := srv.rssKB()
	for {
		time.Sleep(250 * time.Millisecond)
		cur := srv.rssKB()
		diff := cur - prev
		if diff < 0 {
			diff = -diff
		}
		if time.Since(start) >= time.Second && float64(diff) <= 0.005*float64(cur) || time.Since(start) > 10*time.Second {
			return cur
		}
		prev = cur
	}
}

// closeNow closes c with a reset, leaving no TIME_WAIT socket behind, so
// tens of thousands of connections per run do not exhaust local ports.
func closeNow(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
