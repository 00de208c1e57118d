package handlers

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// clientAddr is the client's IP address: from the connection, or from the
// trusted proxy header when one is configured and present.
func (s *Server) clientAddr(r *http.Request) string {
	if h := s.cfg.TrustedProxyHeader; h != "" {
		if v := r.Header.Get(h); v != "" {
			if strings.EqualFold(h, "X-Forwarded-For") {
				// The last entry is the one the trusted proxy appended.
				if i := strings.LastIndexByte(v, ','); i >= 0 {
					v = v[i+1:]
				}
			}
			if ip := net.ParseIP(strings.TrimSpace(v)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// connCounter bounds concurrent subscriptions per client address.
type connCounter struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newConnCounter(max int) *connCounter {
	return &connCounter{max: max, n: make(map[string]int)}
}

// acquire takes a slot for addr; release must follow when it returns true.
func (c *connCounter) acquire(addr string) bool {
	if c.max <= 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[addr] >= c.max {
		return false
	}
	c.n[addr]++
	return true
}

func (c *connCounter) release(addr string) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[addr]--; c.n[addr] <= 0 {
		delete(c.n, addr)
	}
}

// rateLimiter is a token bucket per client (token or address): rate events
// per second with bursts of burst. Idle full buckets are forgotten.
type rateLimiter struct {
	rate  float64
	burst float64
	mu    sync.Mutex
	b     map[string]*bucket
	swept time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst int) *rateLimiter {
	if burst < 1 {
		burst = 1
	}
	return &rateLimiter{rate: rate, burst: float64(burst), b: make(map[string]*bucket)}
}

// allow takes n tokens from key's bucket, or none if it holds fewer.
func (l *rateLimiter) allow(key string, n int, now time.Time) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.b {
			if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
				delete(l.b, k)
			}
		}
		l.swept = now
	}
	b := l.b[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.b[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if float64(n) > b.tokens {
		return false
	}
	b.tokens -= float64(n)
	return true
}
