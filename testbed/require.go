package testbed

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// sbinPath is the PATH given to the tools and daemons the package starts; test
// binaries often run with a PATH that lacks the sbin directories.
const sbinPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// baseTools are needed by every helper of the package.
var baseTools = []string{"ip", "nsenter", "mount", "umount"}

// Require skips the test unless it runs as root and every tool is found in
// PATH or the sbin directories (the tools used by the helpers themselves are
// always checked). When the environment variable CI is "true" it fails the
// test instead of skipping it: real-part tests must never skip in CI.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root privileges")
	}
	for _, tool := range append(append([]string{}, baseTools...), tools...) {
		if _, err := lookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "testbed: missing " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: real-part tests must not skip)")
	}
	t.Skip(msg)
}

// lookPath finds a tool in PATH, then in the sbin directories.
func lookPath(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, dir := range strings.Split(sbinPath, ":") {
		p := dir + "/" + tool
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &exec.Error{Name: tool, Err: exec.ErrNotFound}
}

// command builds an exec.Cmd whose environment has the sbin directories in
// PATH.
func command(name string, args ...string) *exec.Cmd {
	if p, err := lookPath(name); err == nil {
		name = p
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "PATH="+sbinPath)
	return cmd
}

// run runs a command and returns its combined output, with the output in the
// error when it fails.
func run(name string, args ...string) (string, error) {
	out, err := command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), &cmdError{argv: append([]string{name}, args...), out: string(out), err: err}
	}
	return string(out), nil
}

type cmdError struct {
	argv []string
	out  string
	err  error
}

func (e *cmdError) Error() string {
	return strings.Join(e.argv, " ") + ": " + e.err.Error() + ": " + strings.TrimSpace(e.out)
}

func (e *cmdError) Unwrap() error { return e.err }
