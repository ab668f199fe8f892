package hostfs

import (
	"io"
	"io/fs"
	"os"
)

// FS is an fs.FS view of the root for pure code (dockerconf's resolution): names are node
// paths without the leading slash, links resolve inside the root, special files are
// refused unopened, ReadFile is capped at DefaultMaxRead.
func (r Root) FS() fs.FS {
	return rootFS{r: r}
}

type rootFS struct{ r Root }

var (
	_ fs.ReadDirFS  = rootFS{}
	_ fs.ReadFileFS = rootFS{}
	_ fs.StatFS     = rootFS{}
)

func valid(op, name string) error {
	if !fs.ValidPath(name) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return nil
}

func (f rootFS) Open(name string) (fs.File, error) {
	if err := valid("open", name); err != nil {
		return nil, err
	}
	file, err := f.r.Open("/" + name)
	if err != nil {
		return nil, err
	}
	return &dirFile{File: file, r: f.r, name: "/" + name}, nil
}

func (f rootFS) ReadFile(name string) ([]byte, error) {
	if err := valid("read", name); err != nil {
		return nil, err
	}
	return f.r.ReadFile("/" + name)
}

func (f rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := valid("readdir", name); err != nil {
		return nil, err
	}
	return f.r.ReadDir("/" + name)
}

func (f rootFS) Stat(name string) (fs.FileInfo, error) {
	if err := valid("stat", name); err != nil {
		return nil, err
	}
	return f.r.Stat("/" + name)
}

// dirFile is an open file whose ReadDir lists inside the root (os.File's entries would be
// described through a path).
type dirFile struct {
	*os.File
	r      Root
	name   string
	ents   []fs.DirEntry
	listed bool
}

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.listed {
		ents, err := d.r.ReadDir(d.name)
		if err != nil {
			return nil, err
		}
		d.ents, d.listed = ents, true
	}
	if n <= 0 {
		out := d.ents
		d.ents = nil
		return out, nil
	}
	if len(d.ents) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(d.ents))
	out := d.ents[:k]
	d.ents = d.ents[k:]
	return out, nil
}

var _ fs.ReadLinkFS = rootFS{}

func (f rootFS) ReadLink(name string) (string, error) {
	if err := valid("readlink", name); err != nil {
		return "", err
	}
	return f.r.Readlink("/" + name)
}

func (f rootFS) Lstat(name string) (fs.FileInfo, error) {
	if err := valid("lstat", name); err != nil {
		return nil, err
	}
	return f.r.Lstat("/" + name)
}

// FSName is the name in FS of a node path ("." for the root).
func FSName(p string) string {
	return rel(p)
}
