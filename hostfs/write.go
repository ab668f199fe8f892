package hostfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// WriteFile replaces the file p names with data, atomically, and returns the node path it
// wrote. When p is a symlink, its target inside the root is written and the link stays. An
// existing file keeps its mode and owner; a new one gets perm. Anything but a regular file
// at the target is refused. The directory must exist (MkdirAll).
func (r Root) WriteFile(p string, data []byte, perm fs.FileMode) (string, error) {
	dir, name, tp, err := r.target(p)
	if err != nil {
		return "", pathErr("write", p, err)
	}
	defer dir.Close()
	mode, uid, gid := uint32(perm.Perm()), -1, -1
	var st unix.Stat_t
	switch err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG:
		return "", pathErr("write", tp, fmt.Errorf("%w: is %s", ErrNotRegular, kindOf(st.Mode)))
	case err == nil:
		mode, uid, gid = st.Mode&0o7777, int(st.Uid), int(st.Gid)
	case err != unix.ENOENT:
		return "", pathErr("write", tp, err)
	}
	if err := writeAt(dir, name, data, mode, uid, gid, false); err != nil {
		return "", pathErr("write", tp, err)
	}
	return tp, nil
}

// WriteNew writes a file that must not exist yet (a backup), atomically, with exactly
// perm whatever the umask, owned by this process. A symlink at p is not followed: p
// itself must be free.
func (r Root) WriteNew(p string, data []byte, perm fs.FileMode) error {
	return r.atParent("create", p, func(dir *os.File, name string) error {
		return writeAt(dir, name, data, uint32(perm.Perm()), -1, -1, true)
	})
}

// writeAt writes data to a temporary file in dir, then renames it to name (refusing to
// replace an existing name with noReplace), fsyncing the file and the directory.
func writeAt(dir *os.File, name string, data []byte, mode uint32, uid, gid int, noReplace bool) (err error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := "." + name + ".ksdoctor-tmp-" + hex.EncodeToString(rnd[:])
	if len(tmp) > 255 {
		tmp = ".ksdoctor-tmp-" + hex.EncodeToString(rnd[:])
	}
	dfd := int(dir.Fd())
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), tmp)
	defer func() {
		if err != nil {
			f.Close()
			_ = unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = unix.Fchmod(fd, mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if uid >= 0 {
		// Keeping the owner needs privileges; without them the file is owned by the
		// writer, as any editor would leave it.
		_ = unix.Fchown(fd, uid, gid)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	if err = f.Close(); err != nil {
		return err
	}
	if noReplace {
		err = unix.Renameat2(dfd, tmp, dfd, name, unix.RENAME_NOREPLACE)
		if err == unix.EINVAL || err == unix.ENOSYS {
			// A filesystem without RENAME_NOREPLACE: link(2) refuses an existing name too.
			if err = unix.Linkat(dfd, tmp, dfd, name, 0); err == nil {
				_ = unix.Unlinkat(dfd, tmp, 0)
			}
		}
	} else {
		err = unix.Renameat(dfd, tmp, dfd, name)
	}
	if err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	syncDir(dir)
	return nil
}

func syncDir(dir *os.File) {
	fd, err := unix.Openat(int(dir.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	_ = unix.Fsync(fd)
	_ = unix.Close(fd)
}

// WriteExisting writes data over an existing regular file in place (kernel-backed files:
// /proc/sys). No component of p may be a symlink: /proc/sys holds none, and a link there
// is a trap, not a sysctl.
func (r Root) WriteExisting(p string, data []byte) error {
	h, err := r.handle(p, lookupFlags{noSymlinks: true})
	if err != nil {
		return pathErr("write", p, err)
	}
	defer h.Close()
	f, err := reopen(h, unix.O_WRONLY|unix.O_TRUNC, false)
	if err != nil {
		return pathErr("write", p, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return pathErr("write", p, err)
	}
	if err := f.Close(); err != nil {
		return pathErr("write", p, err)
	}
	return nil
}

// ReadExisting reads a file the way WriteExisting writes it: no symlink anywhere on p.
func (r Root) ReadExisting(p string, max int64) ([]byte, error) {
	h, err := r.handle(p, lookupFlags{noSymlinks: true})
	if err != nil {
		return nil, pathErr("read", p, err)
	}
	defer h.Close()
	return readHandle(h, p, max)
}

// OpenAppend opens p for appending (a journal), creating it with perm when missing. A
// symlink at p is followed inside the root; anything but a regular file is refused.
func (r Root) OpenAppend(p string, perm fs.FileMode) (*os.File, error) {
	dir, name, tp, err := r.target(p)
	if err != nil {
		return nil, pathErr("open", p, err)
	}
	defer dir.Close()
	for tries := 0; tries < 8; tries++ {
		fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			h := os.NewFile(uintptr(fd), tp)
			f, err := reopen(h, unix.O_WRONLY|unix.O_APPEND, false)
			h.Close()
			if err != nil {
				return nil, pathErr("open", tp, err)
			}
			return f, nil
		}
		if err != unix.ENOENT {
			return nil, pathErr("open", tp, err)
		}
		fd, err = unix.Openat(int(dir.Fd()), name, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err == unix.EEXIST {
			continue // created meanwhile: open what is there now
		}
		if err != nil {
			return nil, pathErr("open", tp, err)
		}
		_ = unix.Fchmod(fd, uint32(perm.Perm()))
		return os.NewFile(uintptr(fd), tp), nil
	}
	return nil, pathErr("open", tp, errors.New("the file keeps changing"))
}

// MkdirAll creates p and its missing parents inside the root with mode (links on the way
// followed inside the root), like os.MkdirAll.
func (r Root) MkdirAll(p string, mode fs.FileMode) error {
	root, err := r.openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	d, err := pathrs.MkdirAllHandle(root, rel(p), mode.Perm())
	if err != nil {
		return pathErr("mkdir", p, err)
	}
	d.Close()
	return nil
}

// Remove removes the file, link or empty directory p (a last symlink itself, not its
// target), like os.Remove.
func (r Root) Remove(p string) error {
	return r.atParent("remove", p, func(dir *os.File, name string) error {
		dfd := int(dir.Fd())
		err := unix.Unlinkat(dfd, name, 0)
		if err == unix.EISDIR || err == unix.EPERM {
			if derr := unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR); derr != unix.ENOTDIR {
				return derr
			}
		}
		return err
	})
}

// RemoveAll removes p and everything under it without following any symlink, like
// os.RemoveAll. A missing p is not an error.
func (r Root) RemoveAll(p string) error {
	err := r.atParent("remove", p, func(dir *os.File, name string) error {
		return removeAllAt(int(dir.Fd()), name)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func removeAllAt(dfd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(dfd, name, 0); err != nil && err != unix.ENOENT {
			return err
		}
		return nil
	}
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	for {
		names, err := d.Readdirnames(1024)
		for _, n := range names {
			if err := removeAllAt(fd, n); err != nil {
				return err
			}
		}
		if err != nil || len(names) == 0 {
			break
		}
	}
	if err := unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return err
	}
	return nil
}

// Rename renames oldp to newp (neither last component followed), like os.Rename.
func (r Root) Rename(oldp, newp string) error {
	od, on, err := r.parent(oldp)
	if err != nil {
		return pathErr("rename", oldp, err)
	}
	defer od.Close()
	nd, nn, err := r.parent(newp)
	if err != nil {
		return pathErr("rename", newp, err)
	}
	defer nd.Close()
	if err := unix.Renameat(int(od.Fd()), on, int(nd.Fd()), nn); err != nil {
		return pathErr("rename", oldp, err)
	}
	return nil
}

// Symlink creates the symlink p pointing at target (written as given: the node resolves
// it, and so does this package, inside the root).
func (r Root) Symlink(target, p string) error {
	return r.atParent("symlink", p, func(dir *os.File, name string) error {
		return unix.Symlinkat(target, int(dir.Fd()), name)
	})
}

// atParent runs fn on the handle of p's directory and p's last name; an
// error is op's on p.
func (r Root) atParent(op, p string, fn func(dir *os.File, name string) error) error {
	dir, name, err := r.parent(p)
	if err != nil {
		return pathErr(op, p, err)
	}
	defer dir.Close()
	if err := fn(dir, name); err != nil {
		return pathErr(op, p, err)
	}
	return nil
}
