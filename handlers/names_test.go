package handlers_test

import (
	"net/http"
	"strings"
	"testing"
)

// A topic holding an encoded slash is an invalid topic on every route,
// not an unknown route.
func TestEncodedSlashIsInvalidTopic(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	json := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/topics/a%2Fb/events", `{"data":1}`},
		{"POST", "/v1/topics/a%2fb/events", `{"data":1}`},
		{"GET", "/v1/topics/a%2Fb/poll?timeout=0", ""},
		{"GET", "/v1/topics/ok,a%2Fb/poll?timeout=0", ""},
		{"GET", "/v1/topics/a%2Fb/sse", ""},
	} {
		status, h, body := do(t, tc.method, ts.URL+tc.path, json, tc.body)
		if status != http.StatusBadRequest || errorBody(t, h, body) != "invalid_topic" {
			t.Errorf("%s %s: got %d %s, want 400 invalid_topic", tc.method, tc.path, status, body)
		}
	}
	if got := ts.head(t); got != 0 {
		t.Errorf("head: got %d, want 0 (nothing stored)", got)
	}
}

// An explicit empty type is refused, on single and batch publishes; an
// absent one is the default.
func TestEmptyTypeIsRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	json := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct{ path, body string }{
		{"/v1/topics/a/events", `{"data":1,"type":""}`},
		{"/v1/events", `{"events":[{"topic":"a","data":1},{"topic":"a","data":1,"type":""}]}`},
	} {
		status, h, body := do(t, "POST", ts.URL+tc.path, json, tc.body)
		if status != http.StatusBadRequest || errorBody(t, h, body) != "invalid_type" {
			t.Errorf("POST %s %s: got %d %s, want 400 invalid_type", tc.path, tc.body, status, body)
		}
	}
	if got := ts.head(t); got != 0 {
		t.Errorf("head: got %d, want 0 (nothing stored)", got)
	}
	if p := ts.publish(t, "a", `{"data":1}`); p.Type != "message" {
		t.Errorf("absent type: got %q, want message", p.Type)
	}
	status, _, body := do(t, "POST", ts.URL+"/v1/topics/a/events", json, `{"data":1,"type":null}`)
	if status != http.StatusCreated || !strings.Contains(string(body), `"type":"message"`) {
		t.Errorf("type null: got %d %s, want 201 with the default type", status, body)
	}
}
