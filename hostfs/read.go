package hostfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"syscall"
	"time"
	"unsafe"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// DefaultMaxRead caps ReadFile: no configuration file, pidfile or /proc entry the gatherers
// read comes near it.
const DefaultMaxRead = 64 << 20

// ErrTooLarge is wrapped by a read that met its cap.
var ErrTooLarge = errors.New("file larger than the read limit")

// ErrNotRegular is wrapped when a path is a FIFO, device, socket (or a directory where a
// file is wanted): such a path is never opened.
var ErrNotRegular = errors.New("not a regular file")

// kindOf names a file type for errors.
func kindOf(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symlink"
	}
	return "not a regular file"
}

// reopen checks what an O_PATH handle is and re-opens a regular file (or, with dirOK, a
// directory) with flags; anything else is refused without ever being opened.
func reopen(h *os.File, flags int, dirOK bool) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return nil, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		if !dirOK {
			return nil, fmt.Errorf("%w: is a directory", ErrNotRegular)
		}
		flags |= unix.O_DIRECTORY
	default:
		return nil, fmt.Errorf("%w: is %s", ErrNotRegular, kindOf(st.Mode))
	}
	f, err := pathrs.Reopen(h, flags|unix.O_NOCTTY)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Open opens a regular file or a directory under the root for reading, following links
// inside the root. FIFOs, devices and sockets are refused unopened.
func (r Root) Open(p string) (*os.File, error) {
	h, err := r.handle(p, lookupFlags{})
	if err != nil {
		return nil, pathErr("open", p, err)
	}
	defer h.Close()
	f, err := reopen(h, unix.O_RDONLY, true)
	if err != nil {
		return nil, pathErr("open", p, err)
	}
	return f, nil
}

// ReadFile reads a regular file under the root, up to DefaultMaxRead bytes.
func (r Root) ReadFile(p string) ([]byte, error) {
	return r.ReadFileLimit(p, DefaultMaxRead)
}

// ReadFileLimit reads a regular file under the root. A file longer than max gives its
// first max bytes and an error wrapping ErrTooLarge.
func (r Root) ReadFileLimit(p string, max int64) ([]byte, error) {
	h, err := r.handle(p, lookupFlags{})
	if err != nil {
		return nil, pathErr("read", p, err)
	}
	defer h.Close()
	return readHandle(h, p, max)
}

func readHandle(h *os.File, p string, max int64) ([]byte, error) {
	f, err := reopen(h, unix.O_RDONLY, false)
	if err != nil {
		return nil, pathErr("read", p, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, pathErr("read", p, err)
	}
	if int64(len(data)) > max {
		return data[:max], pathErr("read", p, fmt.Errorf("%w (%d bytes)", ErrTooLarge, max))
	}
	return data, nil
}

// Stat describes p, following links inside the root. It opens nothing but a handle.
func (r Root) Stat(p string) (fs.FileInfo, error) {
	return r.stat("stat", p, lookupFlags{})
}

// Lstat describes p without following a last symlink.
func (r Root) Lstat(p string) (fs.FileInfo, error) {
	return r.stat("lstat", p, lookupFlags{noFollow: true})
}

func (r Root) stat(op, p string, lf lookupFlags) (fs.FileInfo, error) {
	h, err := r.handle(p, lf)
	if err != nil {
		return nil, pathErr(op, p, err)
	}
	defer h.Close()
	fi, err := h.Stat()
	if err != nil {
		return nil, pathErr(op, p, err)
	}
	return fi, nil
}

// Statfs describes the filesystem holding p (links followed inside the root).
func (r Root) Statfs(p string) (unix.Statfs_t, error) {
	var st unix.Statfs_t
	h, err := r.handle(p, lookupFlags{})
	if err != nil {
		return st, pathErr("statfs", p, err)
	}
	defer h.Close()
	if err := unix.Fstatfs(int(h.Fd()), &st); err != nil {
		return st, pathErr("statfs", p, err)
	}
	return st, nil
}

// Readlink returns the target of the symlink p, as written in the link.
func (r Root) Readlink(p string) (string, error) {
	var t string
	err := r.atParent("readlink", p, func(dir *os.File, name string) (err error) {
		t, err = readlinkAt(dir, name)
		return err
	})
	return t, err
}

// ReadDir lists a directory under the root, sorted by name. Each entry is described by
// fstatat on the directory's handle (a symlink as a symlink), never through a path.
func (r Root) ReadDir(p string) ([]fs.DirEntry, error) {
	f, err := r.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, pathErr("readdir", p, err)
	}
	slices.Sort(names)
	out := make([]fs.DirEntry, 0, len(names))
	for _, n := range names {
		var st syscall.Stat_t // what os's FileInfo.Sys holds; x/sys/unix's has the same layout
		if err := unix.Fstatat(int(f.Fd()), n, (*unix.Stat_t)(unsafe.Pointer(&st)), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // removed since it was listed
		}
		out = append(out, fs.FileInfoToDirEntry(statInfo{name: n, st: st}))
	}
	return out, nil
}

// statInfo is an fs.FileInfo made from a stat(2) result; Sys is a *syscall.Stat_t as
// with os.
type statInfo struct {
	name string
	st   syscall.Stat_t
}

func (s statInfo) Name() string       { return s.name }
func (s statInfo) Size() int64        { return s.st.Size }
func (s statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()).UTC() }
func (s statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s statInfo) Sys() any           { return &s.st }

func (s statInfo) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	}
	if s.st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if s.st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if s.st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}
