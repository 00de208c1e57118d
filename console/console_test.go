package console_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tidings/tidings/console"
	"github.com/tidings/tidings/stream/streamtest"
)

// get serves one request through the handler.
func get(t *testing.T, h http.Handler, path string, header http.Header) *http.Response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assetRE finds the files the page names.
var assetRE = regexp.MustCompile(`(?:href|src)="(console/[^"]+)"`)

func TestPage(t *testing.T) {
	t.Parallel()
	h := console.New()
	res := get(t, h, "/", nil)
	page := body(t, res)
	streamtest.Answer(t, res, http.StatusOK, map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-cache",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"ETag":                   `"` + h.Version() + `"`,
	})
	csp := res.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if !bytes.Contains(page, []byte(`<label for="pub-topic">Topic</label>`)) || bytes.Contains(page, []byte("{{")) {
		t.Errorf("page is not the filled-in console page:\n%s", page)
	}
	// Relative paths, so the console works below a proxy's path prefix.
	found := assetRE.FindAllSubmatch(page, -1)
	if len(found) < 3 {
		t.Fatalf("page names %d files, want the stylesheet, the script and the client", len(found))
	}
	for _, m := range found {
		if !strings.HasPrefix(string(m[1]), "console/"+h.Version()+"/") {
			t.Errorf("page names %s, want it below console/%s/", m[1], h.Version())
		}
	}

	t.Run("revalidation", func(t *testing.T) {
		res := get(t, h, "/", http.Header{"If-None-Match": {`"old", "` + h.Version() + `"`}})
		if res.StatusCode != http.StatusNotModified || len(body(t, res)) != 0 {
			t.Errorf("If-None-Match with the current ETag: got %d, want 304 with no body", res.StatusCode)
		}
		if res := get(t, h, "/", http.Header{"If-None-Match": {`"old"`}}); res.StatusCode != http.StatusOK {
			t.Errorf("If-None-Match with another ETag: got %d, want 200", res.StatusCode)
		}
	})
}

func TestAssets(t *testing.T) {
	t.Parallel()
	h := console.New()
	prefix := console.AssetsPrefix + h.Version() + "/"
	types := map[string]string{
		"console.js":           "text/javascript; charset=utf-8",
		"console.css":          "text/css; charset=utf-8",
		"client/index.js":      "text/javascript; charset=utf-8",
		"client/src/parser.js": "text/javascript; charset=utf-8",
	}
	for name, ct := range types {
		t.Run(name, func(t *testing.T) {
			plain := get(t, h, prefix+name, nil)
			raw := body(t, plain)
			if plain.StatusCode != http.StatusOK || len(raw) == 0 {
				t.Fatalf("got %d with %d bytes, want 200 and the file", plain.StatusCode, len(raw))
			}
			if got := plain.Header.Get("Content-Type"); got != ct {
				t.Errorf("Content-Type: got %q, want %q", got, ct)
			}
			if got, want := plain.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
				t.Errorf("Cache-Control: got %q, want %q", got, want)
			}
			if plain.Header.Get("Content-Encoding") != "" {
				t.Errorf("compressed without Accept-Encoding")
			}
			if !strings.Contains(plain.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("Vary: got %q, want Accept-Encoding", plain.Header.Get("Vary"))
			}

			zipped := get(t, h, prefix+name, http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
			if zipped.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("Content-Encoding: got %q, want gzip", zipped.Header.Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(bytes.NewReader(body(t, zipped)))
			if err != nil {
				t.Fatal(err)
			}
			unzipped, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(unzipped, raw) {
				t.Errorf("gzip body does not hold the file (%v)", err)
			}
			if res := get(t, h, prefix+name, http.Header{"Accept-Encoding": {"gzip;q=0"}}); res.Header.Get("Content-Encoding") != "" {
				t.Errorf("compressed although gzip;q=0")
			}
		})
	}

	for _, path := range []string{
		console.AssetsPrefix + "0123456789ab/console.js", // another version
		prefix + "index.html",
		prefix + "nothing.js",
		prefix,
		"/console.js",
	} {
		res := get(t, h, path, nil)
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(body(t, res), &e); err != nil || res.StatusCode != 404 || e.Error.Code != "not_found" {
			t.Errorf("GET %s: got %d (%v), want a JSON 404", path, res.StatusCode, err)
		}
	}
}

// TestHead checks HEAD answers the headers of GET without a body.
func TestHead(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(console.New())
	defer srv.Close()
	res, err := http.Head(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if b, _ := io.ReadAll(res.Body); res.StatusCode != 200 || len(b) != 0 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD /: got %d, %d bytes, %q; want 200, no body, text/html", res.StatusCode, len(b), res.Header.Get("Content-Type"))
	}
}

// TestAssetsSize keeps what the console adds to the binary and to a
// page load small, and reports it.
func TestAssetsSize(t *testing.T) {
	t.Parallel()
	var raw, zipped int
	filepath.WalkDir("assets", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		raw += len(b)
		zipped += buf.Len()
		return nil
	})
	t.Logf("embedded console files: %d bytes, %d gzipped", raw, zipped)
	if raw > 100<<10 || zipped > 30<<10 {
		t.Errorf("console files: %d bytes (%d gzipped), want at most 100 KiB (30 KiB gzipped)", raw, zipped)
	}
}
