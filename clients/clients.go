// Package clients carries the JavaScript client's ES module source
// (js/index.js and js/src), so that the console serves the very files npm
// publishes rather than a copy of them.
package clients

import (
	"embed"
	"io/fs"
)

//go:embed js/index.js js/src/*.js
var jsFS embed.FS

// JS returns the client's files: index.js and src/*.js.
func JS() fs.FS {
	sub, err := fs.Sub(jsFS, "js")
	if err != nil {
		panic(err) // the embedded tree always has js/
	}
	return sub
}
