package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tidings/tidings/store"
)

var (
	topicRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$`)
	typeRE  = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
)

// FuzzTopic checks the hand-written validators against the contract's
// regular expressions, and the list parser against its rules.
func FuzzTopic(f *testing.F) {
	for _, s := range []string{"orders", "user:42", "room.lobby", "a,b", ".x", "_", "é", "a/b", strings.Repeat("a", 129), "a,,b", "tidings.cursor"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := store.ValidTopic(s), topicRE.MatchString(s); got != want {
			t.Fatalf("store.ValidTopic(%q) = %v, want %v", s, got, want)
		}
		if got, want := validType(s), typeRE.MatchString(s); got != want {
			t.Fatalf("validType(%q) = %v, want %v", s, got, want)
		}
		topics, err := parseTopics(s)
		if err != nil {
			return
		}
		if len(topics) == 0 || len(topics) > MaxTopics {
			t.Fatalf("parseTopics(%q) = %d topics", s, len(topics))
		}
		seen := map[string]bool{}
		for _, tp := range topics {
			if !topicRE.MatchString(tp) || seen[tp] {
				t.Fatalf("parseTopics(%q) returned %q", s, topics)
			}
			seen[tp] = true
		}
	})
}

// FuzzCursor checks that a cursor is accepted exactly when it is a
// decimal int64 ≥ 0 written with digits only, and is parsed to its value.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"0", "42", "-1", "+1", "abc", "1e99", "9223372036854775807", "9223372036854775808", " 1", "01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseID(s)
		digits := s != "" && strings.Trim(s, "0123456789") == ""
		v, err := strconv.ParseInt(s, 10, 64)
		want := digits && err == nil
		if ok != want || ok && n != v {
			t.Fatalf("parseID(%q) = %d %v, want %d %v", s, n, ok, v, want)
		}
		// Through a request, every source agrees with parseID.
		for _, r := range []*httptestRequest{
			{query: "cursor=" + url.QueryEscape(s)},
			{query: "lastEventId=" + url.QueryEscape(s)},
			{header: s},
		} {
			req := httptest.NewRequest("GET", "/v1/topics/a/poll?"+r.query, nil)
			if r.header != "" {
				if strings.ContainsAny(r.header, "\r\n\x00") {
					continue // not a header a client can send
				}
				req.Header.Set("Last-Event-ID", r.header)
			}
			c, fromNow, perr := parseCursor(req)
			if r.header == "" && r.query == "cursor=" || r.header == "" && r.query == "lastEventId=" {
				continue // an empty parameter is refused or absent; see TestParseCursor
			}
			if (perr == nil) != (ok || fromNow) || perr == nil && !fromNow && c != n {
				t.Fatalf("parseCursor(%+v) = %d %v %v; parseID = %d %v", r, c, fromNow, perr, n, ok)
			}
		}
	})
}

type httptestRequest struct{ query, header string }

// FuzzQueryValue checks the map-free lookup against url.ParseQuery.
func FuzzQueryValue(f *testing.F) {
	for _, raw := range []string{"cursor=5&timeout=0", "a=1&a=2", "cursor=%zz&cursor=3", "x;y=1&cursor=2", "cur%73or=7", "token=a+b%2Bc", "=&&cursor"} {
		f.Add(raw, "cursor")
	}
	f.Fuzz(func(t *testing.T, raw, key string) {
		if key == "" || strings.Count(raw, "&") > 1000 {
			return
		}
		got, ok := queryValue(raw, key)
		vals, _ := url.ParseQuery(raw)
		if want, wantOK := vals.Get(key), vals.Has(key); got != want || ok != wantOK {
			t.Fatalf("queryValue(%q, %q) = %q %v, want %q %v", raw, key, got, ok, want, wantOK)
		}
	})
}

// FuzzParsePublishFast checks the reflection-free reader against
// encoding/json: whatever it accepts, encoding/json decodes (with unknown
// fields refused) to the same values; and data it keeps as it came is
// what json.Compact makes of it.
func FuzzParsePublishFast(f *testing.F) {
	for _, s := range []string{
		`{"data":{"t":1}}`, ` { "data" : [1, 2] , "type":"a.b", "key":"k" } `, `{"data":null}`,
		`{}`, `{"data":"x\"y"}`, `{"Data":1}`, `{"data":1,"data":2}`, `{"data":1} {}`,
		`{"type":"\u0041","data":1}`, `{"data":{"a":"}"}}`, `{"data":tru}`, `{"data":1,}`,
		`{"data":"é"}`, `{"data":[{"a":[1,{"b":null}]},"]"]}`, `{"type":null,"data":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parsePublishFast(b)
		if ok {
			var want struct {
				Data json.RawMessage `json:"data"`
				Type *string         `json:"type"`
				Key  string          `json:"key"`
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&want); err != nil {
				t.Fatalf("fast reader accepted %q, encoding/json: %v", b, err)
			}
			if _, err := dec.Token(); err != io.EOF {
				t.Fatalf("fast reader accepted %q with more after the object", b)
			}
			if !bytes.Equal(got.Data, want.Data) || (got.Type == nil) != (want.Type == nil) || got.Type != nil && *got.Type != *want.Type || got.Key != want.Key {
				t.Fatalf("%q: fast %q %v %q, encoding/json %q %v %q", b, got.Data, got.Type, got.Key, want.Data, want.Type, want.Key)
			}
		}
		if isCompact(b) && json.Valid(b) {
			var buf bytes.Buffer
			if err := json.Compact(&buf, b); err != nil || !bytes.Equal(buf.Bytes(), b) {
				t.Fatalf("%q counted as compact, json.Compact gives %q (%v)", b, buf.Bytes(), err)
			}
		}
	})
}
