package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tidings/tidings/server"
)

func TestSubscriptionsPerAddress(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *server.Config) {
		c.MaxSubsPerIP = 1
		c.TrustedProxyHdr = "Fly-Client-IP"
	})
	limited := http.Header{"Fly-Client-IP": {"203.0.113.7"}}
	// Once its first block arrives, the stream holds the address's slot.
	ts.openSSE(t, "/v1/topics/a/sse", limited).next(t)

	t.Run("sse over the limit ends at once with 200", func(t *testing.T) {
		status, _, body := do(t, "GET", ts.URL+"/v1/topics/a/sse?cursor=0", limited, "")
		if status != 200 || !strings.Contains(string(body), `"end":"overloaded"`) || !strings.Contains(string(body), `{"cursor":0,`) {
			t.Fatalf("status %d body %q, want 200 and a final overloaded block at cursor 0", status, body)
		}
		if strings.HasPrefix(string(body), "retry: 1000\n") {
			t.Errorf("retry hint is the usual one: %q", body)
		}
	})
	t.Run("poll over the limit is 429", func(t *testing.T) {
		status, h, body := do(t, "GET", ts.URL+"/v1/topics/a/poll?timeout=0", limited, "")
		if status != 429 || !strings.Contains(string(body), `"too_many_subscribers"`) || h.Get("Retry-After") == "" {
			t.Fatalf("status %d body %q, want 429 too_many_subscribers with Retry-After", status, body)
		}
	})
	t.Run("another address is not limited", func(t *testing.T) {
		status, _, body := do(t, "GET", ts.URL+"/v1/topics/a/poll?timeout=0", http.Header{"Fly-Client-IP": {"198.51.100.1"}}, "")
		if status != 200 {
			t.Fatalf("status %d body %q, want 200", status, body)
		}
	})
}

func TestPublishRate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *server.Config) {
		c.PublishRate = 0.001 // no refill within the test
		c.PublishBurst = 1000 // the smallest burst allowed: the largest batch
	})
	post := func(path, body string) (int, string) {
		status, h, _ := do(t, "POST", ts.URL+path, http.Header{"Content-Type": {"application/json"}}, body)
		return status, h.Get("Retry-After")
	}
	first := `{"events":[` + strings.Repeat(`{"topic":"a","data":1},`, 998) + `{"topic":"a","data":2}]}`
	if got, _ := post("/v1/events", first); got != 201 {
		t.Fatalf("batch of 999 within the burst: %d", got)
	}
	batch := `{"events":[{"topic":"a","data":1},{"topic":"a","data":2}]}`
	if got, _ := post("/v1/events", batch); got != 429 {
		t.Fatalf("batch of 2 with 1 token left: %d, want 429", got)
	}
	if got, _ := post("/v1/topics/a/events", `{"data":1}`); got != 201 {
		t.Fatalf("single publish with 1 token left: %d, want 201", got)
	}
	got, retry := post("/v1/topics/a/events", `{"data":1}`)
	if got != 429 || retry == "" {
		t.Fatalf("publish over the rate: %d Retry-After %q, want 429 with Retry-After", got, retry)
	}
}
