package streamtest

import (
	"net/http"
	"testing"
)

// Headers checks that h holds each header of want with exactly its value;
// an empty value wants the header absent.
func Headers(t testing.TB, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
}
