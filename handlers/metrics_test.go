package handlers_test

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape returns the value of every sample on /metrics, keyed by its name
// and labels as printed.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q, want the Prometheus text format", ct)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsCountTheScript(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	post := func(path, body string) {
		resp, err := http.Post(ts.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get := func(path string) {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	post("/v1/topics/a/events", `{"data":1}`)
	post("/v1/topics/a/events", `{"data":2,"key":"k"}`)
	post("/v1/topics/a/events", `{"data":2,"key":"k"}`)                              // duplicate
	post("/v1/topics/a/events", `{"dat":3}`)                                         // rejected
	post("/v1/events", `{"events":[{"topic":"a","data":4},{"topic":"b","data":5}]}`) // 2 created
	get("/v1/topics/a/sse?cursor=0&max_duration=0.05")                               // 3 events over SSE
	get("/v1/topics/a,b/poll?cursor=0&timeout=0")                                    // 4 events by poll
	get("/v1/topics/a/poll?cursor=999&timeout=0")                                    // cursor_ahead

	// A parked stream is counted as ended just after its connection is
	// closed, so its client can read the end before the counters move.
	got := scrape(t, ts.URL)
	for deadline := time.Now().Add(10 * time.Second); got[`tidings_subscribers{transport="sse"}`] != 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		got = scrape(t, ts.URL)
	}
	want := map[string]float64{
		`tidings_events_published_total{result="created"}`:   4,
		`tidings_events_published_total{result="duplicate"}`: 1,
		`tidings_events_published_total{result="rejected"}`:  1,
		`tidings_events_published_total{result="failed"}`:    0,
		`tidings_events_delivered_total{transport="sse"}`:    3,
		`tidings_events_delivered_total{transport="poll"}`:   4,
		`tidings_sse_ended_total{reason="max_duration"}`:     1,
		`tidings_resets_total{reason="cursor_ahead"}`:        1,
		`tidings_subscribers{transport="sse"}`:               0,
		`tidings_subscribers{transport="poll"}`:              0,
		`tidings_commit_batch_events_sum`:                    4,
	}
	for k, v := range want {
		if got, ok := got[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	for k := range got {
		if strings.Contains(k, `"a"`) || strings.Contains(k, "topic=") {
			t.Errorf("a label holds a topic: %s", k)
		}
	}
}
