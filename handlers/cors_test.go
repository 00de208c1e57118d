package handlers_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tidings/tidings/server"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	const allowed = "https://app.example"
	s := newTestServer(t, func(c *server.Config) { c.CORSOrigins = []string{allowed, "https://other.example"} })
	preflight := func(t *testing.T, origin, path, method, headers string) (int, http.Header) {
		t.Helper()
		h := http.Header{
			"Origin":                        {origin},
			"Access-Control-Request-Method": {method},
		}
		if headers != "" {
			h.Set("Access-Control-Request-Headers", headers)
		}
		status, rh, _ := do(t, "OPTIONS", s.URL+path, h, "")
		return status, rh
	}

	for _, tc := range []struct{ path, method string }{
		{"/v1/topics/a/sse", "GET"},
		{"/v1/topics/a,b/poll", "GET"},
		{"/v1/topics/a/events", "POST"},
		{"/v1/events", "POST"},
	} {
		t.Run("preflight "+tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			status, h := preflight(t, allowed, tc.path, tc.method, "authorization,content-type,idempotency-key,last-event-id")
			if status != http.StatusNoContent {
				t.Errorf("status: got %d, want 204", status)
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != allowed {
				t.Errorf("Access-Control-Allow-Origin: got %q, want %q", got, allowed)
			}
			var got []string
			for _, v := range h.Values("Access-Control-Allow-Headers") {
				for f := range strings.SplitSeq(v, ",") {
					got = append(got, strings.ToLower(strings.TrimSpace(f)))
				}
			}
			for _, want := range []string{"authorization", "content-type", "idempotency-key", "last-event-id"} {
				if !slices.Contains(got, want) {
					t.Errorf("Access-Control-Allow-Headers %q lacks %s", got, want)
				}
			}
			if m := h.Get("Access-Control-Allow-Methods"); !strings.Contains(m, tc.method) {
				t.Errorf("Access-Control-Allow-Methods: got %q, want it to include %s", m, tc.method)
			}
		})
	}

	t.Run("origin matches regardless of case", func(t *testing.T) {
		t.Parallel()
		status, h := preflight(t, "https://APP.example", "/v1/topics/a/sse", "GET", "")
		if status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") == "" {
			t.Errorf("got %d with Access-Control-Allow-Origin %q, want 204 allowed", status, h.Get("Access-Control-Allow-Origin"))
		}
	})

	t.Run("disallowed origin", func(t *testing.T) {
		t.Parallel()
		for _, origin := range []string{"https://evil.example", "https://app.example.evil.example", "null"} {
			status, h := preflight(t, origin, "/v1/topics/a/sse", "GET", "last-event-id")
			if got := h.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("%s: Access-Control-Allow-Origin %q, want none", origin, got)
			}
			if status == http.StatusNoContent || status == http.StatusOK {
				t.Errorf("%s: preflight got %d, want a refusal", origin, status)
			}
			status, h, b := do(t, "GET", s.URL+"/v1/topics/a/poll?timeout=0", http.Header{"Origin": {origin}}, "")
			if got := h.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("%s: GET answered with Access-Control-Allow-Origin %q, want none", origin, got)
			}
			if status != http.StatusOK {
				// The browser enforces CORS; the server still answers.
				t.Errorf("%s: GET got %d %s, want 200", origin, status, b)
			}
		}
	})

	t.Run("actual requests from an allowed origin", func(t *testing.T) {
		t.Parallel()
		h := http.Header{"Origin": {allowed}}
		if _, rh, _ := do(t, "GET", s.URL+"/v1/topics/a/poll?timeout=0", h, ""); rh.Get("Access-Control-Allow-Origin") != allowed {
			t.Errorf("poll: Access-Control-Allow-Origin %q, want %q", rh.Get("Access-Control-Allow-Origin"), allowed)
		}
		ss := s.openSSE(t, "/v1/topics/a/sse?max_duration=0.05", h)
		if got := ss.Res.Header.Get("Access-Control-Allow-Origin"); got != allowed {
			t.Errorf("sse: Access-Control-Allow-Origin %q, want %q", got, allowed)
		}
		if !slices.Contains(ss.Res.Header.Values("Vary"), "Origin") {
			t.Errorf("sse: Vary %q, want Origin", ss.Res.Header.Values("Vary"))
		}
		ss.rest(t)
		status, rh, b := do(t, "POST", s.URL+"/v1/topics/a/events", http.Header{"Origin": {allowed}, "Content-Type": {"application/json"}}, `{"data":1}`)
		if status != http.StatusCreated || rh.Get("Access-Control-Allow-Origin") != allowed {
			t.Errorf("publish: got %d %s with Access-Control-Allow-Origin %q", status, b, rh.Get("Access-Control-Allow-Origin"))
		}
		// Errors must be readable by the page too.
		status, rh, _ = do(t, "GET", s.URL+"/v1/topics/a/poll?limit=0", h, "")
		if status != http.StatusBadRequest || rh.Get("Access-Control-Allow-Origin") != allowed {
			t.Errorf("error: got %d with Access-Control-Allow-Origin %q", status, rh.Get("Access-Control-Allow-Origin"))
		}
	})

	t.Run("any origin in open mode", func(t *testing.T) {
		t.Parallel()
		open := newTestServer(t) // CORSOrigins: "*", as serve.go sets by default
		status, h, _ := do(t, "OPTIONS", open.URL+"/v1/topics/a/sse", http.Header{"Origin": {"http://localhost:3000"}, "Access-Control-Request-Method": {"GET"}}, "")
		if status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("got %d with Access-Control-Allow-Origin %q, want 204 and *", status, h.Get("Access-Control-Allow-Origin"))
		}
	})
}
