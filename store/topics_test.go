package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
)

// names renders a topic list as "topic:events:first-last" items.
func names(list []store.TopicInfo) string {
	var b strings.Builder
	for i, ti := range list {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d:%d-%d", ti.Topic, ti.Events, ti.FirstID, ti.LastID)
	}
	return b.String()
}

func TestTopics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := mustOpen(t, store.Options{MaxEventsPerTopic: 2})
	// ids: orders 1,2,5; room.a 3; room.b 4,6; user:1 7; room 8
	mustAppend(t, s, in("orders", "1"), in("orders", "2"))
	mustAppend(t, s, in("room.a", "3"))
	mustAppend(t, s, in("room.b", "4"))
	mustAppend(t, s, in("orders", "5"))
	mustAppend(t, s, in("room.b", "6"))
	mustAppend(t, s, in("user:1", "7"))
	mustAppend(t, s, in("room", "8"))

	tests := []struct {
		name          string
		prefix, after string
		limit         int
		want          string
	}{
		{"all in name order", "", "", 100, "orders:3:1-5 room:1:8-8 room.a:1:3-3 room.b:2:4-6 user:1:1:7-7"},
		{"limit", "", "", 2, "orders:3:1-5 room:1:8-8"},
		{"after", "", "room", 2, "room.a:1:3-3 room.b:2:4-6"},
		{"after a name that is not a topic", "", "p", 1, "room:1:8-8"},
		{"after the last", "", "user:1", 10, ""},
		{"prefix", "room", "", 10, "room:1:8-8 room.a:1:3-3 room.b:2:4-6"},
		{"prefix with a dot", "room.", "", 10, "room.a:1:3-3 room.b:2:4-6"},
		{"prefix and after", "room.", "room.a", 10, "room.b:2:4-6"},
		{"after below the prefix", "room.", "a", 10, "room.a:1:3-3 room.b:2:4-6"},
		{"prefix matching nothing", "zzz", "", 10, ""},
		{"whole name as prefix", "orders", "", 10, "orders:3:1-5"},
		{"zero limit", "", "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, head, err := s.Topics(ctx, tt.prefix, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(list); got != tt.want {
				t.Errorf("topics = %q, want %q", got, tt.want)
			}
			if head != 8 {
				t.Errorf("head = %d, want 8", head)
			}
		})
	}

	t.Run("last time is the commit time of the last event", func(t *testing.T) {
		res := mustAppend(t, s, in("timed", "1"))
		list, _, err := s.Topics(ctx, "timed", "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || !list[0].LastTime.Equal(res[0].Event.Time) || list[0].LastTime.Location() != time.UTC {
			t.Fatalf("got %+v, want last time %v in UTC", list, res[0].Event.Time)
		}
	})
}

func TestTopicsAfterPruning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := mustOpen(t, store.Options{MaxEventsPerTopic: 2})
	for i := range 5 {
		mustAppend(t, s, in("capped", fmt.Sprint(i)))
	}
	if n, err := s.Prune(ctx); err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want 3", n, err)
	}
	list, head, err := s.Topics(ctx, "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(list), "capped:2:4-5"; got != want || head != 5 {
		t.Fatalf("topics = %q head %d, want %q head 5", got, head, want)
	}

	t.Run("a topic with nothing retained is not listed", func(t *testing.T) {
		s, _ := mustOpen(t, store.Options{Retention: time.Millisecond})
		mustAppend(t, s, in("gone", "1"), in("gone", "2"))
		waitPruned(t, s, 2)
		list, head, err := s.Topics(ctx, "", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 0 || head != 2 {
			t.Fatalf("topics = %q head %d, want none and head 2", names(list), head)
		}
	})
}

func TestTopicsEmptyStore(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	list, head, err := s.Topics(context.Background(), "", "", 100)
	if err != nil || len(list) != 0 || head != 0 {
		t.Fatalf("got %v head %d err %v, want nothing, head 0", list, head, err)
	}
}
