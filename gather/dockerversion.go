package gather

import (
	"context"
	"errors"
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

// resolveForRelease resolves the configuration judged against the installed dockerd
// release: the Docker API's /version, else `dockerd --version` of the binary the unit (or
// the running process) starts, run under the host root with argv only and a bounded time.
// The files are resolved once when the API answers. DockerdVersionSource says where the
// release was read, or why it could not be.
func resolveForRelease(ctx context.Context, g *Gatherer, running []string) *diag.DockerConfFacts {
	v, from, apiErr := apiRelease(ctx, g)
	if apiErr == nil {
		facts := dockerconf.ResolveFor(g.Root().FS(), running, v)
		facts.DockerdVersionSource = from
		return facts
	}
	facts := dockerconf.Resolve(g.Root().FS(), running)
	v, from, err := binaryRelease(ctx, g, facts)
	if err != nil {
		facts.DockerdVersionSource = fmt.Sprintf("dockerd release unknown: %v; %v", apiErr, err)
		return facts
	}
	facts = dockerconf.ResolveFor(g.Root().FS(), running, v)
	facts.DockerdVersionSource = fmt.Sprintf("%s (%v)", from, apiErr)
	return facts
}

// apiRelease asks the Docker API's /version for the release.
func apiRelease(ctx context.Context, g *Gatherer) (dockerconf.Version, string, error) {
	if err := g.guardSocketActivation(ctx); err != nil {
		return dockerconf.Version{}, "", fmt.Errorf("Docker API /version: %w", err)
	}
	cli, err := g.DockerClient()
	if err != nil {
		return dockerconf.Version{}, "", fmt.Errorf("Docker API /version: %w", err)
	}
	vctx, cancel := context.WithTimeout(ctx, versionTimeout)
	sv, err := cli.ServerVersion(vctx)
	cancel()
	if err != nil {
		return dockerconf.Version{}, "", fmt.Errorf("Docker API /version: %w", err)
	}
	if v, ok := dockerconf.ParseVersion(sv.Version); ok {
		return v, "Docker API /version (" + sv.Version + ")", nil
	}
	return dockerconf.Version{}, "", fmt.Errorf("Docker API /version: unknown version %q", sv.Version)
}

// binaryRelease runs `dockerd --version` of the binary the unit or the running process
// names (else the usual places) under the host root.
func binaryRelease(ctx context.Context, g *Gatherer, facts *diag.DockerConfFacts) (dockerconf.Version, string, error) {
	var errs []string
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
	return dockerconf.Version{}, "", errors.New(strings.Join(errs, "; "))
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
