// Command copyclient copies the JavaScript client's ES module files
// (index.js and src/*.js) into the console's assets, replacing what was
// there. go generate runs it in the console package:
//
//	go run ./internal/copyclient ../clients/js assets/client
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: copyclient CLIENT_DIR OUT_DIR")
		os.Exit(2)
	}
	if err := copyClient(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "copyclient:", err)
		os.Exit(1)
	}
}

// ClientFiles lists the files of the client the console needs, relative to
// its folder.
func clientFiles(dir string) ([]string, error) {
	src, err := filepath.Glob(filepath.Join(dir, "src", "*.js"))
	if err != nil {
		return nil, err
	}
	files := []string{"index.js"}
	for _, s := range src {
		files = append(files, filepath.Join("src", filepath.Base(s)))
	}
	return files, nil
}

func copyClient(from, to string) error {
	files, err := clientFiles(from)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(to); err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			return err
		}
		out := filepath.Join(to, f)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
