package gather

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
)

// DefaultDockerRoot is Docker's data-root when the daemon cannot tell.
const DefaultDockerRoot = "/var/lib/docker"

// Filesystem purposes.
const (
	PurposeDockerRoot = "docker-data-root"
	PurposeRoot       = "root"
)

func gatherFilesystems(_ context.Context, g *run, s *diag.Snapshot) (func(*diag.Snapshot), error) {
	dockerRoot := DefaultDockerRoot
	if s.Docker != nil && s.Docker.DataRoot != "" {
		dockerRoot = s.Docker.DataRoot
	}
	// Mount points are a nicety: without mountinfo, statfs still works. The table is
	// this process's own (its paths are the ones statfs is asked about), not a node
	// file; under a host root that is /proc/PID/root, it is PID's, whose paths are
	// the node's.
	table, nodePaths := "/proc/self/mountinfo", false
	if pid, ok := procRootPID(g.opts.HostRoot); ok {
		table, nodePaths = "/proc/"+pid+"/mountinfo", true
	}
	mounts, _ := readMountinfo(hostfs.Self, table)
	var out []diag.Filesystem
	for _, want := range []struct{ purpose, path string }{
		{PurposeDockerRoot, dockerRoot},
		{PurposeRoot, "/"},
	} {
		out = append(out, g.statHostPath(want.purpose, want.path, mounts, nodePaths))
	}
	// A path that cannot be looked at is recorded on its filesystem entry;
	// the checks decide what that means (no Docker here, or an error).
	return func(s *diag.Snapshot) { s.Filesystems = out }, nil
}

// procRootPID returns PID when hostRoot is /proc/PID/root (a process's
// root, reached through its mount namespace).
func procRootPID(hostRoot string) (string, bool) {
	rest, ok := strings.CutPrefix(filepath.Clean(hostRoot), "/proc/")
	if !ok {
		return "", false
	}
	pid, tail, _ := strings.Cut(rest, "/")
	if tail != "root" || pid == "" || strings.Trim(pid, "0123456789") != "" {
		return "", false
	}
	return pid, true
}

// statHostPath statfs's a node path under the host root, following
// symlinks inside the host root (the seed moves /var/lib/docker by symlink).
// mounts speaks of the node's paths when nodePaths, else of this process's.
func (g *Gatherer) statHostPath(purpose, nodePath string, mounts []mountEntry, nodePaths bool) diag.Filesystem {
	fs := diag.Filesystem{Purpose: purpose, Path: nodePath}
	root := g.Root()
	st, err := root.Statfs(nodePath)
	if err != nil {
		fs.Error = err.Error()
		return fs
	}
	bs := uint64(st.Bsize)
	fs.TotalBytes = st.Blocks * bs
	fs.FreeBytes = st.Bavail * bs
	fs.UsedBytes = (st.Blocks - st.Bfree) * bs
	fs.TotalInodes = st.Files
	fs.FreeInodes = st.Ffree
	real, err := root.HostPath(nodePath)
	if nodePaths {
		real, err = "/", nil
		if filepath.Clean("/"+nodePath) != "/" {
			real, err = root.Resolve(nodePath)
		}
	}
	if err != nil {
		return fs
	}
	if m, ok := mountFor(mounts, real); ok {
		mp := m.mountPoint
		if root := filepath.Clean(g.opts.HostRoot); root != "/" && !nodePaths {
			if rel, err := filepath.Rel(root, mp); err == nil && !strings.HasPrefix(rel, "..") {
				mp = "/" + rel
				if rel == "." {
					mp = "/"
				}
			}
		}
		fs.MountPoint = filepath.Clean(mp)
		fs.FSType = m.fsType
		fs.Device = m.source
	}
	return fs
}

type mountEntry struct {
	mountPoint, fsType, source string
}

func readMountinfo(root hostfs.Root, path string) ([]mountEntry, error) {
	data, err := root.ReadFileLimit(path, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var out []mountEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 2 {
			continue
		}
		out = append(out, mountEntry{mountPoint: unescapeMount(a[4]), fsType: b[0], source: unescapeMount(b[1])})
	}
	return out, sc.Err()
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// mountFor returns the mount holding path: the longest mount point that is
// a prefix of it, the last one listed when mounts are stacked.
func mountFor(mounts []mountEntry, path string) (mountEntry, bool) {
	best, found := mountEntry{}, false
	for _, m := range mounts {
		mp := m.mountPoint
		if path == mp || mp == "/" || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/") {
			if !found || len(mp) >= len(best.mountPoint) {
				best, found = m, true
			}
		}
	}
	return best, found
}
