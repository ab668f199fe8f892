//go:build !unix

package gather

import "os/exec"

// chrootCmd is a no-op where there is no chroot: the binary runs from the host root's path.
func chrootCmd(cmd *exec.Cmd, root string) {
	cmd.Path = root + cmd.Path
}
