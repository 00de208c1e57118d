// Package console is tidings' web console: one page, served at /, that
// lists topics, tails chosen topics live and publishes, using only the
// server it comes from. Its files are embedded in the binary; nothing is
// fetched from elsewhere and nothing is built at run time. The page talks
// to the server through the project's JavaScript client, the same
// embedded files npm publishes (package clients), served below client/.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/tidings/tidings/clients"
)

//go:embed assets
var assetFS embed.FS

// AssetsPrefix is where the page's files are served, below a version
// taken from their contents: /console/<version>/console.js. A version
// changes whenever any file does, so the files may be cached for good.
const AssetsPrefix = "/console/"

// asset is one file, ready to serve.
type asset struct {
	body, gz    []byte
	contentType string
	etag        string
}

// Handler serves the console page at / and its files below AssetsPrefix.
// Register it for GET and HEAD on both ("/" and "/console/*asset" with
// httprouter); any other path answers a JSON 404.
type Handler struct {
	version string
	page    asset
	files   map[string]*asset // by path below the version
}

// New returns the console handler. The embedded files are read and
// compressed once per process; every handler shares them.
func New() *Handler { return shared() }

var shared = sync.OnceValue(build)

func build() *Handler {
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	raw := make(map[string][]byte)
	readAll(sub, "", raw)
	readAll(clients.JS(), "client/", raw)
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range names {
		sum.Write([]byte(n))
		sum.Write([]byte{0})
		sum.Write(raw[n])
	}
	h := &Handler{version: hex.EncodeToString(sum.Sum(nil))[:12], files: make(map[string]*asset)}
	for _, n := range names {
		if n == "index.html" {
			continue
		}
		h.files[n] = newAsset(raw[n], typeOf(n), "")
	}
	// The page names its files relative to itself, so the console also
	// works below a path prefix on a proxy.
	page := bytes.ReplaceAll(raw["index.html"], []byte("{{assets}}"), []byte(strings.TrimPrefix(AssetsPrefix, "/")+h.version))
	h.page = *newAsset(page, "text/html; charset=utf-8", `"`+h.version+`"`)
	return h
}

// readAll adds every file of fsys to raw, named prefix + its path.
func readAll(fsys fs.FS, prefix string, raw map[string][]byte) {
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		raw[prefix+p] = b
		return err
	})
	if err != nil {
		panic(err) // embedded files are always readable
	}
}

func newAsset(body []byte, contentType, etag string) *asset {
	a := &asset{body: body, contentType: contentType, etag: etag}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	if buf.Len() < len(body) {
		a.gz = buf.Bytes()
	}
	return a
}

func typeOf(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Version identifies the embedded files; it is part of their paths.
func (h *Handler) Version() string { return h.version }

// pagePolicy lets the page load and reach only its own origin.
const pagePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Path == "/" {
		hdr.Set("Content-Security-Policy", pagePolicy)
		hdr.Set("Referrer-Policy", "no-referrer")
		// Revalidated on every visit: the page names the current files.
		hdr.Set("Cache-Control", "no-cache")
		h.page.serve(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, AssetsPrefix+h.version+"/")
	if a := h.files[rest]; ok && a != nil {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
		a.serve(w, r)
		return
	}
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	msg := "There is no console file at this path; reload the console page."
	w.Write([]byte(`{"error":{"code":"not_found","message":"` + msg + `"}}` + "\n"))
}

func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	if a.etag != "" {
		hdr.Set("ETag", a.etag)
		if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	body := a.body
	if a.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			hdr.Set("Content-Encoding", "gzip")
			body = a.gz
		}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// etagMatch reports whether an If-None-Match list names etag (weak
// comparison, as for GET).
func etagMatch(list, etag string) bool {
	for t := range strings.SplitSeq(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip.
func acceptsGzip(ae string) bool {
	for part := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
