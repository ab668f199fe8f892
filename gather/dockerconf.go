package gather

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// largestLogs is how many container log files the facts keep.
const largestLogs = 10

// gatherDockerConf resolves dockerd's configuration from the files under the host root and
// the running process's command line.
func gatherDockerConf(ctx context.Context, g *Gatherer, s *diag.Snapshot) (func(*diag.Snapshot), error) {
	var running []string
	var pid int
	if s.Dockerd != nil {
		running, pid = s.Dockerd.Args, s.Dockerd.PID
	}
	facts := dockerconf.Resolve(os.DirFS(g.opts.HostRoot), running)
	// Judge the files with the flags of the installed release.
	if v, from, err := dockerdRelease(ctx, g, facts); err == nil {
		facts = dockerconf.ResolveFor(os.DirFS(g.opts.HostRoot), running, v)
		facts.DockerdVersionSource = from
	} else {
		facts.DockerdVersionSource = err.Error()
	}
	if pid > 0 {
		if t, err := processStart(g.HostPath("/proc"), pid); err == nil {
			facts.DockerdStartedAt = t
		}
	}
	// The data-root the files name (the running daemon's is checked against it by
	// docker.options-drift); not waiting for the Docker API keeps this source parallel.
	dataRoot := "/var/lib/docker"
	if o, ok := diag.Option(facts.OnDisk, "data-root"); ok {
		dataRoot = o.Value
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	facts.LargestLogs = containerLogs(g.HostPath(dataRoot), dataRoot)
	if to := s.Inputs["to"]; to != "" {
		from := dataRoot
		if o, ok := diag.Option(facts.Running, "data-root"); ok {
			from = o.Value
		}
		facts.Move = measureMove(ctx, g, from, to)
	}
	return func(s *diag.Snapshot) { s.DockerConf = facts }, nil
}

// containerLogs lists the largest <data-root>/containers/*/*-json.log files.
func containerLogs(dir, nodeDir string) []diag.LogFile {
	matches, _ := filepath.Glob(filepath.Join(dir, "containers", "*", "*-json.log*"))
	var out []diag.LogFile
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		rel, _ := filepath.Rel(dir, m)
		out = append(out, diag.LogFile{
			Path:      filepath.Join(nodeDir, rel),
			Container: filepath.Base(filepath.Dir(m)),
			Bytes:     fi.Size(),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	if len(out) > largestLogs {
		out = out[:largestLogs]
	}
	return out
}

// processStart reads when a process started from /proc/PID/stat and /proc/stat.
func processStart(proc string, pid int) (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return time.Time{}, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return time.Time{}, fmt.Errorf("stat of %d: no comm", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return time.Time{}, fmt.Errorf("stat of %d: short", pid)
	}
	ticks, err := strconv.ParseUint(fields[19], 10, 64) // field 22: starttime
	if err != nil {
		return time.Time{}, fmt.Errorf("stat of %d: %w", pid, err)
	}
	st, err := os.ReadFile(filepath.Join(proc, "stat"))
	if err != nil {
		return time.Time{}, fmt.Errorf("read /proc/stat: %w", err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			bt, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				break
			}
			const clkTck = 100 // USER_HZ on Linux
			return time.Unix(bt, 0).Add(time.Duration(ticks) * time.Second / clkTck).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("no btime in /proc/stat")
}
