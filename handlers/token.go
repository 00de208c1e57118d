package handlers

import (
	"net/http"
	"strings"
)

// bearer returns the request's token from the Authorization header, else
// from the token query parameter (browsers' EventSource cannot set
// headers); "" when none is sent.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return "\x00invalid" // a header that is not a bearer token is a bad token
	}
	tok, _ := queryValue(r.URL.RawQuery, "token")
	return tok
}
