package gather

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
)

// gatherDockerdProcess finds the running dockerd: the PID in its pidfile
// when that process is a dockerd, else the only dockerd in the host's /proc.
func gatherDockerdProcess(_ context.Context, g *run, _ *diag.Snapshot) (func(*diag.Snapshot), error) {
	root := g.Root()
	if b, err := root.ReadFileLimit(g.opts.DockerdPIDFile, 64); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			if args, err := readCmdline(root, pid); err == nil && isDockerd(args) {
				p := &diag.DockerdProcess{PID: pid, Args: args, Found: "pidfile " + g.opts.DockerdPIDFile}
				return func(s *diag.Snapshot) { s.Dockerd = p }, nil
			}
		}
	}
	entries, err := root.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("scan /proc: %w", err)
	}
	var found []*diag.DockerdProcess
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := root.ReadFileLimit("/proc/"+e.Name()+"/comm", 64)
		if err != nil || strings.TrimSpace(string(comm)) != "dockerd" {
			continue
		}
		if args, err := readCmdline(root, pid); err == nil && isDockerd(args) {
			found = append(found, &diag.DockerdProcess{PID: pid, Args: args, Found: "scan of /proc"})
		}
	}
	switch len(found) {
	case 0:
		// Not an error of the look: dockerd is absent from this node now.
		return nil, diag.Absent(fmt.Sprintf("no running dockerd found (pidfile %s, scan of /proc)", g.opts.DockerdPIDFile))
	case 1:
		return func(s *diag.Snapshot) { s.Dockerd = found[0] }, nil
	}
	pids := make([]string, len(found))
	for i, p := range found {
		pids[i] = strconv.Itoa(p.PID)
	}
	return nil, fmt.Errorf("several dockerd processes (%s) and no pidfile at %s names one", strings.Join(pids, ", "), g.opts.DockerdPIDFile)
}

func readCmdline(root hostfs.Root, pid int) ([]string, error) {
	b, err := root.ReadFileLimit("/proc/"+strconv.Itoa(pid)+"/cmdline", maxCmdline)
	if err != nil {
		return nil, fmt.Errorf("read cmdline of %d: %w", pid, err)
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil, fmt.Errorf("process %d has no command line", pid)
	}
	return strings.Split(string(b), "\x00"), nil
}

// maxCmdline bounds what is read of a command line (the kernel's ARG_MAX is 2 MiB).
const maxCmdline = 4 << 20

func isDockerd(args []string) bool {
	return len(args) > 0 && filepath.Base(args[0]) == "dockerd"
}
