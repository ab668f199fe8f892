package testbed

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// BaseDir holds the state of every test process that uses the package, one
// p<PID> directory each.
const BaseDir = "/var/tmp/ksdoctor-testbed"

var (
	seq        atomic.Int64
	rootOnce   sync.Once
	rootDir    string
	rootDirErr error
)

// nextID returns a number unique within the process, for names.
func nextID() int64 { return seq.Add(1) }

// processDir returns this process's state directory, creating it with its
// owner file on first use.
func processDir() (string, error) {
	rootOnce.Do(func() {
		pid := os.Getpid()
		start, err := procStartTime(pid)
		if err != nil {
			rootDirErr = err
			return
		}
		dir := filepath.Join(BaseDir, fmt.Sprintf("p%d", pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			rootDirErr = fmt.Errorf("create state dir: %w", err)
			return
		}
		owner := fmt.Sprintf("%d %d\n", pid, start)
		if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(owner), 0o644); err != nil {
			rootDirErr = fmt.Errorf("write owner file: %w", err)
			return
		}
		rootDir = dir
	})
	return rootDir, rootDirErr
}

// newDir makes a fresh directory named prefix<n> under the process directory.
func newDir(t interface{ Fatalf(string, ...any) }, prefix string) string {
	root, err := processDir()
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	dir := filepath.Join(root, fmt.Sprintf("%s%d", prefix, nextID()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testbed: create %s: %v", dir, err)
	}
	return dir
}

// procStartTime returns a process's start time in clock ticks since boot
// (field 22 of /proc/PID/stat), which tells a live process from a later one
// that reused its PID.
func procStartTime(pid int) (uint64, error) {
	fields, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	if len(fields) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat: too few fields", pid)
	}
	v, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse start time of %d: %w", pid, err)
	}
	return v, nil
}

// procStat returns the fields of /proc/PID/stat after the command name,
// starting with the state (field 3).
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, fmt.Errorf("read process status: %w", err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	return strings.Fields(s[i+1:]), nil
}

// alive reports whether pid names a process that has not exited (zombies
// count as exited).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	f, err := procStat(pid)
	if err != nil || len(f) == 0 {
		return false
	}
	return f[0] != "Z" && f[0] != "X"
}

type procInfo struct {
	pid, ppid int
	cmdline   string
}

// processes lists all processes with their parent and command line.
func processes() ([]procInfo, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var ps []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := procStat(pid)
		if err != nil || len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		ps = append(ps, procInfo{pid: pid, ppid: ppid, cmdline: strings.ReplaceAll(string(cl), "\x00", " ")})
	}
	return ps, nil
}

// killProcessesUnder kills, by PID, every process whose command line
// mentions dir, and all their descendants (container processes are children
// of shims that mention the exec root). It returns the PIDs it signalled.
func killProcessesUnder(dir string, except int) ([]int, error) {
	ps, err := processes()
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, p := range ps {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	marked := map[int]bool{}
	var mark func(int)
	mark = func(pid int) {
		if marked[pid] || pid == except || pid == os.Getpid() || pid <= 1 {
			return
		}
		marked[pid] = true
		for _, c := range children[pid] {
			mark(c)
		}
	}
	for _, p := range ps {
		if strings.Contains(p.cmdline, dir+"/") || strings.HasSuffix(p.cmdline, dir) {
			mark(p.pid)
		}
	}
	var pids []int
	for pid := range marked {
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			pids = append(pids, pid)
		}
	}
	waitGone(pids, 5*time.Second)
	return pids, nil
}

// waitGone waits until none of pids is alive or the time is up.
func waitGone(pids []int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		left := false
		for _, pid := range pids {
			if alive(pid) {
				left = true
				break
			}
		}
		if !left {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	var mps []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mps = append(mps, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	sort.SliceStable(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
	return mps, nil
}

// unescapeMount decodes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountUnder unmounts everything at or below dir, deepest first, lazily
// when a mount is busy.
func unmountUnder(dir string) error {
	var errs []error
	for range 3 {
		mps, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(mps) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, mp := range mps {
			if err := unix.Unmount(mp, 0); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				if err2 := unix.Unmount(mp, unix.MNT_DETACH); err2 != nil && !errors.Is(err2, unix.EINVAL) {
					errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err2))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// detachLoopsUnder detaches loop devices whose backing file is below dir.
func detachLoopsUnder(dir string) error {
	return detachLoops(func(back string) bool { return strings.HasPrefix(back, dir+"/") })
}

// detachLoops detaches loop devices whose backing file matches.
func detachLoops(match func(backFile string) bool) error {
	out, err := run("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE")
	if err != nil {
		return fmt.Errorf("list loop devices: %w", err)
	}
	var errs []error
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		back := strings.TrimSuffix(strings.Join(f[1:], " "), " (deleted)")
		if match(back) {
			if _, err := run("losetup", "-d", f[0]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// removeAll unmounts what is left below dir, then removes it.
func removeAll(dir string) error {
	err := unmountUnder(dir)
	if left, _ := mountsUnder(dir); len(left) > 0 {
		// Never recurse into a file system that is still mounted.
		return errors.Join(err, fmt.Errorf("keep %s: still mounted: %s", dir, strings.Join(left, ", ")))
	}
	if err2 := os.RemoveAll(dir); err2 != nil {
		err = errors.Join(err, fmt.Errorf("remove %s: %w", dir, err2))
	}
	return err
}
