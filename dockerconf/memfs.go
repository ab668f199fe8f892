package dockerconf

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// memFS is a read-only file tree in memory: the files recorded in the facts
// with the planned edits laid over them (Predict). Keys are slash paths
// without the leading "/"; directories are implied by the files' paths.
// It stands in for testing/fstest.MapFS, which the binary must not link.
type memFS map[string]memFile

type memFile struct {
	data []byte
	mode fs.FileMode
}

// Open opens a file, or a directory some file's path passes through.
func (m memFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if f, ok := m[name]; ok {
		return &memOpenFile{info: memInfo{name: path.Base(name), size: int64(len(f.data)), mode: f.mode}, r: bytes.NewReader(f.data)}, nil
	}
	ents, ok := m.entries(name)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memDir{info: memInfo{name: path.Base(name), mode: fs.ModeDir | 0o755}, ents: ents}, nil
}

// ReadDir lists a directory, sorted by name.
func (m memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	if _, ok := m[name]; ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	ents, ok := m.entries(name)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	return ents, nil
}

// entries lists the children of dir; false when no file lies under it
// (the root "." always exists).
func (m memFS) entries(dir string) ([]fs.DirEntry, bool) {
	prefix := dir + "/"
	if dir == "." {
		prefix = ""
	}
	seen := map[string]fs.DirEntry{}
	for p, f := range m {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || rest == "" {
			continue
		}
		child, _, isDir := strings.Cut(rest, "/")
		if isDir {
			seen[child] = fs.FileInfoToDirEntry(memInfo{name: child, mode: fs.ModeDir | 0o755})
		} else if _, dup := seen[child]; !dup {
			seen[child] = fs.FileInfoToDirEntry(memInfo{name: child, size: int64(len(f.data)), mode: f.mode})
		}
	}
	if len(seen) == 0 && dir != "." {
		return nil, false
	}
	out := make([]fs.DirEntry, 0, len(seen))
	for _, e := range seen {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, true
}

type memInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return i.mode }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.mode.IsDir() }
func (i memInfo) Sys() any           { return nil }

type memOpenFile struct {
	info memInfo
	r    *bytes.Reader
}

func (f *memOpenFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memOpenFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *memOpenFile) Close() error               { return nil }

type memDir struct {
	info memInfo
	ents []fs.DirEntry
	off  int
}

func (d *memDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *memDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: fs.ErrInvalid}
}
func (d *memDir) Close() error { return nil }

// ReadDir reads the next n entries (all when n <= 0), as fs.ReadDirFile.
func (d *memDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.ents[d.off:]
	if n <= 0 {
		d.off = len(d.ents)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return rest[:n], nil
}
