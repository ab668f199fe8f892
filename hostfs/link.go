package hostfs

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ProcLink returns the first component of the root's own path that is a
// link of procfs (/proc/PID/root, /proc/self), or "". The kernel follows
// such a link into the process's mount namespace, but its text is only a
// path as that process sees it: a tool that resolves a link's text itself
// (rsync 3.2.7 and later walk paths that way) lands in this process's own
// directories instead. Root's methods are not affected; tools handed a
// HostPath are.
func (r Root) ProcLink() string {
	p := "/"
	for _, c := range strings.Split(filepath.Clean(r.Dir()), "/") {
		if c == "" {
			continue
		}
		parent := p
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		var st unix.Statfs_t
		if err := unix.Statfs(parent, &st); err == nil && st.Type == unix.PROC_SUPER_MAGIC {
			return p
		}
	}
	return ""
}
