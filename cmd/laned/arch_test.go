package main

// The import direction of shared/docs/design.md, checked by a test rather
// than by memory: cmd → appliance → edge, site, board → hal, cmb, store.

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"os/exec"
	"strings"
	"testing"
)

type goPkg struct {
	ImportPath string
	Name       string
	Imports    []string
	GoFiles    []string
	Dir        string
	Doc        string
}

func listPackages(t *testing.T) (module string, pkgs []goPkg) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Skipf("go list -m: %v (no go tool?)", err)
	}
	module = strings.TrimSpace(string(out))
	out, err = exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p goPkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return module, pkgs
}

// layer is the first path element below the module: cmb, store, hal, …
func layer(module, path string) string {
	rel := strings.TrimPrefix(path, module+"/")
	if i := strings.IndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return rel
}

func TestImportDirection(t *testing.T) {
	module, pkgs := listPackages(t)
	forbidden := map[string][]string{
		"cmb":       {"store", "hal", "edge", "board", "site", "appliance", "cmd"},
		"store":     {"cmb", "hal", "edge", "board", "site", "appliance", "cmd"},
		"hal":       {"cmb", "store", "edge", "board", "site", "appliance", "cmd"},
		"board":     {"cmb", "store", "edge", "site", "appliance", "cmd"},
		"edge":      {"board", "site", "appliance", "cmd"},
		"site":      {"edge", "board", "appliance", "cmd"},
		"appliance": {"cmd"},
	}
	for _, p := range pkgs {
		from := layer(module, p.ImportPath)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := layer(module, imp)
			for _, f := range forbidden[from] {
				if to == f {
					t.Errorf("%s imports %s: against the design's direction (%s must not import %s)", p.ImportPath, imp, from, f)
				}
			}
		}
		if p.ImportPath == module+"/hal" || (from == "edge") {
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, "periph.io/") || strings.HasPrefix(imp, "go.bug.st/") ||
					imp == module+"/hal/gpio" || imp == module+"/hal/camera" || imp == module+"/hal/display" {
					t.Errorf("%s imports %s: hal interfaces and edge carry no driver types", p.ImportPath, imp)
				}
			}
		}
	}
}

// TestOnePackageDoc checks that every package has exactly one package
// comment.
func TestOnePackageDoc(t *testing.T) {
	_, pkgs := listPackages(t)
	for _, p := range pkgs {
		n := 0
		for _, f := range p.GoFiles {
			if hasPackageDoc(t, p.Dir+"/"+f) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s has %d package comments; want exactly 1", p.ImportPath, n)
		}
	}
}

func hasPackageDoc(t *testing.T, path string) bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	return f.Doc != nil
}
