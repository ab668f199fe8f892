package hostfs

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// scanned are the packages (with their sub-packages) whose every host path must go
// through this package.
var scanned = []string{"gather", "act", "dockerconf", "doctor", "checks", "tui", "cmd", "report"}

// pathCalls are the functions that take a path and touch the filesystem, by import path.
var pathCalls = map[string][]string{
	"os": {"Open", "OpenFile", "Create", "CreateTemp", "MkdirTemp", "ReadFile", "WriteFile", "Stat", "Lstat",
		"Readlink", "Mkdir", "MkdirAll", "Remove", "RemoveAll", "Rename", "Chmod", "Chown", "Lchown", "Chtimes",
		"Symlink", "Link", "Truncate", "ReadDir", "DirFS", "OpenRoot", "OpenInRoot", "Chdir"},
	"io/ioutil":     {"ReadFile", "WriteFile", "ReadDir", "TempFile", "TempDir"},
	"path/filepath": {"Glob", "Walk", "WalkDir", "EvalSymlinks"},
	"syscall": {"Open", "Openat", "Creat", "Stat", "Lstat", "Statfs", "Mkdir", "Mkdirat", "Unlink", "Unlinkat", "Rmdir",
		"Rename", "Renameat", "Symlink", "Link", "Readlink", "Chmod", "Chown", "Truncate", "Mknod", "Mount"},
	"golang.org/x/sys/unix": {"Open", "Openat", "Openat2", "Creat", "Stat", "Lstat", "Statfs", "Statx", "Fstatat",
		"Mkdir", "Mkdirat", "Unlink", "Unlinkat", "Rmdir", "Rename", "Renameat", "Renameat2", "Symlink", "Symlinkat",
		"Link", "Linkat", "Readlink", "Readlinkat", "Chmod", "Fchmodat", "Chown", "Fchownat", "Truncate", "Mknod", "Mount"},
	"github.com/ksdoctor/ksdoctor/atomicfile": {"Write"},
}

// allowed are the path calls that are not host paths, each with why. Key: file (from
// the repository root), then the call as written.
var allowed = map[string]string{
	"cmd/imagetar/main.go os.Stat":              "the build's own files to put in the image (make image-tar), not host paths",
	"cmd/imagetar/main.go os.ReadFile":          "the build's own files to put in the image (make image-tar), not host paths",
	"cmd/imagetar/main.go atomicfile.Write":     "the image tar the build writes (make image-tar), not a host path",
	"cmd/ksdoctor/cli.go os.Stat":               "checks that --host-root itself is a directory, before anything is opened under it",
	"gather/net_linux.go filepath.EvalSymlinks": "resolves the iptables-save this process runs (its own PATH) to tell the backend, not a host path",
	"gather/cluster.go os.Stat":                 "the user's --kubeconfig, read by client-go as the user's file, not a host path",
	"cmd/ksdoctor/textfile.go atomicfile.Write": "the user's --textfile directory (node_exporter's textfile collector), not a host path",
	"cmd/ksdoctor/notify.go os.Open":            "the user's --notify-auth-file (a mounted Secret), read as the user's file, not a host path",
	"cmd/ksdoctor/diff.go os.Open":              "the user's report files (diff OLD NEW, sweep --baseline, tui --from FLEET.json), read as the user's files, not host paths",
	"act/journal.go os.Open":                    "reopens the journal's own descriptor (already opened through Root) read-only via /proc/self/fd to read its last byte, not a new host path",
}

// TestNoHostPathOutsideHostfs rejects, in the scanned packages, any call that opens,
// creates, changes or describes a path through the os, syscall or unix packages, and any
// path built from a host root by joining or concatenating: host paths go through Root.
func TestNoHostPathOutsideHostfs(t *testing.T) {
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	var bad []string
	for _, dir := range scanned {
		err := filepath.WalkDir(filepath.Join(repo, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			relp, _ := filepath.Rel(repo, p)
			for _, call := range pathCallsIn(t, p) {
				key := filepath.ToSlash(relp) + " " + call.name
				if _, ok := allowed[key]; ok {
					used[key] = true
					continue
				}
				bad = append(bad, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(relp), call.line, call.name))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range bad {
		t.Errorf("%s: a host path must be opened through hostfs.Root (package hostfs); if this is not a host path, add it to `allowed` in hostfs/static_test.go with the reason", b)
	}
	for k := range allowed {
		if !used[k] {
			t.Errorf("allowlist entry %q matches nothing any more: remove it", k)
		}
	}
}

type foundCall struct {
	name string
	line int
}

// pathCallsIn lists the forbidden calls of one file.
func pathCallsIn(t *testing.T, file string) []foundCall {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{} // local name → import path
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		local := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			local = im.Name.Name
		}
		names[local] = p
	}
	var out []foundCall
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			imp := names[x.Name]
			if slices.Contains(pathCalls[imp], sel.Sel.Name) {
				out = append(out, foundCall{x.Name + "." + sel.Sel.Name, fset.Position(n.Pos()).Line})
			}
			// filepath.Join(hostRoot, …) and path.Join(root, …): a host path built by hand.
			if (imp == "path/filepath" || imp == "path") && sel.Sel.Name == "Join" && slices.ContainsFunc(n.Args, mentionsRoot) {
				out = append(out, foundCall{x.Name + ".Join", fset.Position(n.Pos()).Line})
			}
		case *ast.BinaryExpr:
			if n.Op == token.ADD && (mentionsRoot(n.X) || mentionsRoot(n.Y)) {
				out = append(out, foundCall{"+ on a host root", fset.Position(n.Pos()).Line})
			}
		}
		return true
	})
	return out
}

// mentionsRoot tells whether an expression names a host root (hostRoot, HostRoot, root).
func mentionsRoot(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		var name string
		switch n := n.(type) {
		case *ast.Ident:
			name = n.Name
		case *ast.SelectorExpr:
			name = n.Sel.Name
		case *ast.CallExpr:
			return false // root.Dir() and the like are hostfs's business
		}
		if l := strings.ToLower(name); l == "root" || l == "hostroot" {
			found = true
		}
		return !found
	})
	return found
}
