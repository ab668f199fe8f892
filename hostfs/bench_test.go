package hostfs

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadFile compares a capped, in-root, special-file-refusing read with a plain
// os.ReadFile of the same small configuration file.
func BenchmarkReadFile(b *testing.B) {
	root := b.TempDir()
	p := filepath.Join(root, "etc/docker/daemon.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(`{"log-opts":{"max-size":"100m"}}`), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("hostfs", func(b *testing.B) {
		r := New(root)
		for b.Loop() {
			if _, err := r.ReadFile("/etc/docker/daemon.json"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hostfs-securejoin", func(b *testing.B) {
		forceFallback = true
		defer func() { forceFallback = false }()
		r := New(root)
		for b.Loop() {
			if _, err := r.ReadFile("/etc/docker/daemon.json"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("os", func(b *testing.B) {
		for b.Loop() {
			if _, err := os.ReadFile(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWriteFile is one atomic write at a link's target.
func BenchmarkWriteFile(b *testing.B) {
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "srv"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.Symlink("/srv/daemon.json", filepath.Join(root, "daemon.json")); err != nil {
		b.Fatal(err)
	}
	r := New(root)
	for b.Loop() {
		if _, err := r.WriteFile("/daemon.json", []byte("{}\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
