package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const hostileSecret = "hostile-test-secret-0123456789abcdef"

// TestHostileInput runs the real binary with a secret and throws malformed
// and oversized input at it; afterwards the process must be healthy, the
// stored events intact, and a normal publish and subscribe must work.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "t.db"),
		"TIDINGS_SECRET="+hostileSecret,
		"TIDINGS_PUBLIC_TOPICS=public.*",
		"TIDINGS_CORS_ORIGINS=https://app.example.com",
	)
	base := p.URL
	token := strings.TrimSpace(output(t, binary, []string{"TIDINGS_SECRET=" + hostileSecret}, "token", "--publish", "*", "--subscribe", "*"))
	auth := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}

	// What must survive everything below.
	var stored []string
	for i := range 5 {
		status, body, _ := send(t, "POST", base+"/v1/topics/orders/events", auth, fmt.Sprintf(`{"data":{"n":%d,"s":"你好 🎉"}}`, i))
		if status != 201 {
			t.Fatalf("publish: %d %s", status, body)
		}
		stored = append(stored, body)
	}
	before := readAll(t, base, auth)

	t.Run("raw garbage on the socket", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		inputs := [][]byte{
			[]byte("\x00\x01\x02\r\n\r\n"),
			[]byte("GET\r\n\r\n"),
			[]byte("GET / HTTP/9.9\r\n\r\n"),
			[]byte("POST /v1/topics/a/events HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
			[]byte("POST /v1/topics/a/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
			[]byte("GET /v1/topics/a/sse HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\x00\r\n\r\n"),
		}
		for range 20 {
			b := make([]byte, rng.IntN(4096)+1)
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			inputs = append(inputs, b)
		}
		var wg sync.WaitGroup
		for _, in := range inputs {
			c := rawSend(t, p, string(in))
			wg.Go(func() {
				c.(*net.TCPConn).CloseWrite()
				readToClose(c) // until the server answers and closes
			})
		}
		wg.Wait()
	})

	t.Run("huge headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/healthz", nil)
		req.Header.Set("X-Big", strings.Repeat("a", 200<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // the server may close instead of answering
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("200 KB header: status %d, want 431", resp.StatusCode)
		}
	})

	t.Run("10 MB body", func(t *testing.T) {
		big := `{"data":"` + strings.Repeat("x", 10<<20) + `"}`
		status, body, _ := send(t, "POST", base+"/v1/topics/orders/events", auth, big)
		wantError(t, status, body, 413)
		status, body, _ = send(t, "POST", base+"/v1/events", auth, big)
		wantError(t, status, body, 413)
	})

	bad := []struct {
		name, method, path, body string
		want                     int
	}{
		{"invalid UTF-8 in data", "POST", "/v1/topics/orders/events", "{\"data\":\"\xff\xfe\"}", 400},
		{"invalid UTF-8 in type", "POST", "/v1/topics/orders/events", "{\"data\":1,\"type\":\"\xff\"}", 400},
		{"invalid UTF-8 in key", "POST", "/v1/topics/orders/events", "{\"data\":1,\"key\":\"\xc3\x28\"}", 400},
		{"deeply nested JSON", "POST", "/v1/topics/orders/events", `{"data":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, 400},
		{"nested batch", "POST", "/v1/events", `{"events":` + strings.Repeat("[", 50000) + `}`, 400},
		{"not JSON", "POST", "/v1/topics/orders/events", `data=1`, 400},
		{"JSON array body", "POST", "/v1/events", `[1,2]`, 400},
		{"reserved type", "POST", "/v1/topics/orders/events", `{"data":1,"type":"TIDINGS.cursor"}`, 400},
		// An encoded slash is a bad topic name, not an unknown route.
		{"topic with ../", "POST", "/v1/topics/..%2F..%2Fetc/events", `{"data":1}`, 400},
		{"topic with NUL", "GET", "/v1/topics/a%00b/poll?timeout=0", "", 400},
		{"non-ASCII topic", "GET", "/v1/topics/caf%C3%A9/sse", "", 400},
		{"topic with a slash", "GET", "/v1/topics/a%2Fb/poll?timeout=0", "", 400},
		{"empty type", "POST", "/v1/topics/orders/events", `{"data":1,"type":""}`, 400},
		{"topic that is a dot-dot", "GET", "/v1/topics/../poll?timeout=0", "", 400},
		{"topic starting with a dot", "GET", "/v1/topics/.hidden/poll?timeout=0", "", 400},
		{"empty topic in a list", "GET", "/v1/topics/a,,b/poll?timeout=0", "", 400},
		{"65 topics", "GET", "/v1/topics/" + topicList(65) + "/poll?timeout=0", "", 400},
		{"cursor -1", "GET", "/v1/topics/a/poll?timeout=0&cursor=-1", "", 400},
		{"cursor abc", "GET", "/v1/topics/a/sse?cursor=abc", "", 400},
		{"cursor 1e99", "GET", "/v1/topics/a/poll?timeout=0&cursor=1e99", "", 400},
		{"cursor past int64", "GET", "/v1/topics/a/sse?cursor=9223372036854775808", "", 400},
		{"limit 0", "GET", "/v1/topics/a/poll?timeout=0&limit=0", "", 400},
		{"timeout NaN", "GET", "/v1/topics/a/poll?timeout=NaN", "", 400},
		{"unknown route", "GET", "/v1/../../etc/passwd", "", 404},
		{"wrong method", "DELETE", "/v1/topics/a/events", "", 405},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := send(t, tc.method, base+tc.path, auth, tc.body)
			wantError(t, status, body, tc.want)
		})
	}

	t.Run("slow headers", func(t *testing.T) {
		// Connections that trickle their headers must not stop others,
		// and the server drops them after its header timeout.
		var wg sync.WaitGroup
		for range 20 {
			c := rawSend(t, p, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
			wg.Go(func() {
				if _, err := readToClose(c); err != nil {
					t.Errorf("slow connection not closed by the server: %v", err)
				}
			})
		}
		if status, body, _ := get(t, base+"/healthz"); status != 200 {
			t.Errorf("healthz beside slow clients: %d %s", status, body)
		}
		wg.Wait()
	})

	// Afterwards: alive, intact, working.
	select {
	case <-p.exited:
		t.Fatalf("the server exited: %v", p.waitErr)
	default:
	}
	if status, body, _ := get(t, base+"/readyz"); status != 200 {
		t.Fatalf("readyz after the barrage: %d %s", status, body)
	}
	if after := readAll(t, base, auth); after != before {
		t.Fatalf("stored events changed:\nbefore %s\nafter  %s", before, after)
	}
	status, body, _ := send(t, "POST", base+"/v1/topics/orders/events", auth, `{"data":"after"}`)
	if status != 201 {
		t.Fatalf("publish after the barrage: %d %s", status, body)
	}
	var ev struct{ ID int64 }
	json.Unmarshal([]byte(body), &ev)
	var pub struct{ ID int64 }
	json.Unmarshal([]byte(stored[len(stored)-1]), &pub)
	if ev.ID != pub.ID+1 {
		t.Errorf("id after the barrage = %d, want %d: something else was stored", ev.ID, pub.ID+1)
	}
	_, sse, _ := get(t, fmt.Sprintf("%s/v1/topics/orders/sse?cursor=%d&max_duration=0.2&token=%s", base, pub.ID, token))
	if !strings.Contains(sse, fmt.Sprintf("id: %d\ndata: ", ev.ID)) {
		t.Fatalf("subscribe after the barrage: %q", sse)
	}
}

func topicList(n int) string {
	t := make([]string, n)
	for i := range t {
		t[i] = fmt.Sprintf("t%d", i)
	}
	return strings.Join(t, ",")
}

// wantError checks for the status and the JSON error body.
func wantError(t *testing.T, status int, body string, want int) {
	t.Helper()
	if status != want {
		t.Errorf("status %d, want %d (body %.200s)", status, want, body)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.NewDecoder(bytes.NewReader([]byte(body))).Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("body is not the JSON error: %.200s", body)
	}
}

// readAll returns every stored event of the test topics, as JSON.
func readAll(t *testing.T, base string, h http.Header) string {
	t.Helper()
	status, body, _ := send(t, "GET", base+"/v1/topics/orders,a,b/poll?cursor=0&timeout=0&limit=1000", h, "")
	if status != 200 {
		t.Fatalf("read all: %d %s", status, body)
	}
	var page struct{ Events json.RawMessage }
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("read all: %v", err)
	}
	return string(page.Events)
}

// A GET that announces a body it never sends is answered at once (400),
// on every route, and its connection closed; so is a publish whose body
// stops arriving, once the request read bound passes.
func TestBodiesThatNeverCome(t *testing.T) {
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "t.db"), "TIDINGS_READ_TIMEOUT=1s")
	for _, path := range []string{"/healthz", "/readyz", "/v1/topics/t/sse", "/v1/topics/t/poll?timeout=5"} {
		t.Run("GET "+path, func(t *testing.T) {
			c := rawSend(t, p, "GET "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
			res, body := readAnswer(t, c)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_request") {
				t.Errorf("got %d %s, want 400 invalid_request", res.StatusCode, body)
			}
			if n, err := readToClose(c); n != 0 || err != nil {
				t.Errorf("after the answer: read %d more bytes, %v; want the connection closed", n, err)
			}
		})
	}
	t.Run("POST trickle", func(t *testing.T) {
		c := rawSend(t, p, "POST /v1/topics/t/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"da")
		res, body := readAnswer(t, c)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("got %d %s, want 400", res.StatusCode, body)
		}
	})
	if got := p.all(t, "t"); len(got) != 0 {
		t.Errorf("stored %d events, want none", len(got))
	}
}
