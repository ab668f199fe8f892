package testbed

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteTree writes files (a path relative to root → its content) under
// root, making the directories between, each file mode 0644: a node's
// configuration laid out under a test's host root.
func WriteTree(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
