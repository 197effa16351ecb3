// Package repo_test holds checks that apply to the whole module: every
// package documents itself, the dependency arrow of ARCHITECTURE.md holds,
// and library code has no init functions and reads no environment.
package repo_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/agentos/agentos"

// pkgFiles maps a package directory (slash-separated, relative to the module
// root) to its parsed non-test Go files.
func pkgFiles(t *testing.T) map[string][]*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	out := map[string][]*ast.File{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		out[dir] = append(out[dir], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEveryPackageHasOneDocComment(t *testing.T) {
	for dir, files := range pkgFiles(t) {
		n := 0
		for _, f := range files {
			if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("package %s has %d package doc comments, want exactly 1", dir, n)
		}
	}
}

// allowedImports lists, for each package (or package prefix ending in "/"),
// which module packages it may import directly. A package not listed may
// import any module package except those rules below forbid for everyone.
var allowedImports = map[string][]string{
	"policy":   {"limit"},
	"policy/":  {"policy"},
	"limit":    {},
	"limit/":   {"limit"},
	"signals":  {},
	"vfs":      {},
	"audit":    {},
	"audit/":   {"audit"},
	"approval": {},
	"detect":   {},
	"kernel": {"policy", "signals", "vfs", "limit", "audit", "approval", "detect",
		"internal/paritytest", "internal/jsonw"},
}

func rulesFor(dir string) ([]string, bool) {
	if r, ok := allowedImports[dir]; ok {
		return r, true
	}
	for prefix, r := range allowedImports {
		if strings.HasSuffix(prefix, "/") && strings.HasPrefix(dir, prefix) {
			return r, true
		}
	}
	return nil, false
}

func TestDependencyArrow(t *testing.T) {
	for dir, files := range pkgFiles(t) {
		allowed, restricted := rulesFor(dir)
		for _, f := range files {
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if !strings.HasPrefix(p, module+"/") {
					continue
				}
				target := strings.TrimPrefix(p, module+"/")
				if target == "internal/cli" && dir != "cmd/agentos" {
					t.Errorf("%s imports internal/cli: only cmd/agentos may", dir)
				}
				if !restricted {
					continue
				}
				ok := false
				for _, a := range allowed {
					if target == a || strings.HasPrefix(target, a+"/") && a != "" {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s imports %s: not allowed by the dependency arrow (allowed: %v)", dir, target, allowed)
				}
			}
		}
	}
}

func TestLibraryHygiene(t *testing.T) {
	for dir, files := range pkgFiles(t) {
		library := !strings.HasPrefix(dir, "cmd/") && !strings.HasPrefix(dir, "internal/cli") && dir != "examples" && !strings.HasPrefix(dir, "examples/")
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncDecl:
					if n.Recv == nil && n.Name.Name == "init" {
						t.Errorf("%s: func init: no init side effects, wire explicitly", dir)
					}
				case *ast.SelectorExpr:
					id, ok := n.X.(*ast.Ident)
					if !ok {
						return true
					}
					call := id.Name + "." + n.Sel.Name
					switch call {
					case "slog.SetDefault":
						t.Errorf("%s: slog.SetDefault: libraries take a *slog.Logger in Options", dir)
					case "os.Getenv", "os.LookupEnv", "os.Environ":
						if library {
							t.Errorf("%s: %s: library packages never read the environment", dir, call)
						}
					}
				}
				return true
			})
		}
	}
}

// TestReadmeCommandsExist keeps the README's first two commands true: the
// test command must be the one .ci/run runs.
func TestReadmeCommandsExist(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(filepath.Join(".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, line := range strings.Split(string(readme), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "go run ") || strings.HasPrefix(line, "go test ") {
			cmds = append(cmds, line)
		}
		if len(cmds) == 2 {
			break
		}
	}
	if len(cmds) != 2 || !strings.HasPrefix(cmds[0], "go run ") || !strings.HasPrefix(cmds[1], "go test ") {
		t.Fatalf("README must start with a `go run` command then a `go test` command, found %q", cmds)
	}
	if !strings.Contains(string(ci), cmds[1]) {
		t.Errorf(".ci/run does not run the README's test command %q", cmds[1])
	}
}

func TestNoMachinePaths(t *testing.T) {
	var bad []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if ext != ".go" && ext != ".md" && ext != ".yaml" && ext != ".yml" && path != filepath.Join(".ci", "run") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, needle := range []string{"/work/main", "/work/shared", ".library/", "/tmp/depfetch"} {
			if strings.Contains(string(b), needle) && path != "repo_test.go" {
				bad = append(bad, path+" mentions "+needle)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}
