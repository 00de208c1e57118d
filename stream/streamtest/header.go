package streamtest

import (
	"net/http"
	"testing"
)

// Answer checks an HTTP answer: its status, failing the test at once on
// another, and each header of headers, which must have exactly its value;
// an empty value wants the header absent.
func Answer(t testing.TB, res *http.Response, status int, headers map[string]string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status: got %d, want %d", res.StatusCode, status)
	}
	for k, want := range headers {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
}
