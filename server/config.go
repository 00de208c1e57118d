package server

import (
	"encoding"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/tidings/tidings/auth"
)

// Config is every setting of a server. ConfigFromEnv reads it from the
// TIDINGS_* environment variables; DefaultConfig gives the defaults.
type Config struct {
	Addr              string        `envconfig:"ADDR" shown:"127.0.0.1:8080" desc:"listen address; :8080 by default when TIDINGS_SECRET is set (an open server listens on loopback only)"`
	MetricsAddr       string        `envconfig:"METRICS_ADDR" desc:"a separate listen address for /metrics (e.g. :9091), which then leaves the main one"`
	DB                string        `envconfig:"DB" default:"data/tidings.db" desc:"SQLite file (its folder is created), or a postgres:// URL shared by replicas"`
	LockTimeout       time.Duration `envconfig:"LOCK_TIMEOUT" default:"30s" desc:"how long to wait for another process to let go of the SQLite file"`
	SSEMaxDuration    time.Duration `envconfig:"SSE_MAX_DURATION" default:"50s" desc:"longest SSE response"`
	SSERetry          time.Duration `envconfig:"SSE_RETRY" default:"1s" desc:"the retry: hint sent to SSE clients"`
	Heartbeat         time.Duration `envconfig:"HEARTBEAT" default:"15s" desc:"idle comment interval on SSE"`
	WriteTimeout      time.Duration `envconfig:"WRITE_TIMEOUT" default:"10s" desc:"longest wait for one write to a subscriber"`
	PollMaxTimeout    time.Duration `envconfig:"POLL_MAX_TIMEOUT" default:"50s" desc:"cap on a long-poll timeout"`
	Retention         time.Duration `envconfig:"RETENTION" default:"24h" desc:"events older than this are pruned"`
	MaxEventsPerTopic int           `envconfig:"MAX_EVENTS_PER_TOPIC" default:"10000" desc:"older events beyond this are pruned"`
	PruneInterval     time.Duration `envconfig:"PRUNE_INTERVAL" default:"1m" desc:"how often the pruner runs"`
	MaxEventBytes     int           `envconfig:"MAX_EVENT_BYTES" default:"65536" desc:"largest data, encoded"`
	MaxRequestBytes   int64         `envconfig:"MAX_REQUEST_BYTES" default:"1048576" desc:"largest request body"`
	ReadTimeout       time.Duration `envconfig:"READ_TIMEOUT" default:"30s" desc:"longest time to read a request, headers and body, from its first byte"`
	MaxSubscribers    int           `envconfig:"MAX_SUBSCRIBERS" default:"10000" desc:"concurrent SSE + poll subscribers"`
	Secret            string        `envconfig:"SECRET" desc:"HS256 key for tokens, at least 32 bytes; unset: open to anyone"`
	PublicTopics      []string      `envconfig:"PUBLIC_TOPICS" desc:"comma-separated topic patterns anyone may subscribe to"`
	CORSOrigins       []string      `envconfig:"CORS_ORIGINS" desc:"allowed browser origins, comma-separated (default * when open, none otherwise)"`
	MaxSubsPerIP      int           `envconfig:"MAX_SUBSCRIPTIONS_PER_IP" default:"100" desc:"concurrent SSE + poll requests per client address (0: no limit)"`
	PublishRate       float64       `envconfig:"PUBLISH_RATE" default:"0" desc:"events published per second per token subject, or per address without a token (0: no limit); a token's tidings.rate claim sets its own"`
	PublishBurst      int           `envconfig:"PUBLISH_BURST" default:"2000" desc:"publish burst above TIDINGS_PUBLISH_RATE"`
	TrustedProxyHdr   string        `envconfig:"TRUSTED_PROXY_HEADER" desc:"header holding the client address, set by a trusted proxy (e.g. Fly-Client-IP)"`
	Console           string        `envconfig:"CONSOLE" default:"on" desc:"on or off: the web console at /"`
	ShutdownTimeout   time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"10s" desc:"graceful shutdown bound"`
	LogLevel          slog.Level    `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat         string        `envconfig:"LOG_FORMAT" default:"auto" desc:"auto (text on a terminal, else json), text or json"`

	// Logger receives the server's logs; nil discards them. It is not
	// read from the environment.
	Logger *slog.Logger `ignored:"true"`
	// Version is what GET /v1/info reports ("dev" when empty). It is not
	// read from the environment.
	Version string `ignored:"true"`
}

// ConfigFromEnv reads the TIDINGS_* environment variables over the
// defaults and validates the result.
func ConfigFromEnv() (Config, error) {
	var c Config
	if err := envconfig.Process("tidings", &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return c, fmt.Errorf("%s=%q is not a valid %s", pe.KeyName, pe.Value, kindOf(pe.TypeName))
		}
		return c, fmt.Errorf("configuration: %w", err)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// DefaultConfig returns the defaults that ConfigFromEnv starts from (the
// `default` tags above are their only record), for tests and embedders.
func DefaultConfig() Config {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		def, ok := v.Type().Field(i).Tag.Lookup("default")
		if !ok {
			continue
		}
		var err error
		switch p := v.Field(i).Addr().Interface().(type) {
		case *time.Duration:
			*p, err = time.ParseDuration(def)
		case *int:
			*p, err = strconv.Atoi(def)
		case *int64:
			*p, err = strconv.ParseInt(def, 10, 64)
		case *float64:
			*p, err = strconv.ParseFloat(def, 64)
		case *string:
			*p = def
		case encoding.TextUnmarshaler:
			err = p.UnmarshalText([]byte(def))
		default:
			err = fmt.Errorf("no parser for %T", p)
		}
		if err != nil {
			panic(fmt.Sprintf("default of %s: %v", v.Type().Field(i).Name, err))
		}
	}
	return c
}

// Validate checks every setting and fills the derived defaults (CORS
// origins in open mode), with errors a person can act on.
func (c *Config) Validate() error {
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"TIDINGS_SSE_MAX_DURATION", c.SSEMaxDuration},
		{"TIDINGS_SSE_RETRY", c.SSERetry},
		{"TIDINGS_HEARTBEAT", c.Heartbeat},
		{"TIDINGS_WRITE_TIMEOUT", c.WriteTimeout},
		{"TIDINGS_POLL_MAX_TIMEOUT", c.PollMaxTimeout},
		{"TIDINGS_RETENTION", c.Retention},
		{"TIDINGS_PRUNE_INTERVAL", c.PruneInterval},
		{"TIDINGS_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
		{"TIDINGS_LOCK_TIMEOUT", c.LockTimeout},
		{"TIDINGS_READ_TIMEOUT", c.ReadTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			return fmt.Errorf("%s must be a positive duration such as 50s or 24h, not %s", p.name, p.d)
		}
	}
	switch {
	case c.MaxEventsPerTopic < 1:
		return errors.New("TIDINGS_MAX_EVENTS_PER_TOPIC must be at least 1")
	case c.MaxEventBytes < 1:
		return errors.New("TIDINGS_MAX_EVENT_BYTES must be at least 1")
	case c.MaxRequestBytes < 1:
		return errors.New("TIDINGS_MAX_REQUEST_BYTES must be at least 1")
	case c.MaxSubscribers < 1:
		return errors.New("TIDINGS_MAX_SUBSCRIBERS must be at least 1")
	case c.DB == "":
		return errors.New("TIDINGS_DB must name the SQLite file or a postgres:// URL")
	}
	switch c.Console = strings.ToLower(strings.TrimSpace(c.Console)); c.Console {
	case "on", "off":
	default:
		return fmt.Errorf("TIDINGS_CONSOLE must be on or off, not %q", c.Console)
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		return fmt.Errorf("TIDINGS_LOG_FORMAT must be auto, text or json, not %q", c.LogFormat)
	}
	switch {
	case c.MaxSubsPerIP < 0:
		return errors.New("TIDINGS_MAX_SUBSCRIPTIONS_PER_IP must be 0 (no limit) or more")
	case c.PublishRate < 0 || c.PublishRate != c.PublishRate:
		return errors.New("TIDINGS_PUBLISH_RATE must be 0 (no limit) or more")
	case c.PublishBurst < 1:
		return errors.New("TIDINGS_PUBLISH_BURST must be at least 1")
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr(c.Secret)
	}
	c.CORSOrigins = trimAll(c.CORSOrigins)
	c.PublicTopics = trimAll(c.PublicTopics)
	if len(c.CORSOrigins) == 0 && c.Secret == "" {
		c.CORSOrigins = []string{"*"}
	}
	if _, err := auth.NewAuthorizer(c.Secret, c.PublicTopics); err != nil {
		return err
	}
	if c.Secret != "" && slices.Contains(c.CORSOrigins, "*") {
		return errors.New("TIDINGS_CORS_ORIGINS may be * only when no TIDINGS_SECRET is set: list the origins of your site, e.g. https://app.example.com")
	}
	return nil
}

// DefaultAddr is where a server listens when TIDINGS_ADDR is unset: with
// no secret it is open to anyone who can reach it, so only loopback; with
// one, every interface.
func DefaultAddr(secret string) string {
	if secret == "" {
		return "127.0.0.1:8080"
	}
	return ":8080"
}

// kindOf names a setting's type for a person.
func kindOf(typeName string) string {
	switch typeName {
	case "time.Duration", "Duration":
		return "duration: use Go syntax such as 50s, 1m30s or 24h"
	case "int", "int64":
		return "whole number"
	case "float64":
		return "number"
	case "slog.Level", "Level":
		return "log level: debug, info, warn or error"
	default:
		return typeName
	}
}

// trimAll trims the items of a comma-separated setting and drops empty ones.
func trimAll(list []string) []string {
	out := list[:0]
	for _, v := range list {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Usage lists every setting with its default, from the Config tags.
func Usage() []Setting {
	t := reflect.TypeOf(Config{})
	var out []Setting
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("envconfig")
		if name == "" {
			continue
		}
		def := f.Tag.Get("default")
		if shown, ok := f.Tag.Lookup("shown"); ok {
			def = shown
		}
		out = append(out, Setting{Name: "TIDINGS_" + name, Default: def, Desc: f.Tag.Get("desc")})
	}
	return out
}

// Setting describes one environment variable.
type Setting struct {
	Name, Default, Desc string
}
