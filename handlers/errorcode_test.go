package handlers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestErrorCodes holds the error codes to their contract: every errorf
// names one of the errorCode constants, never a bare string that would
// compile and answer 500, and every constant has a status in statusOf.
func TestErrorCodes(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	consts := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if fn, ok := n.Fun.(*ast.Ident); ok && fn.Name == "errorf" && len(n.Args) > 0 {
					if _, ok := n.Args[0].(*ast.Ident); !ok {
						t.Errorf("%s: errorf's code is not an errorCode constant", fset.Position(n.Pos()))
					}
				}
			case *ast.ValueSpec:
				if typ, ok := n.Type.(*ast.Ident); ok && typ.Name == "errorCode" {
					for i, v := range n.Values {
						lit, ok := v.(*ast.BasicLit)
						if !ok {
							continue
						}
						code, _ := strconv.Unquote(lit.Value)
						consts++
						if _, ok := statusOf[errorCode(code)]; !ok {
							t.Errorf("%s: %s (%q) has no status in statusOf", fset.Position(n.Pos()), n.Names[i].Name, code)
						}
					}
				}
			}
			return true
		})
	}
	if consts != len(statusOf) {
		t.Errorf("%d errorCode constants, %d statuses in statusOf", consts, len(statusOf))
	}
}
