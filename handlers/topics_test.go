package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tidings/tidings/store"
)

type topicsAnswer struct {
	Topics []struct {
		Topic    string `json:"topic"`
		Events   int64  `json:"events"`
		FirstID  int64  `json:"first_id"`
		LastID   int64  `json:"last_id"`
		LastTime string `json:"last_time"`
	} `json:"topics"`
	Head *int64 `json:"head"`
}

func (a topicsAnswer) names() string {
	var out []string
	for _, t := range a.Topics {
		out = append(out, t.Topic)
	}
	return strings.Join(out, " ")
}

// getTopics GETs /v1/topics with query and a token ("" for none), and
// decodes a 200 answer strictly.
func (s *testServer) getTopics(t *testing.T, query, token string) topicsAnswer {
	t.Helper()
	var h http.Header
	if token != "" {
		h = http.Header{"Authorization": {"Bearer " + token}}
	}
	status, hdr, b := do(t, "GET", s.URL+"/v1/topics"+query, h, "")
	if status != http.StatusOK {
		t.Fatalf("GET /v1/topics%s: got %d (%s), want 200", query, status, b)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	var a topicsAnswer
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil || a.Topics == nil || a.Head == nil {
		t.Fatalf("answer %s: want {\"topics\":[...],\"head\":N} (%v)", b, err)
	}
	return a
}

// appendTo stores events directly, for servers where publishing needs a
// token.
func (s *testServer) appendTo(t *testing.T, topics ...string) {
	t.Helper()
	in := make([]store.Input, len(topics))
	for i, tp := range topics {
		in[i] = store.Input{Topic: tp, Type: "message", Data: json.RawMessage(`1`)}
	}
	if _, err := s.Store().Append(context.Background(), in); err != nil {
		t.Fatalf("append: %v", err)
	}
}

func TestTopicsList(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.publishN(t, "orders", 3)       // 1..3
	s.publishN(t, "room.lobby", 1)   // 4
	s.publishN(t, "room.kitchen", 2) // 5, 6
	last := s.publish(t, "user:42", `{"data":{}}`)

	a := s.getTopics(t, "", "")
	if got, want := a.names(), "orders room.kitchen room.lobby user:42"; got != want {
		t.Fatalf("topics: got %q, want %q", got, want)
	}
	if *a.Head != 7 {
		t.Errorf("head: got %d, want 7", *a.Head)
	}
	o := a.Topics[0]
	if o.Events != 3 || o.FirstID != 1 || o.LastID != 3 || !timeRE.MatchString(o.LastTime) {
		t.Errorf("orders: got %+v, want 3 events, ids 1..3, a time", o)
	}
	if u := a.Topics[3]; u.LastTime != last.Time {
		t.Errorf("user:42 last_time: got %q, want the publish's %q", u.LastTime, last.Time)
	}

	tests := []struct{ query, want string }{
		{"?prefix=room.", "room.kitchen room.lobby"},
		{"?prefix=room.l", "room.lobby"},
		{"?prefix=x", ""},
		{"?limit=2", "orders room.kitchen"},
		{"?limit=2&after=room.kitchen", "room.lobby user:42"},
		{"?after=user:42", ""},
		{"?prefix=room.&after=room.kitchen&limit=1", "room.lobby"},
		{"?prefix=user%3A", "user:42"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := s.getTopics(t, tt.query, "").names(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTopicsEmpty(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	status, _, b := do(t, "GET", s.URL+"/v1/topics", nil, "")
	if status != http.StatusOK || string(b) != `{"topics":[],"head":0}`+"\n" {
		t.Fatalf("got %d %s, want 200 {\"topics\":[],\"head\":0}", status, b)
	}
}

func TestTopicsBadInput(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.publishN(t, "orders", 1)
	tests := []struct{ query, code string }{
		{"?limit=0", "invalid_limit"},
		{"?limit=1001", "invalid_limit"},
		{"?limit=x", "invalid_limit"},
		{"?prefix=a%2Fb", "invalid_topic"},
		{"?prefix=.x", "invalid_topic"},
		{"?prefix=" + strings.Repeat("a", 129), "invalid_topic"},
		{"?after=a,b", "invalid_topic"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, _, b := do(t, "GET", s.URL+"/v1/topics"+tt.query, nil, "")
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(b, &e); err != nil || status != 400 || e.Error.Code != tt.code || e.Error.Message == "" {
				t.Errorf("got %d %s, want 400 %s with a message", status, b, tt.code)
			}
		})
	}
}

// TestTopicsWithSecret lists, on a server with a secret, only the topics a
// request may subscribe to: the public ones (public.*) and its token's.
func TestTopicsWithSecret(t *testing.T) {
	t.Parallel()
	s := newAuthServer(t, nil)
	s.appendTo(t, "a", "orders.eu", "orders.us", "ordersx", "public.news", "public.weather", "user:42", "user:420", "zeta")
	hour := time.Now().Add(time.Hour)
	tok := func(subscribe ...string) string {
		return sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(nil, subscribe, hour))
	}

	tests := []struct {
		name, query, token, want string
	}{
		{"no token: public topics", "", "", "public.news public.weather"},
		{"token adds its patterns", "", tok("orders.*", "user:42"), "orders.eu orders.us public.news public.weather user:42"},
		{"exact topic is not a prefix", "?prefix=user", tok("user:42"), "user:42"},
		{"a wider pattern covers a narrower one", "", tok("orders.eu", "orders.*", "o*"), "orders.eu orders.us ordersx public.news public.weather"},
		{"everything", "", tok("*"), "a orders.eu orders.us ordersx public.news public.weather user:42 user:420 zeta"},
		{"prefix inside a pattern", "?prefix=orders.u", tok("orders.*"), "orders.us"},
		{"pattern inside a prefix", "?prefix=pub", "", "public.news public.weather"},
		{"prefix outside every pattern", "?prefix=zeta", tok("orders.*"), ""},
		{"paging across patterns", "?limit=2&after=orders.us", tok("orders.*", "user:42"), "public.news public.weather"},
		{"paging past an exact topic", "?limit=2&after=public.weather", tok("orders.*", "user:42"), "user:42"},
		{"token with no subscribe patterns", "", tok(), "public.news public.weather"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := s.getTopics(t, tt.query, tt.token)
			if got := a.names(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if *a.Head != 9 {
				t.Errorf("head: got %d, want 9", *a.Head)
			}
		})
	}

	t.Run("token in the query", func(t *testing.T) {
		if got, want := s.getTopics(t, "?token="+tok("zeta"), "").names(), "public.news public.weather zeta"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("a bad token is refused", func(t *testing.T) {
		bad := sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef0123456"), claims(nil, []string{"*"}, hour))
		for _, h := range []http.Header{{"Authorization": {"Bearer " + bad}}, {"Authorization": {"Basic x"}}} {
			status, _, b := do(t, "GET", s.URL+"/v1/topics", h, "")
			if status != http.StatusUnauthorized || !strings.Contains(string(b), `"unauthorized"`) {
				t.Errorf("got %d %s, want 401 unauthorized", status, b)
			}
		}
	})
}

func TestInfo(t *testing.T) {
	t.Parallel()
	for _, secret := range []bool{false, true} {
		var s *testServer
		if secret {
			s = newAuthServer(t, nil)
			s.appendTo(t, "a", "b")
		} else {
			s = newTestServer(t)
			s.publishN(t, "a", 2)
		}
		sub := s.openSSE(t, "/v1/topics/public.x/sse", nil)
		sub.nextBlock(t)
		s.waitActive(t, 1)
		status, _, b := do(t, "GET", s.URL+"/v1/info", nil, "")
		var info struct {
			Version     string `json:"version"`
			Head        int64  `json:"head"`
			Subscribers int    `json:"subscribers"`
			Open        bool   `json:"open"`
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&info); err != nil || status != 200 {
			t.Fatalf("GET /v1/info: got %d %s (%v), want 200 and the info object", status, b, err)
		}
		if info.Version == "" || info.Head != 2 || info.Subscribers != 1 || info.Open == secret {
			t.Errorf("secret %v: got %+v, want a version, head 2, 1 subscriber, open %v", secret, info, !secret)
		}
	}
}
