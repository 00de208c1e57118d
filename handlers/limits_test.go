package handlers_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// openStream starts an SSE request and reads its first block, so the
// subscription is registered when it returns. Cancel ctx to end it.
func openStream(t *testing.T, ctx context.Context, url string, header http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before its first block: %v", err)
		}
		if line == "\n" {
			return resp
		}
	}
}

func TestSubscriptionsPerAddress(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *testConfig) {
		c.API.MaxSubscriptionsPerIP = 1
		c.API.TrustedProxyHeader = "Fly-Client-IP"
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := openStream(t, ctx, ts.URL+"/v1/topics/a/sse", http.Header{"Fly-Client-IP": {"203.0.113.7"}})
	defer first.Body.Close()

	t.Run("sse over the limit ends at once with 200", func(t *testing.T) {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/topics/a/sse?cursor=0", nil)
		req.Header.Set("Fly-Client-IP", "203.0.113.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"end":"overloaded"`) || !strings.Contains(string(body), `{"cursor":0,`) {
			t.Fatalf("status %d body %q, want 200 and a final overloaded block at cursor 0", resp.StatusCode, body)
		}
		if strings.HasPrefix(string(body), "retry: 1000\n") {
			t.Errorf("retry hint is the usual one: %q", body)
		}
	})
	t.Run("poll over the limit is 429", func(t *testing.T) {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/topics/a/poll?timeout=0", nil)
		req.Header.Set("Fly-Client-IP", "203.0.113.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 429 || !strings.Contains(string(body), `"too_many_subscribers"`) || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("status %d body %q, want 429 too_many_subscribers with Retry-After", resp.StatusCode, body)
		}
	})
	t.Run("another address is not limited", func(t *testing.T) {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/topics/a/poll?timeout=0", nil)
		req.Header.Set("Fly-Client-IP", "198.51.100.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
	})
}

func TestPublishRate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *testConfig) {
		c.API.PublishRate = 0.001 // no refill within the test
		c.API.PublishBurst = 3
	})
	status := func(body, path string) (int, string) {
		resp, err := http.Post(ts.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	if got, _ := status(`{"events":[{"topic":"a","data":1},{"topic":"a","data":2}]}`, "/v1/events"); got != 201 {
		t.Fatalf("batch of 2 within the burst: %d", got)
	}
	if got, _ := status(`{"events":[{"topic":"a","data":1},{"topic":"a","data":2}]}`, "/v1/events"); got != 429 {
		t.Fatalf("batch of 2 with 1 token left: %d, want 429", got)
	}
	if got, _ := status(`{"data":1}`, "/v1/topics/a/events"); got != 201 {
		t.Fatalf("single publish with 1 token left: %d, want 201", got)
	}
	got, retry := status(`{"data":1}`, "/v1/topics/a/events")
	if got != 429 || retry == "" {
		t.Fatalf("publish over the rate: %d Retry-After %q, want 429 with Retry-After", got, retry)
	}
}
