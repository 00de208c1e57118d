package server_test

import (
	"strings"
	"testing"

	"github.com/tidings/tidings/server"
)

// With no secret the server is open, so by default it listens on
// loopback only; with a secret, on every interface. An explicit address
// always wins.
func TestDefaultAddr(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", 32)
	for _, tc := range []struct{ secret, addr, want string }{
		{"", "", "127.0.0.1:8080"},
		{secret, "", ":8080"},
		{"", ":9000", ":9000"},
	} {
		c := server.DefaultConfig()
		c.Secret, c.Addr = tc.secret, tc.addr
		if tc.secret != "" {
			c.CORSOrigins = []string{"https://app.example"}
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if c.Addr != tc.want {
			t.Errorf("secret %t, TIDINGS_ADDR %q: listens on %q, want %q", tc.secret != "", tc.addr, c.Addr, tc.want)
		}
	}
}

// The publish rate is off by default: the team's own backend is never
// throttled out of the box.
func TestDefaultPublishRateIsUnlimited(t *testing.T) {
	t.Parallel()
	if got := server.DefaultConfig().PublishRate; got != 0 {
		t.Errorf("default TIDINGS_PUBLISH_RATE: got %g, want 0 (no limit)", got)
	}
}
