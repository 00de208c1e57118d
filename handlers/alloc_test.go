package handlers

import (
	"bytes"
	"net/http"
	"testing"
)

// headerOnly is a ResponseWriter that keeps its header map and discards
// the rest.
type headerOnly http.Header

func (w headerOnly) Header() http.Header         { return http.Header(w) }
func (w headerOnly) WriteHeader(int)             {}
func (w headerOnly) Write(b []byte) (int, error) { return len(b), nil }

// TestWriteJSONNoAllocs guards why writeJSON assigns its canonical header
// values instead of calling Set: every JSON answer's headers cost nothing.
func TestWriteJSONNoAllocs(t *testing.T) {
	w := headerOnly{}
	body := []byte(`{"status":"ok"}` + "\n")
	if n := testing.AllocsPerRun(100, func() { writeJSON(w, http.StatusOK, body) }); n != 0 {
		t.Errorf("writeJSON allocates %v times, want 0", n)
	}
	if got := http.Header(w).Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
}

// TestQueryValueNoAllocs guards why a subscription reads its parameters
// with queryValue rather than r.URL.Query(): no map is built, and an
// unescaped value is a slice of the query.
func TestQueryValueNoAllocs(t *testing.T) {
	const raw = "cursor=41&max_duration=30&token=abc.def.ghi"
	for _, key := range []string{"cursor", "token", "lastEventId"} {
		if n := testing.AllocsPerRun(100, func() { queryValue(raw, key) }); n != 0 {
			t.Errorf("queryValue(%q) allocates %v times, want 0", key, n)
		}
	}
}

// TestReadBodyOneAllocation guards why readBody sizes its buffer from a
// small announced length: the body is read in one allocation.
func TestReadBodyOneAllocation(t *testing.T) {
	body := []byte(`{"data":{"text":"hello"}}`)
	var got []byte
	rd := bytes.NewReader(nil)
	if n := testing.AllocsPerRun(100, func() {
		rd.Reset(body)
		got, _ = readBody(rd, int64(len(body)))
	}); n != 1 {
		t.Errorf("readBody allocates %v times, want 1", n)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("readBody = %q, want %q", got, body)
	}
}
