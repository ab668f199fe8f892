//go:build unix

package gather

import (
	"os/exec"
	"syscall"
)

// chrootCmd makes cmd run with root as its root directory.
func chrootCmd(cmd *exec.Cmd, root string) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	cmd.Dir = "/"
}
