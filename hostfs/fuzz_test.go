package hostfs

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLinksStayInside plants two symlinks with arbitrary targets in a host root that sits
// beside a directory holding a secret, then reads, writes and creates directories at an
// arbitrary path: nothing outside the root is ever read or changed, with either resolver.
func FuzzLinksStayInside(f *testing.F) {
	for _, s := range [][4]string{
		{"etc/a", "../../outside/secret", "b", "/etc/a"},
		{"etc/a", "/OUTSIDE/secret", "b", "/etc/a"},
		{"a", "../../../../../../../../OUTSIDE", "b", "/a/secret"},
		{"d1/l", "../..", "d1/m", "/d1/l/outside/secret"},
		{"x", "y", "y", "/x"},
		{"p", "/OUTSIDE/new", "q", "/p/q/r"},
		{"d1/d2/up", "../../../../OUTSIDE/", "z", "/d1/d2/up/../up/secret"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, link1, target1, link2, query string) {
		base := t.TempDir()
		root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
		must(t, os.MkdirAll(filepath.Join(root, "d1/d2"), 0o755))
		must(t, os.MkdirAll(outside, 0o755))
		must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("SECRET"), 0o600))
		// OUTSIDE in a target stands for the outside directory's real path.
		for _, l := range [][2]string{{link1, target1}, {link2, outside}} {
			name := path.Clean("/" + l[0])
			if name == "/" || strings.ContainsRune(name, 0) || len(name) > 200 {
				continue
			}
			p := filepath.Join(root, name)
			if os.MkdirAll(filepath.Dir(p), 0o755) != nil {
				continue
			}
			_ = os.Symlink(strings.ReplaceAll(l[1], "/OUTSIDE", outside), p)
		}
		if strings.ContainsRune(query, 0) || len(query) > 300 {
			return
		}
		check := func() {
			t.Helper()
			ents, _ := os.ReadDir(outside)
			if len(ents) != 1 {
				t.Fatalf("something was created outside the root: %v", ents)
			}
			if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "SECRET" {
				t.Fatalf("the secret outside the root changed: %q", b)
			}
		}
		for _, fallback := range []bool{false, true} {
			forceFallback = fallback
			r := New(root)
			if b, err := r.ReadFile(query); err == nil && bytes.Contains(b, []byte("SECRET")) {
				t.Fatalf("read the secret outside the root through %q", query)
			}
			if got, err := r.Resolve(query); err == nil && !path.IsAbs(got) {
				t.Fatalf("Resolve(%q) = %q", query, got)
			}
			_ = r.MkdirAll(path.Dir(query), 0o755)
			_, _ = r.WriteFile(query, []byte("written"), 0o644)
			if f, err := r.OpenAppend(query, 0o600); err == nil {
				f.Close()
			}
			_ = r.RemoveAll(path.Join(query, "x"))
			check()
		}
		forceFallback = false
	})
}
