//go:build unix

package act

import (
	"os"
	"syscall"
)

// chownLike gives path the owner of fi, when this process may.
func chownLike(path string, fi os.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		_ = os.Lchown(path, int(st.Uid), int(st.Gid))
	}
}
