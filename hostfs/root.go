package hostfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// Root is a host root. The zero value is the root "/".
type Root struct {
	dir string
}

// New returns the host root dir ("" means "/").
func New(dir string) Root {
	if dir == "" {
		dir = "/"
	}
	return Root{dir: filepath.Clean(dir)}
}

// Self is this process's own filesystem view, for the files about this process
// (/proc/self/mountinfo): never a node path.
var Self = New("/")

// Dir is the root as this process sees it.
func (r Root) Dir() string {
	if r.dir == "" {
		return "/"
	}
	return r.dir
}

// maxHops bounds the symlinks followed when resolving one path (the kernel's MAXSYMLINKS).
const maxHops = 40

// forceFallback makes every lookup use the library's user-space resolver (tests).
var forceFallback bool

// hasOpenat2 tells whether openat2(RESOLVE_IN_ROOT) works here.
var hasOpenat2 = sync.OnceValue(func() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return false
	}
	_ = unix.Close(fd)
	return true
})

// clean maps a node path to a clean absolute path ("/" for the root); ".." stops at "/".
func clean(p string) string {
	return path.Clean("/" + p)
}

// rel is a clean node path relative to the root ("." for the root).
func rel(p string) string {
	if c := clean(p); c != "/" {
		return c[1:]
	}
	return "."
}

func pathErr(op, p string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: clean(p), Err: err}
}

// openRoot opens the root directory itself (a handle, no I/O).
func (r Root) openRoot() (*os.File, error) {
	f, err := os.OpenFile(r.Dir(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("host root: %w", err)
	}
	return f, nil
}

// lookupFlags say how the last component and the others are treated.
type lookupFlags struct {
	noFollow   bool // the last component is not followed (a link is returned as a link)
	noSymlinks bool // no component may be a symlink at all
}

// lookup returns an O_PATH handle of the node path p inside root.
func lookup(root *os.File, p string, lf lookupFlags) (*os.File, error) {
	rp := rel(p)
	if !forceFallback && hasOpenat2() {
		how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
		if lf.noFollow {
			how.Flags |= unix.O_NOFOLLOW
		}
		if lf.noSymlinks {
			how.Resolve |= unix.RESOLVE_NO_SYMLINKS
		}
		for tries := 0; ; tries++ {
			fd, err := unix.Openat2(int(root.Fd()), rp, &how)
			// EAGAIN: a rename raced the lookup (RESOLVE_IN_ROOT is conservative): retry.
			if err == unix.EAGAIN && tries < 32 || err == unix.EINTR {
				continue
			}
			if err != nil {
				return nil, err
			}
			return os.NewFile(uintptr(fd), clean(p)), nil
		}
	}
	switch {
	case lf.noSymlinks:
		return walkNoSymlinks(root, rp)
	case lf.noFollow && rp != ".":
		dir, err := pathrs.OpenatInRoot(root, path.Dir(rp))
		if err != nil {
			return nil, err
		}
		defer dir.Close()
		fd, err := unix.Openat(int(dir.Fd()), path.Base(rp), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), clean(p)), nil
	}
	return pathrs.OpenatInRoot(root, rp)
}

// walkNoSymlinks opens rp one component at a time, refusing any symlink (the fallback of
// RESOLVE_NO_SYMLINKS; rp is clean, so it holds no "..").
func walkNoSymlinks(root *os.File, rp string) (*os.File, error) {
	cur, err := unix.Dup(int(root.Fd()))
	if err != nil {
		return nil, err
	}
	if rp != "." {
		for _, c := range strings.Split(rp, "/") {
			next, err := unix.Openat(cur, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			_ = unix.Close(cur)
			if err != nil {
				return nil, err
			}
			var st unix.Stat_t
			if err := unix.Fstat(next, &st); err != nil {
				_ = unix.Close(next)
				return nil, err
			}
			if st.Mode&unix.S_IFMT == unix.S_IFLNK {
				_ = unix.Close(next)
				return nil, unix.ELOOP
			}
			cur = next
		}
	}
	return os.NewFile(uintptr(cur), "/"+rp), nil
}

// handle returns an O_PATH handle of p inside the root.
func (r Root) handle(p string, lf lookupFlags) (*os.File, error) {
	root, err := r.openRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return lookup(root, p, lf)
}

// parent returns a handle of the directory holding p (found inside the root, links
// followed) and p's last name. The root itself has no parent.
func (r Root) parent(p string) (*os.File, string, error) {
	root, err := r.openRoot()
	if err != nil {
		return nil, "", err
	}
	defer root.Close()
	return parentIn(root, p)
}

// parentIn is parent under an open root.
func parentIn(root *os.File, p string) (*os.File, string, error) {
	c := clean(p)
	if c == "/" {
		return nil, "", errors.New("the host root itself")
	}
	dir, err := lookup(root, path.Dir(c), lookupFlags{})
	if err != nil {
		return nil, "", err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(dir.Fd()), &st); err != nil {
		dir.Close()
		return nil, "", err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		dir.Close()
		return nil, "", unix.ENOTDIR
	}
	return dir, path.Base(c), nil
}

// nodePath is where a handle found inside root is, as the node sees it.
func nodePath(root, f *os.File) (string, error) {
	rootPath, err := procfs.ProcSelfFdReadlink(root)
	if err != nil {
		return "", err
	}
	fp, err := procfs.ProcSelfFdReadlink(f)
	if err != nil {
		return "", err
	}
	if rootPath == "/" {
		return fp, nil
	}
	if fp == rootPath {
		return "/", nil
	}
	if rest, ok := strings.CutPrefix(fp, rootPath+"/"); ok {
		return "/" + rest, nil
	}
	return "", fmt.Errorf("%s is not under the host root %s", fp, rootPath)
}

// target follows p's last component through symlinks, inside the root, to what it names:
// it returns a handle of the directory that holds the target, the target's name there and
// the target's node path (every directory on it resolved). The target need not exist.
func (r Root) target(p string) (*os.File, string, string, error) {
	root, err := r.openRoot()
	if err != nil {
		return nil, "", "", err
	}
	defer root.Close()
	cur := clean(p)
	for hops := 0; ; hops++ {
		dir, name, err := parentIn(root, cur)
		if err != nil {
			return nil, "", "", err
		}
		dirPath, err := nodePath(root, dir)
		if err != nil {
			dir.Close()
			return nil, "", "", err
		}
		link, err := readlinkAt(dir, name)
		if err == unix.EINVAL || err == unix.ENOENT {
			return dir, name, path.Join(dirPath, name), nil
		}
		dir.Close()
		if err != nil {
			return nil, "", "", err
		}
		if hops >= maxHops {
			return nil, "", "", unix.ELOOP
		}
		if path.IsAbs(link) {
			cur = clean(link)
		} else {
			cur = clean(path.Join(dirPath, link))
		}
	}
}

func readlinkAt(dir *os.File, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(int(dir.Fd()), name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
		if size > 1<<16 {
			return "", unix.ENAMETOOLONG
		}
	}
}

// Resolve follows p through symlinks inside the root and returns the node path it names
// (every component resolved; the last one need not exist).
func (r Root) Resolve(p string) (string, error) {
	dir, _, tp, err := r.target(p)
	if err != nil {
		return "", pathErr("resolve", p, err)
	}
	dir.Close()
	return tp, nil
}

// HostPath resolves p inside the root and returns the path this process opens for it, for
// tools that take a path, not a handle (rsync, statfs of a mount table entry). Anything
// else uses the methods of Root.
func (r Root) HostPath(p string) (string, error) {
	tp, err := r.Resolve(p)
	if err != nil {
		return "", err
	}
	return filepath.Join(r.Dir(), tp), nil
}
