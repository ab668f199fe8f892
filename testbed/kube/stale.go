package kube

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

var (
	staleLink   = regexp.MustCompile(`^ksk(\d+)`)
	staleCgroup = regexp.MustCompile(`^ksdt-(\d+)-`)
)

// pidAlive reports whether a process with pid exists.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// CleanStaleNodes removes what the node harness of a test process that is
// gone left behind (a test killed at its -timeout runs no cleanup): its
// veths (their routes go with them) and its nodes' cgroups, after killing
// the processes still in them. testbed.KillStaleResources removes the rest
// (state directories, mounts, namespaces, daemons). NewNodeNet calls it.
func CleanStaleNodes() error {
	var errs []error
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if m := staleLink.FindStringSubmatch(i.Name); m != nil {
			if pid, _ := strconv.Atoi(m[1]); pid != os.Getpid() && !pidAlive(pid) {
				// Deleting one end of a veth deletes its peer: one may be gone.
				if out, err := exec.Command("ip", "link", "del", i.Name).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
					errs = append(errs, fmt.Errorf("delete stale link %s: %v: %s", i.Name, err, out))
				}
			}
		}
	}
	ents, _ := os.ReadDir("/sys/fs/cgroup/pids")
	for _, e := range ents {
		m := staleCgroup.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if pid, _ := strconv.Atoi(m[1]); pid == os.Getpid() || pidAlive(pid) {
			continue
		}
		cg := "/" + e.Name()
		errs = append(errs, killCgroup(cg), removeCgroup(cg))
	}
	// The unified hierarchy may hold a stale cgroup the pids one lost.
	ents, _ = os.ReadDir("/sys/fs/cgroup/unified")
	for _, e := range ents {
		if m := staleCgroup.FindStringSubmatch(e.Name()); m != nil {
			if pid, _ := strconv.Atoi(m[1]); pid != os.Getpid() && !pidAlive(pid) {
				errs = append(errs, removeCgroup("/"+e.Name()))
			}
		}
	}
	return errors.Join(errs...)
}
