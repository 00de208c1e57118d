// Package pgtest gives tests a fresh PostgreSQL database of their own on
// the server named by TIDINGS_TEST_POSTGRES.
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env names the variable holding the URL of a server tests may create
// databases on, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const Env = "TIDINGS_TEST_POSTGRES"

// Enabled reports whether Env is set.
func Enabled() bool { return os.Getenv(Env) != "" }

// FreshDatabase creates an empty database, drops it when the test ends
// (after the test's other cleanups, so stores are closed first), and
// returns its URL. Without Env the test is skipped.
func FreshDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Skip(Env + " is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the %s server: %v", Env, err)
	}
	defer admin.Close(ctx)
	name := "tidings_test_" + strings.ToLower(rand.Text()[:16])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	q := u.Query()
	q.Set("pool_max_conns", "4") // many tests share one server
	u.RawQuery = q.Encode()
	return u.String()
}

// Conn opens a plain connection to dbURL (its pool_* settings left out),
// closed when the test ends.
func Conn(t testing.TB, dbURL string) *pgx.Conn {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	conn, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// WithParam returns dbURL with the query parameter key set to value, or
// removed when value is "".
func WithParam(dbURL, key, value string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		panic(err)
	}
	q := u.Query()
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
