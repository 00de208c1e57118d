package handlers_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tidings/tidings/server"
)

// TestErrors walks every error of docs/api.md "Errors" that the open API can
// answer: each has its status and a {"error":{"code","message"}} body, and
// none stores anything.
func TestErrors(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, smallLimits)
	s.publish(t, "a", `{"data":0}`)

	many := strings.TrimSuffix(strings.Repeat("t,", 65), ",")
	long := strings.Repeat("x", 129)
	jsonType := http.Header{"Content-Type": {"application/json"}}
	type tc struct {
		name    string
		method  string
		path    string
		header  http.Header
		body    string
		status  int
		code    string
		chunked bool // send the body without a Content-Length
	}
	cases := []tc{
		// 400: topics.
		{name: "publish topic with a space", method: "POST", path: "/v1/topics/a%20b/events", body: `{"data":1}`, status: 400, code: "invalid_topic"},
		{name: "publish topic starting with a dot", method: "POST", path: "/v1/topics/.a/events", body: `{"data":1}`, status: 400, code: "invalid_topic"},
		{name: "publish topic of 129 bytes", method: "POST", path: "/v1/topics/" + long + "/events", body: `{"data":1}`, status: 400, code: "invalid_topic"},
		{name: "publish to a topic list", method: "POST", path: "/v1/topics/a,b/events", body: `{"data":1}`, status: 400, code: "invalid_topic"},
		{name: "publish topic not ASCII", method: "POST", path: "/v1/topics/caf%C3%A9/events", body: `{"data":1}`, status: 400, code: "invalid_topic"},
		{name: "poll empty topic in list", path: "/v1/topics/a,,b/poll?timeout=0", status: 400, code: "invalid_topic"},
		{name: "sse topic starting with a dash", path: "/v1/topics/-a/sse", status: 400, code: "invalid_topic"},
		{name: "poll 65 topics", path: "/v1/topics/" + many + "/poll?timeout=0", status: 400, code: "invalid_topic"},
		{name: "sse 65 topics", path: "/v1/topics/" + many + "/sse", status: 400, code: "invalid_topic"},
		// 400: an encoded slash is an invalid topic on every route, not an
		// unknown route.
		{name: "publish topic with an encoded slash", method: "POST", path: "/v1/topics/a%2Fb/events", body: `{"data":1}`, status: 400, code: "invalid_topic"},
		{name: "publish topic with a lower-case encoded slash", method: "POST", path: "/v1/topics/a%2fb/events", body: `{"data":1}`, status: 400, code: "invalid_topic"},
		{name: "poll topic with an encoded slash", path: "/v1/topics/a%2Fb/poll?timeout=0", status: 400, code: "invalid_topic"},
		{name: "poll list with an encoded slash", path: "/v1/topics/ok,a%2Fb/poll?timeout=0", status: 400, code: "invalid_topic"},
		{name: "sse topic with an encoded slash", path: "/v1/topics/a%2Fb/sse", status: 400, code: "invalid_topic"},
		// 400: types.
		{name: "type with a space", method: "POST", path: "/v1/topics/a/events", body: `{"data":1,"type":"a b"}`, status: 400, code: "invalid_type"},
		{name: "type of 65 bytes", method: "POST", path: "/v1/topics/a/events", body: `{"data":1,"type":"` + strings.Repeat("t", 65) + `"}`, status: 400, code: "invalid_type"},
		{name: "reserved type", method: "POST", path: "/v1/topics/a/events", body: `{"data":1,"type":"tidings.cursor"}`, status: 400, code: "invalid_type"},
		{name: "reserved type upper case", method: "POST", path: "/v1/topics/a/events", body: `{"data":1,"type":"TIDINGS.reset"}`, status: 400, code: "invalid_type"},
		{name: "reserved type mixed case", method: "POST", path: "/v1/topics/a/events", body: `{"data":1,"type":"TiDiNgS.anything"}`, status: 400, code: "invalid_type"},
		{name: "type not a string", method: "POST", path: "/v1/topics/a/events", body: `{"data":1,"type":5}`, status: 400},
		{name: "empty type", method: "POST", path: "/v1/topics/a/events", body: `{"data":1,"type":""}`, status: 400, code: "invalid_type"},
		{name: "batch entry with an empty type", method: "POST", path: "/v1/events", body: `{"events":[{"topic":"a","data":1},{"topic":"a","data":1,"type":""}]}`, status: 400, code: "invalid_type"},
		// 400: keys.
		{name: "key with a line break", method: "POST", path: "/v1/topics/a/events", body: `{"data":1,"key":"a\nb"}`, status: 400, code: "invalid_key"},
		// 400: bodies.
		{name: "array body", method: "POST", path: "/v1/topics/a/events", body: `[{"data":1}]`, status: 400},
		{name: "string body", method: "POST", path: "/v1/topics/a/events", body: `"data"`, status: 400},
		{name: "number body", method: "POST", path: "/v1/topics/a/events", body: `1`, status: 400},
		{name: "empty body", method: "POST", path: "/v1/topics/a/events", status: 400},
		{name: "invalid JSON", method: "POST", path: "/v1/topics/a/events", body: `{"data":`, status: 400},
		{name: "two objects", method: "POST", path: "/v1/topics/a/events", body: `{"data":1}{"data":2}`, status: 400},
		{name: "unknown field", method: "POST", path: "/v1/topics/a/events", body: `{"data":1,"extra":true}`, status: 400},
		{name: "missing data", method: "POST", path: "/v1/topics/a/events", body: `{"type":"x"}`, status: 400},
		{name: "empty object", method: "POST", path: "/v1/topics/a/events", body: `{}`, status: 400},
		{name: "batch array body", method: "POST", path: "/v1/events", body: `[]`, status: 400},
		{name: "batch unknown field", method: "POST", path: "/v1/events", body: `{"events":[{"topic":"a","data":1}],"x":1}`, status: 400},
		// 404 and 405.
		{name: "unknown route", path: "/nope", status: 404, code: "not_found"},
		{name: "topic without transport", path: "/v1/topics/a", status: 404, code: "not_found"},
		{name: "unknown transport", path: "/v1/topics/a/ws", status: 404, code: "not_found"},
		{name: "trailing slash", path: "/v1/topics/a/sse/", status: 404, code: "not_found"},
		{name: "GET the publish route", path: "/v1/topics/a/events", status: 405, code: "method_not_allowed"},
		{name: "DELETE the publish route", method: "DELETE", path: "/v1/topics/a/events", status: 405, code: "method_not_allowed"},
		{name: "POST the sse route", method: "POST", path: "/v1/topics/a/sse", body: `{}`, status: 405, code: "method_not_allowed"},
		{name: "PUT the batch route", method: "PUT", path: "/v1/events", body: `{}`, status: 405, code: "method_not_allowed"},
		// 413.
		{name: "data over MaxEventBytes", method: "POST", path: "/v1/topics/a/events", body: `{"data":"` + strings.Repeat("x", 1100) + `"}`, status: 413, code: "too_large"},
		{name: "body over MaxRequestBytes", method: "POST", path: "/v1/topics/a/events", body: `{"data":1,"type":"x","key":"` + strings.Repeat("k", 5000) + `"}`, status: 413, code: "too_large"},
		{name: "chunked body over MaxRequestBytes", method: "POST", path: "/v1/events", body: batchOf(200, -1, ""), status: 413, code: "too_large", chunked: true},
		// 415.
		{name: "text/plain", method: "POST", path: "/v1/topics/a/events", header: http.Header{"Content-Type": {"text/plain"}}, body: `{"data":1}`, status: 415, code: "unsupported_media_type"},
		{name: "form", method: "POST", path: "/v1/events", header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, body: `events=1`, status: 415, code: "unsupported_media_type"},
		{name: "malformed content type", method: "POST", path: "/v1/topics/a/events", header: http.Header{"Content-Type": {"application/json; ="}}, body: `{"data":1}`, status: 415, code: "unsupported_media_type"},
		{name: "json suffix outside application", method: "POST", path: "/v1/topics/a/events", header: http.Header{"Content-Type": {"text/x+json"}}, body: `{"data":1}`, status: 415, code: "unsupported_media_type"},
	}
	// 400: cursors, from each of the three places, on both transports.
	for _, bad := range []string{"-1", "abc", "1e99", "9223372036854775808", "1.0", "0x10", "+1", "99999999999999999999"} {
		for _, route := range []string{"poll", "sse"} {
			p := "/v1/topics/a/" + route
			cases = append(cases,
				tc{name: route + " cursor=" + bad, path: p + "?cursor=" + url.QueryEscape(bad), status: 400, code: "invalid_cursor"},
				tc{name: route + " lastEventId=" + bad, path: p + "?lastEventId=" + url.QueryEscape(bad), status: 400, code: "invalid_cursor"},
				tc{name: route + " Last-Event-ID " + bad, path: p, header: http.Header{"Last-Event-ID": {bad}}, status: 400, code: "invalid_cursor"},
			)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			method := c.method
			if method == "" {
				method = "GET"
			}
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
				if c.chunked {
					body = io.MultiReader(body) // hides the length
				}
			}
			req, err := http.NewRequestWithContext(t.Context(), method, s.URL+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if c.header == nil && c.body != "" {
				req.Header = jsonType.Clone()
			}
			for k, v := range c.header {
				req.Header[k] = v
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != c.status {
				t.Errorf("status: got %d (%s), want %d", res.StatusCode, b, c.status)
			}
			code := errorBody(t, res.Header, b)
			if c.code != "" && code != c.code {
				t.Errorf("code: got %q, want %q", code, c.code)
			}
			if c.status == 405 && res.Header.Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
	// Cleanup runs once the parallel subtests are done.
	t.Cleanup(func() {
		if h := s.head(t); h != 1 {
			t.Errorf("head after only failed publishes: got %d, want 1", h)
		}
	})
}

// smallLimits sets size limits a test can reach, for TestErrors to cross
// and TestLimitsAreInclusive to meet: events of 1 KiB, requests of 4 KiB.
func smallLimits(c *server.Config) {
	c.MaxEventBytes = 1024
	c.MaxRequestBytes = 4096
}

// Requests that are fine at the edges of the limits.
func TestLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, smallLimits)
	t.Run("data of exactly MaxEventBytes", func(t *testing.T) {
		s.publish(t, "a", `{"data":"`+strings.Repeat("x", 1022)+`"}`)
	})
	t.Run("body of exactly MaxRequestBytes", func(t *testing.T) {
		s.publish(t, "a", `{"data":[`+strings.Repeat(" ", 4096-len(`{"data":[1]}`))+`1]}`)
	})
	t.Run("data that compacts under the limit", func(t *testing.T) {
		s.publish(t, "a", `{"data":[`+strings.Repeat(" ", 2000)+`1]}`)
	})
	t.Run("64 topics", func(t *testing.T) {
		s.poll(t, strings.TrimSuffix(strings.Repeat("t,", 64), ","), "?timeout=0")
		var sb strings.Builder
		for i := range 64 {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("t" + strings.Repeat("x", i))
		}
		s.poll(t, sb.String(), "?timeout=0")
	})
	t.Run("topic of 128 bytes", func(t *testing.T) {
		s.publish(t, strings.Repeat("x", 128), `{"data":1}`)
	})
	t.Run("type of 64 bytes", func(t *testing.T) {
		s.publish(t, "a", `{"data":1,"type":"`+strings.Repeat("t", 64)+`"}`)
	})
	t.Run("largest cursor", func(t *testing.T) {
		a, _ := s.poll(t, "a", "?timeout=0&cursor=9223372036854775807")
		if a.ResetReason != "cursor_ahead" {
			t.Errorf("got %+v, want a cursor_ahead reset", a)
		}
	})
}
