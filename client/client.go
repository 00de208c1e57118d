// Package client is the Go client of a tidings server: it publishes events
// and follows topics over bounded Server-Sent Events, resuming by cursor
// across the end of every response, network failures and server restarts,
// so a subscriber sees every event of its topics once, in id order.
//
// A subscription reconnects on its own: at once after a response that
// ended cleanly at its maximum duration, after the server's retry: hint
// when the server is shutting down or overloaded, and with exponential
// backoff and jitter after a failure. It never hands out an id at or below
// its cursor. When the server cannot honour the cursor (the events after it
// were pruned, or the store was replaced), Next returns a *Reset before the
// events that follow, so the application can re-read its state.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultRetry       = time.Second
	DefaultMaxBackoff  = 30 * time.Second
	DefaultIdleTimeout = 60 * time.Second
)

// Options configure a Client. The zero value works.
type Options struct {
	// HTTPClient sends every request; nil uses a client without an overall
	// timeout (streams last up to the server's maximum duration). Its
	// Timeout, if any, must be longer than the streams.
	HTTPClient *http.Client
	// Token, if set, is sent as "Authorization: Bearer <token>".
	Token string
	// StreamDuration, if set, asks the server for streams no longer than
	// this (?max_duration=), for networks that cut long responses sooner.
	StreamDuration time.Duration
	// IdleTimeout drops a stream that delivers no byte for this long (a
	// dead connection) and resumes it; it must exceed the server's
	// heartbeat (TIDINGS_HEARTBEAT, 15s by default). Default 60s.
	IdleTimeout time.Duration
	// MaxBackoff caps the wait between failed connection attempts.
	// Default 30s.
	MaxBackoff time.Duration
	// Logger receives a line for every reconnection after a failure.
	// Default: discard.
	Logger *slog.Logger
	// UserAgent is sent with every request; default "tidings-go".
	UserAgent string
}

// Client talks to one tidings server. It is safe for concurrent use.
type Client struct {
	base *url.URL
	opts Options
	http *http.Client
	log  *slog.Logger
}

// New returns a client of the server at baseURL (e.g.
// "https://push.example.com", optionally with a path prefix).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("tidings: server URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("tidings: server URL %q: want http://host[:port] or https://host[:port]", baseURL)
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "tidings-go"
	}
	c := &Client{base: u, opts: opts, http: opts.HTTPClient, log: opts.Logger}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Event is an event as the server hands it to subscribers.
type Event struct {
	ID    int64           `json:"id"`
	Topic string          `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data,omitempty"`
	Time  time.Time       `json:"time"`

	// Raw is the event object exactly as the server sent it.
	Raw json.RawMessage `json:"-"`
}

// Published answers a publish: the stored event (without its data) and
// whether it was a repeat of an event stored earlier under the same key.
type Published struct {
	ID        int64     `json:"id"`
	Topic     string    `json:"topic"`
	Type      string    `json:"type"`
	Time      time.Time `json:"time"`
	Duplicate bool      `json:"duplicate,omitempty"`

	// Raw is the object exactly as the server sent it.
	Raw json.RawMessage `json:"-"`
}

// PublishOptions are the optional parts of a publish.
type PublishOptions struct {
	// Type is the event type; "" means "message".
	Type string
	// Key makes the publish idempotent per topic while the event is
	// retained: a repeat answers the original event with Duplicate set.
	Key string
}

// Message is one entry of a batch publish.
type Message struct {
	Topic string
	// Data is marshalled with encoding/json; a json.RawMessage is sent as
	// it is (it must be valid JSON).
	Data any
	Type string
	Key  string
}

type publishBody struct {
	Topic string `json:"topic,omitempty"`
	Data  any    `json:"data"`
	Type  string `json:"type,omitempty"`
	Key   string `json:"key,omitempty"`
}

// Publish stores one event on topic. data is marshalled with encoding/json
// (a json.RawMessage is sent as it is; nil is JSON null). A nil error means
// the server committed the event: it survives a crash of the server.
func (c *Client) Publish(ctx context.Context, topic string, data any, opts PublishOptions) (Published, error) {
	var p Published
	if topic == "" {
		return p, errors.New("tidings: publish: empty topic")
	}
	body, err := json.Marshal(publishBody{Data: data, Type: opts.Type, Key: opts.Key})
	if err != nil {
		return p, fmt.Errorf("tidings: publish: encode data: %w", err)
	}
	raw, err := c.post(ctx, "/v1/topics/"+topic+"/events", body)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("tidings: publish: decode answer: %w", err)
	}
	p.Raw = bytes.TrimSpace(raw)
	return p, nil
}

// PublishBatch stores 1..1000 events atomically: all or none. The answer
// holds one entry per message, in order.
func (c *Client) PublishBatch(ctx context.Context, msgs []Message) ([]Published, error) {
	events := make([]publishBody, len(msgs))
	for i, m := range msgs {
		events[i] = publishBody{Topic: m.Topic, Data: m.Data, Type: m.Type, Key: m.Key}
	}
	body, err := json.Marshal(struct {
		Events []publishBody `json:"events"`
	}{events})
	if err != nil {
		return nil, fmt.Errorf("tidings: publish batch: encode data: %w", err)
	}
	raw, err := c.post(ctx, "/v1/events", body)
	if err != nil {
		return nil, err
	}
	var out struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("tidings: publish batch: decode answer: %w", err)
	}
	res := make([]Published, len(out.Events))
	for i, r := range out.Events {
		if err := json.Unmarshal(r, &res[i]); err != nil {
			return nil, fmt.Errorf("tidings: publish batch: decode answer: %w", err)
		}
		res[i].Raw = r
	}
	return res, nil
}

// post sends a JSON body and returns the body of a 2xx answer.
func (c *Client) post(ctx context.Context, path string, body []byte) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodPost, path, nil, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tidings: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, readError(resp)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("tidings: read answer: %w", err)
	}
	return raw, nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("tidings: %w", err)
	}
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	return req, nil
}

// Error is an error answered by the server (or by a proxy in front of it).
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the server's snake_case error code, e.g. "invalid_topic";
	// empty when the answer was not a tidings JSON error.
	Code string
	// Message is the server's sentence for a human, or the start of the
	// body of an answer that was not a tidings JSON error.
	Message string
	// RetryAfter is the Retry-After delay the server asked for, if any.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("tidings: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
	}
	return fmt.Sprintf("tidings: %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether the same request may succeed later: a rate or
// connection limit, a timeout, or a server-side failure.
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

// readError turns a non-2xx answer into an *Error.
func readError(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
		return e
	}
	e.Message = strings.TrimSpace(string(raw))
	if len(e.Message) > 200 {
		e.Message = e.Message[:200] + "…"
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
