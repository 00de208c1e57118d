package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tidings/tidings/server"
	"github.com/tidings/tidings/server/servertest"
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
		c.PublishBurst = 1000
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

// Out of the box, a backend publishing as fast as it can from one address
// is never throttled.
func TestDefaultsNeverThrottlePublishers(t *testing.T) {
	t.Parallel()
	ts := servertest.Start(t, servertest.Options{})
	batch := `{"events":[` + strings.Repeat(`{"topic":"a","data":1},`, 999) + `{"topic":"a","data":2}]}`
	for i := range 6 {
		status, _, body := do(t, "POST", ts.URL+"/v1/events", http.Header{"Content-Type": {"application/json"}}, batch)
		if status != 201 {
			t.Fatalf("batch %d of 1000 events: got %d %s, want 201", i, status, body)
		}
	}
}

// A rate limit counts a token's subject, else the token (one bucket for
// every spelling of its signature), else the address with IPv6 per /64;
// a token's tidings.rate claim sets its own rate.
func TestPublishRatePerPublisher(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *server.Config) {
		c.Secret = testSecret
		c.PublishRate = 0.001 // one event, then no refill within the test
		c.PublishBurst = 1
	})
	exp := time.Now().Add(time.Hour)
	token := func(extra jwt.MapClaims) string {
		c := claims([]string{"*"}, nil, exp)
		for k, v := range extra {
			c[k] = v
		}
		return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
	}
	publish := func(tok string) int {
		t.Helper()
		status, _, _ := do(t, "POST", ts.URL+"/v1/topics/a/events", http.Header{
			"Content-Type": {"application/json"}, "Authorization": {"Bearer " + tok},
		}, `{"data":1}`)
		return status
	}

	t.Run("one subject, two tokens", func(t *testing.T) {
		a, b := token(jwt.MapClaims{"sub": "backend"}), token(jwt.MapClaims{"sub": "backend", "jti": "2"})
		if got := publish(a); got != 201 {
			t.Fatalf("first publish: got %d, want 201", got)
		}
		if got := publish(b); got != 429 {
			t.Fatalf("second token of the same subject: got %d, want 429", got)
		}
	})
	t.Run("every spelling of one token", func(t *testing.T) {
		tok := token(jwt.MapClaims{"jti": "spelling"})
		if got := publish(tok); got != 201 {
			t.Fatalf("first publish: got %d, want 201", got)
		}
		// The last base64 character of a 32-byte signature carries two
		// unused bits: four spellings decode to the same signature.
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		last := strings.IndexByte(alphabet, tok[len(tok)-1])
		for v := range 4 {
			spelled := tok[:len(tok)-1] + string(alphabet[last&^3|v])
			if got := publish(spelled); got != 429 && got != 401 {
				t.Errorf("spelling %q: got %d, want 429 (same bucket) or 401", spelled[len(spelled)-3:], got)
			}
		}
	})
	t.Run("tidings.rate limits a token", func(t *testing.T) {
		ts := newTestServer(t, func(c *server.Config) { c.Secret = testSecret })
		tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{
			"tidings.publish": []string{"*"}, "exp": exp.Unix(), "tidings.rate": 0.001,
		})
		h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + tok}}
		if status, _, _ := do(t, "POST", ts.URL+"/v1/topics/a/events", h, `{"data":1}`); status != 201 {
			t.Fatalf("first publish: got %d, want 201", status)
		}
		if status, _, _ := do(t, "POST", ts.URL+"/v1/topics/a/events", h, `{"data":1}`); status != 429 {
			t.Fatalf("second publish at 0.001/s: got %d, want 429", status)
		}
	})
	t.Run("tidings.rate 0 lifts the server's rate", func(t *testing.T) {
		tok := token(jwt.MapClaims{"tidings.rate": 0, "sub": "unlimited"})
		for i := range 5 {
			if got := publish(tok); got != 201 {
				t.Fatalf("publish %d: got %d, want 201", i, got)
			}
		}
	})
	t.Run("a negative tidings.rate is refused", func(t *testing.T) {
		if got := publish(token(jwt.MapClaims{"tidings.rate": -1})); got != 401 {
			t.Fatalf("got %d, want 401", got)
		}
	})
}

func TestPublishRatePerAddress(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *server.Config) {
		c.PublishRate = 0.001
		c.PublishBurst = 1
		c.TrustedProxyHdr = "X-Forwarded-For"
	})
	publish := func(from string) int {
		status, _, _ := do(t, "POST", ts.URL+"/v1/topics/a/events", http.Header{
			"Content-Type": {"application/json"}, "X-Forwarded-For": {from},
		}, `{"data":1}`)
		return status
	}
	for _, tc := range []struct {
		from string
		want int
	}{
		{"2001:db8:1:2::1", 201},
		{"2001:db8:1:2:ffff::7", 429}, // the same /64
		{"2001:db8:1:3::1", 201},      // the next /64
		{"198.51.100.1", 201},
		{"198.51.100.2", 201},
		{"::ffff:198.51.100.2", 429}, // the same IPv4 address
	} {
		if got := publish(tc.from); got != tc.want {
			t.Errorf("publish from %s: got %d, want %d", tc.from, got, tc.want)
		}
	}
}

// Behind a proxy that adds its own X-Forwarded-For line, the client's
// own line cannot choose the address counted; IPv6 clients are counted
// per /64.
func TestSubscriptionsPerProxiedAddress(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *server.Config) {
		c.MaxSubsPerIP = 1
		c.TrustedProxyHdr = "X-Forwarded-For"
	})
	for _, tc := range []struct {
		name        string
		held, probe []string
	}{
		{"the last line counts", []string{"203.0.113.7"}, []string{"192.0.2.99", "10.0.0.1, 203.0.113.7"}},
		{"IPv6 per /64", []string{"2001:db8::1"}, []string{"2001:db8::2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts.openSSE(t, "/v1/topics/a/sse", http.Header{"X-Forwarded-For": tc.held}).next(t)
			status, _, body := do(t, "GET", ts.URL+"/v1/topics/a/poll?timeout=0", http.Header{"X-Forwarded-For": tc.probe}, "")
			if status != 429 {
				t.Fatalf("poll from %q: got %d %s, want 429: the same client", tc.probe, status, body)
			}
		})
	}
}

// Who publishes is settled before the body is read: a batch without a
// valid token is 401 whatever its body holds.
func TestUnauthenticatedBatchIs401(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *server.Config) { c.Secret = testSecret })
	for _, body := range []string{`not json`, `{"events":[]}`, `{"events":[{"topic":"a/b","data":1}]}`, ``} {
		status, _, b := do(t, "POST", ts.URL+"/v1/events", http.Header{"Content-Type": {"application/json"}}, body)
		if status != 401 {
			t.Errorf("batch %q without a token: got %d %s, want 401", body, status, b)
		}
	}
}
