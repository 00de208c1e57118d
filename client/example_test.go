package client_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidings/tidings/client"
)

func Example_publish() {
	url, stop := exampleServer() // a tidings server, e.g. "http://localhost:8080"
	defer stop()

	c, err := client.New(url, client.Options{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	ev, err := c.Publish(ctx, "orders", map[string]any{"order": 7, "total": 12.5},
		client.PublishOptions{Type: "order.paid", Key: "order-7-paid"})
	if err != nil {
		panic(err)
	}
	fmt.Println(ev.ID, ev.Topic, ev.Type, ev.Duplicate)

	// The same key again stores nothing and answers the original event.
	again, err := c.Publish(ctx, "orders", map[string]any{"order": 7, "total": 12.5},
		client.PublishOptions{Type: "order.paid", Key: "order-7-paid"})
	if err != nil {
		panic(err)
	}
	fmt.Println(again.ID, again.Duplicate)

	// The server's JSON errors come back as *client.Error.
	_, err = c.Publish(ctx, "no spaces", "hi", client.PublishOptions{})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
	// Output:
	// 1 orders order.paid false
	// 1 true
	// 400 invalid_topic
}

func ExampleClient_PublishBatch() {
	url, stop := exampleServer()
	defer stop()

	c, _ := client.New(url, client.Options{})
	res, err := c.PublishBatch(context.Background(), []client.Message{
		{Topic: "room.lobby", Data: "hello"},
		{Topic: "user:42", Data: map[string]int{"unread": 3}, Type: "inbox"},
	})
	if err != nil {
		panic(err)
	}
	for _, p := range res {
		fmt.Println(p.ID, p.Topic, p.Type)
	}
	// Output:
	// 1 room.lobby message
	// 2 user:42 inbox
}

func ExampleClient_Subscribe() {
	url, stop := exampleServer()
	defer stop()

	c, _ := client.New(url, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 1; i <= 3; i++ {
		c.Publish(ctx, "user:42", map[string]int{"n": i}, client.PublishOptions{})
	}

	// After(0): everything still retained. Keep sub.Cursor() to resume
	// later; client.FromNow() would start at the server's head instead.
	sub := c.Subscribe(ctx, []string{"user:42", "room.lobby"}, client.After(0))
	defer sub.Close()
	for range 3 {
		ev, err := sub.Next()
		var reset *client.Reset
		switch {
		case errors.As(err, &reset):
			fmt.Println("re-read the state, then go on from", reset.Cursor)
			continue
		case err != nil:
			panic(err)
		}
		fmt.Println(ev.ID, ev.Topic, string(ev.Data))
	}
	fmt.Println("cursor", sub.Cursor())
	// Output:
	// 1 user:42 {"n":1}
	// 2 user:42 {"n":2}
	// 3 user:42 {"n":3}
	// cursor 3
}

func ExampleSubscription_All() {
	url, stop := exampleServer()
	defer stop()

	c, _ := client.New(url, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.Publish(ctx, "orders", "first", client.PublishOptions{})
	c.Publish(ctx, "orders", "second", client.PublishOptions{})

	// A cursor beyond the server's head (a restored store) is reset.
	sub := c.Subscribe(ctx, []string{"orders"}, client.After(100))
	defer sub.Close()
	n := 0
	for ev, err := range sub.All() {
		var reset *client.Reset
		if errors.As(err, &reset) {
			fmt.Println("reset:", reset.Reason, reset.Cursor)
			// Re-read the state here. Then events after the reset cursor follow.
			c.Publish(ctx, "orders", "third", client.PublishOptions{})
			continue
		}
		if err != nil {
			panic(err)
		}
		fmt.Println(ev.ID, string(ev.Data))
		if n++; n == 1 {
			break
		}
	}
	// Output:
	// reset: cursor_ahead 2
	// 3 "third"
}
