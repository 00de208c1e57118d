package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tidings/tidings/client"
)

func TestNewRejectsBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "localhost:8080", "ftp://x", "http://", "://"} {
		if _, err := client.New(u, client.Options{}); err == nil {
			t.Errorf("New(%q): got no error, want one", u)
		}
	}
}

func TestPublish(t *testing.T) {
	t.Parallel()
	cfg := fastConfig
	cfg.MaxEventBytes = 100
	srv := startServer(t, cfg)
	c := newClient(t, srv.URL+"/", client.Options{})
	ctx := context.Background()

	t.Run("raw JSON is sent as it is", func(t *testing.T) {
		p, err := c.Publish(ctx, "raw", json.RawMessage(`{"a": [1, 2]}`), client.PublishOptions{Type: "x.y"})
		if err != nil {
			t.Fatal(err)
		}
		if p.ID <= 0 || p.Topic != "raw" || p.Type != "x.y" || p.Time.IsZero() || p.Duplicate {
			t.Errorf("got %+v, want a stored x.y event on raw", p)
		}
		if !json.Valid(p.Raw) || !strings.Contains(string(p.Raw), `"topic":"raw"`) {
			t.Errorf("Raw = %s, want the server's object", p.Raw)
		}
		sub := c.Subscribe(ctx, []string{"raw"}, client.After(p.ID-1))
		defer sub.Close()
		ev, err := sub.Next()
		if err != nil {
			t.Fatal(err)
		}
		if string(ev.Data) != `{"a":[1,2]}` || ev.ID != p.ID || !ev.Time.Equal(p.Time) {
			t.Errorf("got %d %s %v, want %d {\"a\":[1,2]} %v", ev.ID, ev.Data, ev.Time, p.ID, p.Time)
		}
	})
	t.Run("nil is null", func(t *testing.T) {
		p, err := c.Publish(ctx, "nil", nil, client.PublishOptions{})
		if err != nil || p.Type != "message" {
			t.Fatalf("got %+v, %v; want a message", p, err)
		}
	})

	errs := []struct {
		name   string
		topic  string
		data   any
		opts   client.PublishOptions
		status int
		code   string
	}{
		{"bad topic", "a/b", 1, client.PublishOptions{}, http.StatusNotFound, "not_found"},
		{"bad topic characters", "a b", 1, client.PublishOptions{}, http.StatusBadRequest, "invalid_topic"},
		{"reserved type", "t", 1, client.PublishOptions{Type: "tidings.cursor"}, http.StatusBadRequest, "invalid_type"},
		{"too large", "t", strings.Repeat("x", 200), client.PublishOptions{}, http.StatusRequestEntityTooLarge, "too_large"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Publish(ctx, tt.topic, tt.data, tt.opts)
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a *client.Error", err)
			}
			if e.Status != tt.status || e.Code != tt.code || e.Message == "" {
				t.Errorf("got %d %q %q, want %d %q and a message", e.Status, e.Code, e.Message, tt.status, tt.code)
			}
			if e.Temporary() {
				t.Errorf("%v is Temporary, want not", e)
			}
		})
	}
	t.Run("unencodable data", func(t *testing.T) {
		if _, err := c.Publish(ctx, "t", func() {}, client.PublishOptions{}); err == nil {
			t.Fatal("got no error, want one")
		}
	})
}

func TestPublishBatch(t *testing.T) {
	t.Parallel()
	srv := startServer(t, fastConfig)
	c := newClient(t, srv.URL, client.Options{})
	ctx := context.Background()
	msgs := []client.Message{
		{Topic: "a", Data: 1, Key: "k1"},
		{Topic: "b", Data: "two", Type: "t2"},
		{Topic: "a", Data: 3, Key: "k1"}, // the same key in one batch: one event
	}
	got, err := c.PublishBatch(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d answers, want 3", len(got))
	}
	if got[0].Duplicate || got[1].Duplicate || !got[2].Duplicate || got[2].ID != got[0].ID {
		t.Errorf("got %+v, want the third entry a duplicate of the first", got)
	}
	if got[1].Type != "t2" || got[1].Topic != "b" {
		t.Errorf("got %+v, want t2 on b", got[1])
	}

	_, err = c.PublishBatch(ctx, nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		t.Errorf("empty batch: got %v, want a 400 *client.Error", err)
	}
}
