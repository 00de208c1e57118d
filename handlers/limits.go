package handlers

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// clientAddr is the client's IP address: from the connection, or from the
// trusted proxy header when one is configured and present. A proxy adds
// its own line to a header a client already sent, so the last line counts;
// in X-Forwarded-For, the last entry of it (the one the trusted proxy
// appended).
func (s *Server) clientAddr(r *http.Request) string {
	if h := s.cfg.TrustedProxyHeader; h != "" {
		if lines := r.Header.Values(h); len(lines) > 0 {
			v := lines[len(lines)-1]
			if strings.EqualFold(h, "X-Forwarded-For") {
				if i := strings.LastIndexByte(v, ','); i >= 0 {
					v = v[i+1:]
				}
			}
			if ip, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
				return ip.Unmap().String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limitKey is the client the per-address limits count: its address, with
// IPv6 addresses counted per /64 (one subscriber line or host gets a whole
// /64, and would otherwise have as many addresses as it likes).
func (s *Server) limitKey(r *http.Request) string {
	return addrKey(s.clientAddr(r))
}

// addrKey is an IPv4 address as it is, an IPv6 address as its /64.
func addrKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Unmap().Is4() {
		return addr
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
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

// rateLimiter keeps a token bucket per publisher (token subject or
// address). Each bucket has its own rate: the server's, or the one its
// token carries. Idle full buckets are forgotten.
type rateLimiter struct {
	mu    sync.Mutex
	b     map[string]*bucket
	swept time.Time
}

type bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

func newRateLimiter() *rateLimiter {
	return &rateLimiter{b: make(map[string]*bucket)}
}

// allow takes n tokens from key's bucket, which refills at rate per second
// up to burst (rate 0: no limit). A request of more than burst events is
// let through when the bucket is full and leaves it in debt, so a batch
// larger than the burst is paced rather than refused for ever.
func (l *rateLimiter) allow(key string, rate, burst float64, n int, now time.Time) bool {
	if rate <= 0 {
		return true
	}
	burst = max(burst, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.b {
			if b.tokens+now.Sub(b.last).Seconds()*b.rate >= b.burst {
				delete(l.b, k)
			}
		}
		l.swept = now
	}
	b := l.b[key]
	if b == nil || b.rate != rate || b.burst != burst {
		b = &bucket{rate: rate, burst: burst, tokens: burst, last: now}
		l.b[key] = b
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if need := min(float64(n), b.burst); need > b.tokens {
		return false
	}
	b.tokens -= float64(n)
	return true
}
