package gather

import (
	"context"
	"fmt"
	"os/exec"
	"path"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// versionTimeout bounds each way of asking for dockerd's release.
const versionTimeout = 2 * time.Second

// dockerdBinaries are where distributions install dockerd, tried after the unit's and
// the running process's argv[0].
var dockerdBinaries = []string{"/usr/bin/dockerd", "/usr/sbin/dockerd", "/usr/local/bin/dockerd"}

// dockerdRelease finds the installed dockerd release: the Docker API's /version, else
// `dockerd --version` of the binary the unit (or the running process) starts, run under
// the host root with argv only and a bounded time. It returns the release and where it
// was read, or why it could not be.
func dockerdRelease(ctx context.Context, g *Gatherer, facts *diag.DockerConfFacts) (dockerconf.Version, string, error) {
	var errs []string
	if cli, err := g.DockerClient(); err == nil {
		vctx, cancel := context.WithTimeout(ctx, versionTimeout)
		sv, err := cli.ServerVersion(vctx)
		cancel()
		if err == nil {
			if v, ok := dockerconf.ParseVersion(sv.Version); ok {
				return v, "Docker API /version (" + sv.Version + ")", nil
			}
			errs = append(errs, fmt.Sprintf("Docker API /version: unknown version %q", sv.Version))
		} else {
			errs = append(errs, fmt.Sprintf("Docker API /version: %v", err))
		}
	}
	for _, bin := range dockerdCandidates(facts) {
		if _, err := g.Root().Stat(bin); err != nil {
			continue
		}
		vctx, cancel := context.WithTimeout(ctx, versionTimeout)
		out, err := hostCommand(vctx, g.opts.HostRoot, bin, "--version").Output()
		cancel()
		line := strings.TrimSpace(string(out))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s --version: %v", bin, err))
			continue
		}
		if v, ok := dockerconf.ParseVersion(line); ok {
			return v, fmt.Sprintf("dockerd --version (%s: %s)", bin, line), nil
		}
		errs = append(errs, fmt.Sprintf("%s --version: unknown output %q", bin, line))
	}
	if len(errs) == 0 {
		errs = append(errs, "no dockerd binary found")
	}
	return dockerconf.Version{}, "", fmt.Errorf("dockerd release unknown: %s", strings.Join(errs, "; "))
}

// dockerdCandidates lists the dockerd binaries to ask, the unit's and the running one's
// first.
func dockerdCandidates(facts *diag.DockerConfFacts) []string {
	var out []string
	add := func(p string) {
		if path.IsAbs(p) && path.Base(p) == "dockerd" && !strings.Contains(strings.Join(out, "\x00"), p) {
			out = append(out, p)
		}
	}
	if facts.Unit != nil && len(facts.Unit.Argv) > 0 {
		add(strings.TrimLeft(facts.Unit.Argv[0], "-@:+!"))
	}
	if len(facts.RunningArgs) > 0 {
		add(facts.RunningArgs[0])
	}
	for _, b := range dockerdBinaries {
		add(b)
	}
	return out
}

// hostCommand runs bin (a path as the node sees it) with args under the host root: directly
// when the host root is "/", else chrooted into it, so the binary finds the node's libraries.
func hostCommand(ctx context.Context, hostRoot, bin string, args ...string) *exec.Cmd {
	if hostRoot == "" || hostRoot == "/" {
		return exec.CommandContext(ctx, bin, args...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	chrootCmd(cmd, hostRoot)
	return cmd
}
