package layout_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tidings/tidings"

type pkg struct {
	ImportPath string
	Imports    []string
	GoFiles    []string
}

// rules returns what is wrong with the packages' imports.
func rules(pkgs []pkg) []string {
	var bad []string
	own := func(p pkg) []string {
		var out []string
		for _, imp := range p.Imports {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				out = append(out, strings.TrimPrefix(strings.TrimPrefix(imp, module), "/"))
			}
		}
		return out
	}
	for _, p := range pkgs {
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, imp := range own(p) {
			switch {
			case (name == "store" || strings.HasPrefix(name, "store/")) && imp != "store" && !strings.HasPrefix(imp, "store/"):
				bad = append(bad, name+" imports "+imp+": the store imports no other project package")
			case name == "stream" && imp != "store":
				bad = append(bad, name+" imports "+imp+": stream imports only store")
			case name == "stream/streamtest" && imp != "store" && imp != "stream":
				bad = append(bad, name+" imports "+imp+": stream/streamtest imports only store and stream")
			case imp == "handlers" && name != "" && name != "server":
				bad = append(bad, name+" imports handlers: only main and server wire the HTTP layer")
			}
		}
		if name == "" && len(p.GoFiles) > 3 {
			bad = append(bad, "the root package has "+strings.Join(p.GoFiles, ", ")+": at most three files (dispatch and serve)")
		}
	}
	return bad
}

// TestImportRules reads the module's packages with go list and checks the
// dependency rules: store imports no project package, stream only store,
// stream/streamtest (shared by the tests of stream, handlers and console)
// only store and stream, only main and server import handlers, and the
// root package stays thin.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	pkgs := decode(t, string(out))
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; want the whole module", len(pkgs))
	}
	for _, msg := range rules(pkgs) {
		t.Error(msg)
	}
}

// TestRulesCatchViolations feeds the checker the imports each rule
// forbids, so a checker that lets everything through fails.
func TestRulesCatchViolations(t *testing.T) {
	bad := []pkg{
		{ImportPath: module + "/store", Imports: []string{module + "/stream"}},
		{ImportPath: module + "/store/postgres", Imports: []string{module + "/metrics"}},
		{ImportPath: module + "/stream", Imports: []string{module + "/metrics"}},
		{ImportPath: module + "/stream/streamtest", Imports: []string{module + "/server"}},
		{ImportPath: module + "/cli", Imports: []string{module + "/handlers"}},
		{ImportPath: module, GoFiles: []string{"a.go", "b.go", "c.go", "d.go"}},
	}
	for _, p := range bad {
		if got := rules([]pkg{p}); len(got) != 1 {
			t.Errorf("%s importing %v: got %q, want one violation", p.ImportPath, p.Imports, got)
		}
	}
	good := []pkg{
		{ImportPath: module + "/store/postgres", Imports: []string{module + "/store"}},
		{ImportPath: module + "/stream", Imports: []string{module + "/store"}},
		{ImportPath: module + "/stream/streamtest", Imports: []string{module + "/store", module + "/stream"}},
		{ImportPath: module + "/server", Imports: []string{module + "/handlers"}},
		{ImportPath: module, Imports: []string{module + "/handlers"}, GoFiles: []string{"main.go", "serve.go"}},
	}
	if got := rules(good); len(got) != 0 {
		t.Errorf("allowed imports reported: %q", got)
	}
}

func decode(t *testing.T, s string) []pkg {
	t.Helper()
	var out []pkg
	dec := json.NewDecoder(strings.NewReader(s))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		out = append(out, p)
	}
}
