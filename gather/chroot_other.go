//go:build !unix

package gather

import (
	"errors"
	"os/exec"
)

// chrootCmd refuses to run cmd where there is no chroot: a binary of the node cannot run
// outside its own root.
func chrootCmd(cmd *exec.Cmd, _ string) {
	cmd.Err = errors.New("running a node binary under the host root needs chroot, which this platform lacks")
}
