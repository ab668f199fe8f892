package testbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KillStaleResources removes what test processes that are gone (crashed,
// killed by a timeout) left behind: for each p<PID> directory under BaseDir
// whose owner is no longer running it stops the daemons recorded in its
// pidfiles (SIGTERM, then SIGKILL, by PID and only when the process's command
// line names that directory), kills the containerd, shims and container
// processes started from it, unmounts everything below it, detaches its loop
// devices and removes it; then it deletes the ksdt-<PID>-<n> network
// namespaces whose PID is gone. Resources of live processes are never
// touched, so it is safe to call from TestMain while other tests run.
func KillStaleResources() error {
	var errs []error
	ents, err := os.ReadDir(BaseDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("read %s: %w", BaseDir, err))
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "p") {
			continue
		}
		dir := filepath.Join(BaseDir, e.Name())
		if ownerAlive(dir) {
			continue
		}
		if err := cleanStaleDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	out, err := run("ip", "netns", "list")
	if err != nil {
		errs = append(errs, err)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], NetnsPrefix) {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(f[0], NetnsPrefix), "-")
		pid, err := strconv.Atoi(parts[0])
		if err != nil || len(parts) != 2 || alive(pid) {
			continue
		}
		if _, err := run("ip", "netns", "del", f[0]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ownerAlive reads a process directory's owner file and reports whether
// that process (same PID and start time) still runs. A directory without an
// owner file is treated as live when it is younger than a minute (its owner
// may be writing it).
func ownerAlive(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "owner"))
	if err != nil {
		fi, err := os.Stat(dir)
		return err == nil && time.Since(fi.ModTime()) < time.Minute
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscan(string(b), &pid, &start); err != nil {
		return false
	}
	if pid == os.Getpid() {
		return true
	}
	got, err := procStartTime(pid)
	return err == nil && got == start && alive(pid)
}

// cleanStaleDir stops and removes everything a dead test process left in dir.
func cleanStaleDir(dir string) error {
	var errs []error
	pidfiles, _ := filepath.Glob(filepath.Join(dir, "*", "d.pid"))
	var pids []int
	for _, pf := range pidfiles {
		b, err := os.ReadFile(pf)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || !alive(pid) {
			continue
		}
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !strings.Contains(string(cl), filepath.Dir(pf)+"/") {
			continue // PID reused by something else
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
		pids = append(pids, pid)
	}
	waitGone(pids, 15*time.Second)
	if _, err := killProcessesUnder(dir, 0); err != nil {
		errs = append(errs, err)
	}
	if err := unmountUnder(dir); err != nil {
		errs = append(errs, err)
	}
	if err := detachLoopsUnder(dir); err != nil {
		errs = append(errs, err)
	}
	// The loop images live next to their mount directories.
	if err := removeAll(dir); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("clean %s: %w", dir, errors.Join(errs...))
	}
	return nil
}
