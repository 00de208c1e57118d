package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestTopicsQuerySeeks checks that listing topics never scans a table or
// an index: every step is a seek, so the cost follows what is returned.
func TestTopicsQuerySeeks(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "tidings.db"), Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close(context.Background())
	rows, err := s.rdb.Query(`EXPLAIN QUERY PLAN `+topicsQuery, "a", "", "a"+topicsBound, 10)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("scan plan: %v", err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read plan: %v", err)
	}
	searches := 0
	for _, step := range plan {
		// The only scans allowed are of the recursive names themselves
		// (one row per returned topic) and of the constant seed row.
		if strings.HasPrefix(step, "SCAN ") && step != "SCAN names" && step != "SCAN n" && step != "SCAN CONSTANT ROW" {
			t.Errorf("plan step %q scans; want seeks only\nplan:\n%s", step, strings.Join(plan, "\n"))
		}
		if strings.HasPrefix(step, "SEARCH ") {
			searches++
		}
	}
	if searches < 5 {
		t.Errorf("got %d index searches, want at least 5\nplan:\n%s", searches, strings.Join(plan, "\n"))
	}
}
