// Package atomicfile writes files so that readers, and a crash at any
// moment, see either the old content or the new one, never a torn file:
// write a temporary file in the same directory, fsync it, rename it over
// the target, fsync the directory.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data. The file gets perm when it is new;
// an existing file keeps its mode and, when possible, its owner.
func Write(path string, data []byte, perm os.FileMode) error {
	uid, gid := -1, -1
	if fi, statErr := os.Stat(path); statErr == nil {
		perm = fi.Mode().Perm()
		uid, gid = ownerOf(fi)
	}
	return write(path, data, perm, uid, gid)
}

// WriteMode replaces path with data, mode perm whatever was there before
// (reports and snapshots: 0600 even over a 0644 file).
func WriteMode(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, -1, -1)
}

func write(path string, data []byte, perm os.FileMode, uid, gid int) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".ksdoctor-tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: chmod: %w", path, err)
	}
	if uid >= 0 {
		// Keeping the owner needs privileges; without them the file is
		// owned by the writer, as any editor would leave it.
		_ = tmp.Chown(uid, gid)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: rename: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
