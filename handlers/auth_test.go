package handlers_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tidings/tidings/server"
)

const testSecret = "test-secret-0123456789abcdef0123456789"

// sign makes a token with arbitrary claims and method.
func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func claims(publish, subscribe []string, exp time.Time) jwt.MapClaims {
	c := jwt.MapClaims{"tidings.publish": publish, "tidings.subscribe": subscribe}
	if !exp.IsZero() {
		c["exp"] = exp.Unix()
	}
	return c
}

// unsignedToken is an "alg: none" token, which must never be accepted.
func unsignedToken(c jwt.MapClaims) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	p, _ := json.Marshal(c)
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

func newAuthServer(t *testing.T, logs io.Writer) *testServer {
	t.Helper()
	return newTestServer(t, func(c *server.Config) {
		c.Secret = testSecret
		c.PublicTopics = []string{"public.*"}
		c.CORSOrigins = []string{"https://app.example"}
		c.SSEMaxDuration = 200 * time.Millisecond
		if logs != nil {
			c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	})
}

type route struct {
	name   string
	method string
	path   func(topic string) string
	body   func(topic string) string
}

var authRoutes = []route{
	{"publish", "POST", func(tp string) string { return "/v1/topics/" + tp + "/events" }, func(string) string { return `{"data":1}` }},
	{"batch", "POST", func(string) string { return "/v1/events" }, func(tp string) string { return `{"events":[{"topic":"` + tp + `","data":1}]}` }},
	{"sse", "GET", func(tp string) string { return "/v1/topics/" + tp + "/sse?cursor=0" }, nil},
	{"poll", "GET", func(tp string) string { return "/v1/topics/" + tp + "/poll?cursor=0&timeout=0" }, nil},
}

func TestAuthMatrix(t *testing.T) {
	t.Parallel()
	ts := newAuthServer(t, nil)
	hour := time.Now().Add(time.Hour)
	good := sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims([]string{"orders.*", "user:42"}, []string{"orders.*", "user:42"}, hour))

	type tokenCase struct {
		name  string
		topic string
		token string
		where string // "header", "query" or ""
		// want is the status per route kind: publish/batch vs sse/poll.
		wantPublish, wantSubscribe int
	}
	cases := []tokenCase{
		{"no token", "orders.eu", "", "", 401, 401},
		{"bad signature", "orders.eu", sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef0123"), claims([]string{"*"}, []string{"*"}, hour)), "header", 401, 401},
		{"alg none", "orders.eu", unsignedToken(claims([]string{"*"}, []string{"*"}, hour)), "header", 401, 401},
		{"HS512", "orders.eu", sign(t, jwt.SigningMethodHS512, []byte(testSecret), claims([]string{"*"}, []string{"*"}, hour)), "header", 401, 401},
		{"expired", "orders.eu", sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims([]string{"*"}, []string{"*"}, time.Now().Add(-time.Hour))), "header", 401, 401},
		{"no exp", "orders.eu", sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims([]string{"*"}, []string{"*"}, time.Time{})), "header", 401, 401},
		{"not yet valid", "orders.eu", sign(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"exp": hour.Unix(), "nbf": hour.Add(-time.Minute).Unix(), "tidings.publish": []string{"*"}, "tidings.subscribe": []string{"*"}}), "header", 401, 401},
		{"malformed", "orders.eu", "not.a.jwt", "header", 401, 401},
		{"wrong topic", "payments", good, "header", 403, 403},
		{"prefix too short", "orders", good, "header", 403, 403},
		{"pattern match", "orders.eu", good, "header", 201, 200},
		{"exact match", "user:42", good, "header", 201, 200},
		{"query token", "orders.eu", good, "query", 201, 200},
		{"public topic without token", "public.news", "", "", 401, 200},
		{"public topic with a bad token", "public.news", "garbage", "query", 401, 401},
	}
	for _, tc := range cases {
		for _, rt := range authRoutes {
			t.Run(tc.name+"/"+rt.name, func(t *testing.T) {
				t.Parallel()
				u := ts.URL + rt.path(tc.topic)
				if tc.where == "query" {
					u = withToken(u, tc.token)
				}
				h := http.Header{}
				body := ""
				if rt.body != nil {
					body = rt.body(tc.topic)
					h.Set("Content-Type", "application/json")
				}
				if tc.where == "header" {
					h.Set("Authorization", "Bearer "+tc.token)
				}
				status, _, raw := do(t, rt.method, u, h, body)
				want := tc.wantSubscribe
				if rt.method == "POST" {
					want = tc.wantPublish
				}
				if status != want {
					t.Fatalf("status = %d, want %d; body %s", status, want, raw)
				}
				if want >= 400 {
					var e struct {
						Error struct{ Code, Message string }
					}
					if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" {
						t.Fatalf("error body %q is not the JSON error", raw)
					}
					if wantCode := map[int]string{401: "unauthorized", 403: "forbidden"}[want]; e.Error.Code != wantCode {
						t.Errorf("code = %q, want %q", e.Error.Code, wantCode)
					}
					if tc.token != "" && strings.Contains(string(raw), tc.token) {
						t.Errorf("error body repeats the token")
					}
				}
				if rt.name == "sse" && want == 200 {
					if !strings.HasPrefix(string(raw), "retry: ") || !strings.Contains(string(raw), `"end":"max_duration"`) {
						t.Errorf("stream = %q, want a bounded stream", raw)
					}
				}
			})
		}
	}
}

// withToken adds the token query parameter to u.
func withToken(u, tok string) string {
	if strings.Contains(u, "?") {
		return u + "&token=" + url.QueryEscape(tok)
	}
	return u + "?token=" + url.QueryEscape(tok)
}

func TestOpenModeNeedsNoToken(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, rt := range authRoutes {
		body := ""
		if rt.body != nil {
			body = rt.body("x")
		}
		u := ts.URL + rt.path("x")
		if rt.name == "sse" {
			u += "&max_duration=0.05"
		}
		if status, _, raw := do(t, rt.method, u, nil, body); status >= 300 {
			t.Errorf("%s: status %d in open mode: %s", rt.name, status, raw)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTokensNeverLogged(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	ts := newAuthServer(t, &logs)
	tokens := []string{
		sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims([]string{"orders.*"}, []string{"orders.*"}, time.Now().Add(time.Hour))),
		sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims([]string{"*"}, nil, time.Now().Add(-time.Hour))),
		sign(t, jwt.SigningMethodHS256, []byte("wrong-secret-0123456789abcdef0123456"), claims([]string{"*"}, nil, time.Now().Add(time.Hour))),
	}
	paths := []string{
		"/v1/topics/orders.eu/events", "/v1/topics/payments/events", "/v1/events",
		"/v1/topics/orders.eu/sse?max_duration=0.05", "/v1/topics/orders.eu/poll?timeout=0",
		"/v1/topics/bad topic/poll", "/nowhere", "/healthz",
	}
	for _, tok := range tokens {
		for _, p := range paths {
			for _, inQuery := range []bool{false, true} {
				method, body := "GET", ""
				if strings.HasSuffix(p, "/events") {
					method, body = "POST", `{"data":1,"events":[{"topic":"orders.eu","data":1}]}`
				}
				u := ts.URL + strings.ReplaceAll(p, " ", "%20")
				h := http.Header{}
				if inQuery {
					u = withToken(u, tok)
				} else {
					h.Set("Authorization", "Bearer "+tok)
				}
				do(t, method, u, h, body)
			}
		}
	}
	out := logs.String()
	for _, tok := range tokens {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if strings.Contains(out, sig) {
			t.Fatalf("a token appears in the log:\n%s", out)
		}
	}
	if strings.Contains(out, testSecret) {
		t.Fatal("the secret appears in the log")
	}
}
