package gather

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
)

// largestLogs is how many container log files the facts keep.
const largestLogs = 10

// gatherDockerConf resolves dockerd's configuration from the files under the host root and
// the running process's command line.
func gatherDockerConf(ctx context.Context, g *run, s *diag.Snapshot) (func(*diag.Snapshot), error) {
	var running []string
	var pid int
	if s.Dockerd != nil {
		running, pid = s.Dockerd.Args, s.Dockerd.PID
	}
	// Judge the files with the flags of the installed release.
	facts := resolveForRelease(ctx, g.Gatherer, running)
	if pid > 0 {
		if t, err := processStart(g.Root(), pid); err == nil {
			facts.DockerdStartedAt = t
		}
	}
	// The data-root the files name (the running daemon's is checked against it by
	// docker.options-drift); not waiting for the Docker API keeps this source parallel.
	dataRoot := "/var/lib/docker"
	if o, ok := diag.Option(facts.OnDisk, "data-root"); ok {
		dataRoot = o.Value
	}
	// dockerd resolves symlinks in its data-root at start, and /info reports the result.
	if real, err := g.Root().Resolve(dataRoot); err == nil && real != dataRoot {
		facts.DataRootResolved = real
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	facts.LargestLogs = containerLogs(g.Root(), dataRoot)
	if to := s.Inputs[diag.InputTo]; to != "" {
		from := dataRoot
		if o, ok := diag.Option(facts.Running, "data-root"); ok {
			from = o.Value
		}
		facts.Move = measureMove(ctx, g.Gatherer, from, to)
	}
	store := func(s *diag.Snapshot) { s.DockerConf = facts }
	if len(facts.Unjudged) > 0 {
		// Read in part is never parsed: the configuration checks could not judge.
		return store, fmt.Errorf("dockerd's configuration is not judged: %s", strings.Join(facts.Unjudged, "; "))
	}
	return store, nil
}

// containerLogs lists the largest <data-root>/containers/*/*-json.log files under the host root.
func containerLogs(root hostfs.Root, dataRoot string) []diag.LogFile {
	var out []diag.LogFile
	dirs, _ := root.ReadDir(path.Join(dataRoot, "containers"))
	for _, d := range dirs {
		files, _ := root.ReadDir(path.Join(dataRoot, "containers", d.Name()))
		for _, f := range files {
			if ok, _ := path.Match("*-json.log*", f.Name()); !ok || !f.Type().IsRegular() {
				continue
			}
			fi, err := f.Info()
			if err != nil {
				continue
			}
			out = append(out, diag.LogFile{
				Path:      path.Join(dataRoot, "containers", d.Name(), f.Name()),
				Container: d.Name(),
				Bytes:     fi.Size(),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	if len(out) > largestLogs {
		out = out[:largestLogs]
	}
	return out
}

// processStart reads when a process started from /proc/PID/stat and /proc/stat.
func processStart(root hostfs.Root, pid int) (time.Time, error) {
	b, err := root.ReadFileLimit("/proc/"+strconv.Itoa(pid)+"/stat", 64<<10)
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
	st, err := root.ReadFileLimit("/proc/stat", 16<<20)
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
