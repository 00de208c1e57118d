package handlers

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// TopicLister lists the topics with retained events; *store.Store is one
// (see store.Store.Topics for the contract every backend keeps).
type TopicLister interface {
	Topics(ctx context.Context, prefix, after string, limit int) ([]store.TopicInfo, int64, error)
}

// topics handles GET /v1/topics: the topics with retained events that the
// request may subscribe to, in name order, with ?prefix=, ?after= and
// ?limit= (1..1000, default 100).
func (s *Server) topics(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q := r.URL.RawQuery
	prefix, _ := queryValue(q, "prefix")
	if prefix != "" && !store.ValidTopic(prefix) {
		s.writeError(w, r, errorf(codeInvalidTopic, "prefix must be the beginning of a topic name: up to 128 of the characters A-Z a-z 0-9 _ . : -, starting with a letter, digit or underscore."))
		return
	}
	after, _ := queryValue(q, "after")
	if after != "" && !store.ValidTopic(after) {
		s.writeError(w, r, topicError(after))
		return
	}
	limit := 100
	if v, ok := queryValue(q, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.writeError(w, r, errorf(codeInvalidLimit, "limit is a whole number from 1 to 1000."))
			return
		}
		limit = n
	}
	scope, err := s.auth.SubscribeScope(bearer(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	var list []store.TopicInfo
	var head int64
	for _, rg := range scopeRanges(scope, prefix) {
		if len(list) == limit {
			break
		}
		if rg.exact && rg.prefix <= after {
			continue
		}
		n, a := limit-len(list), after
		if rg.exact {
			// The topic itself sorts first among the names it begins.
			n, a = 1, ""
		}
		got, h, err := s.store.Topics(r.Context(), rg.prefix, a, n)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		head = max(head, h)
		if rg.exact {
			got = slices.DeleteFunc(got, func(t store.TopicInfo) bool { return t.Topic != rg.prefix })
		}
		list = append(list, got...)
	}
	if head == 0 {
		// Nothing was asked of the store, or it is empty: the hub knows.
		head = s.hub.Head()
	}

	b := make([]byte, 0, 32+len(list)*128)
	b = append(b, `{"topics":[`...)
	for i, t := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"topic":`...)
		b = stream.AppendJSONString(b, t.Topic)
		b = append(b, `,"events":`...)
		b = strconv.AppendInt(b, t.Events, 10)
		b = append(b, `,"first_id":`...)
		b = strconv.AppendInt(b, t.FirstID, 10)
		b = append(b, `,"last_id":`...)
		b = strconv.AppendInt(b, t.LastID, 10)
		b = append(b, `,"last_time":"`...)
		b = t.LastTime.UTC().AppendFormat(b, stream.TimeFormat)
		b = append(b, `"}`...)
	}
	b = append(b, `],"head":`...)
	b = strconv.AppendInt(b, head, 10)
	b = append(b, "}\n"...)
	writeJSON(w, http.StatusOK, b)
}

// topicRange is the topics beginning with prefix, or with exact the topic
// prefix alone.
type topicRange struct {
	prefix string
	exact  bool
}

// scopeRanges narrows the patterns a request may subscribe to to the names
// beginning with prefix, as disjoint ranges in name order: listing them one
// after the other lists the allowed topics in name order, each once.
func scopeRanges(patterns []string, prefix string) []topicRange {
	var rs []topicRange
	for _, p := range patterns {
		if !auth.ValidPattern(p) {
			continue
		}
		if pp, ok := strings.CutSuffix(p, "*"); ok {
			switch {
			case strings.HasPrefix(pp, prefix):
				rs = append(rs, topicRange{prefix: pp})
			case strings.HasPrefix(prefix, pp):
				rs = append(rs, topicRange{prefix: prefix})
			}
		} else if strings.HasPrefix(p, prefix) {
			rs = append(rs, topicRange{prefix: p, exact: true})
		}
	}
	// A prefix range sorts before every name it covers (and before the
	// same name as an exact topic), so one pass drops what it covers.
	slices.SortFunc(rs, func(a, b topicRange) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		if a.exact == b.exact {
			return 0
		}
		if a.exact {
			return 1
		}
		return -1
	})
	var out []topicRange
	cover, covering := "", false
	for _, r := range rs {
		if covering && strings.HasPrefix(r.prefix, cover) {
			continue
		}
		if n := len(out); n > 0 && out[n-1] == r {
			continue
		}
		out = append(out, r)
		if !r.exact {
			cover, covering = r.prefix, true
		}
	}
	return out
}
