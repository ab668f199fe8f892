package testbed

import (
	"errors"
	"testing"
)

// NewDir makes a fresh directory named prefix<n> under this process's state
// directory (BaseDir/p<PID>), for harnesses in other packages (testbed/kube's
// Node). KillStaleResources removes it should the test process die; the
// caller cleans it with Teardown.
func NewDir(t testing.TB, prefix string) string {
	t.Helper()
	return newDir(t, prefix)
}

// Teardown kills, by PID, every process whose command line mentions dir and
// their descendants (a containerd's shims and their containers), unmounts
// whatever is left below dir, deepest first, and removes it.
func Teardown(dir string) error {
	_, kerr := killProcessesUnder(dir, 0)
	return errors.Join(kerr, removeAll(dir))
}
