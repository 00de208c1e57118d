package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tidings/tidings/store"
)

// MaxTopics is the largest number of topics one subscription may name.
const MaxTopics = 64

// validType reports whether s matches ^[A-Za-z0-9_.:-]{1,64}$.
func validType(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// reservedType reports whether t is kept for the server's control blocks.
func reservedType(t string) bool {
	return len(t) >= len("tidings.") && strings.EqualFold(t[:len("tidings.")], "tidings.")
}

// checkType validates a publish's type, returning the default when it is
// absent (nil); an explicit "" is refused like any other invalid type.
func checkType(tp *string) (string, *Error) {
	if tp == nil {
		return "message", nil
	}
	t := *tp
	if !validType(t) {
		return "", errorf(codeInvalidType, "An event type is 1 to 64 of the characters A-Z a-z 0-9 _ . : -.")
	}
	if reservedType(t) {
		return "", errorf(codeInvalidType, "Event types beginning with \"tidings.\" are reserved for the server.")
	}
	return t, nil
}

// checkKey validates an idempotency key: 1..256 bytes of printable ASCII.
func checkKey(k string) *Error {
	if len(k) > 256 {
		return errorf(codeInvalidKey, "An idempotency key is at most 256 characters.")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return errorf(codeInvalidKey, "An idempotency key holds printable ASCII characters only.")
		}
	}
	return nil
}

func topicError(t string) *Error {
	return errorf(codeInvalidTopic, "%s is not a valid topic: a topic is 1 to 128 of the characters A-Z a-z 0-9 _ . : - and starts with a letter, digit or underscore.", strconv.QuoteToASCII(truncate(t, 140)))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// parseTopics splits a comma-separated list of 1..MaxTopics valid topics,
// dropping repeats.
func parseTopics(s string) ([]string, *Error) {
	if s == "" {
		return nil, errorf(codeInvalidTopic, "Name at least one topic.")
	}
	n := strings.Count(s, ",") + 1
	if n > MaxTopics {
		return nil, errorf(codeInvalidTopic, "A subscription names at most %d topics; this one names %d.", MaxTopics, n)
	}
	topics := make([]string, 0, n)
	for t := range strings.SplitSeq(s, ",") {
		if !store.ValidTopic(t) {
			return nil, topicError(t)
		}
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	return topics, nil
}

// parseID parses a cursor: a decimal int64 ≥ 0, digits only.
func parseID(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseCursor reads the starting cursor from Last-Event-ID, then the
// cursor query parameter, then lastEventId. fromNow is true when none is
// given.
func parseCursor(r *http.Request) (cursor int64, fromNow bool, err *Error) {
	var v, from string
	if h := r.Header.Get("Last-Event-ID"); h != "" {
		v, from = h, "The Last-Event-ID header"
	} else if c, ok := queryValue(r.URL.RawQuery, "cursor"); ok {
		v, from = c, "The cursor parameter"
	} else if c, ok := queryValue(r.URL.RawQuery, "lastEventId"); ok {
		v, from = c, "The lastEventId parameter"
	} else {
		return 0, true, nil
	}
	n, ok := parseID(v)
	if !ok {
		return 0, false, errorf(codeInvalidCursor, "%s must be an event id: a whole number from 0 to 9223372036854775807.", from)
	}
	return n, false, nil
}

// queryValue returns the first value of key in a raw query, as
// url.Values.Get would after url.ParseQuery (pairs with a bad escape or a
// semicolon are skipped), without building the map: a request
// needs two or three parameters, and the map costs allocations and stack
// on every subscription.
func queryValue(raw, key string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(k, "%+") {
			if u, err := url.QueryUnescape(k); err != nil || u != key {
				continue
			}
		} else if k != key {
			continue
		}
		if !strings.ContainsAny(v, "%+") {
			return v, true
		}
		u, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		return u, true
	}
	return "", false
}
