package gather

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ksdoctor/ksdoctor/diag"
)

// DefaultDockerRoot is Docker's data-root when the daemon cannot tell.
const DefaultDockerRoot = "/var/lib/docker"

// Filesystem purposes.
const (
	PurposeDockerRoot = "docker-data-root"
	PurposeRoot       = "root"
)

func gatherFilesystems(_ context.Context, g *Gatherer, s *diag.Snapshot) (func(*diag.Snapshot), error) {
	dockerRoot := DefaultDockerRoot
	if s.Docker != nil && s.Docker.DataRoot != "" {
		dockerRoot = s.Docker.DataRoot
	}
	// Mount points are a nicety: without mountinfo, statfs still works.
	mounts, _ := readMountinfo("/proc/self/mountinfo")
	var out []diag.Filesystem
	for _, want := range []struct{ purpose, path string }{
		{PurposeDockerRoot, dockerRoot},
		{PurposeRoot, "/"},
	} {
		out = append(out, g.statHostPath(want.purpose, want.path, mounts))
	}
	// A path that cannot be looked at is recorded on its filesystem entry;
	// the checks decide what that means (no Docker here, or an error).
	return func(s *diag.Snapshot) { s.Filesystems = out }, nil
}

// statHostPath statfs's a node path under the host root, following
// symlinks inside the host root (the seed moves /var/lib/docker by symlink).
func (g *Gatherer) statHostPath(purpose, nodePath string, mounts []mountEntry) diag.Filesystem {
	fs := diag.Filesystem{Purpose: purpose, Path: nodePath}
	real, err := ResolveInRoot(g.opts.HostRoot, nodePath)
	if err != nil {
		fs.Error = err.Error()
		return fs
	}
	var st unix.Statfs_t
	if err := unix.Statfs(real, &st); err != nil {
		fs.Error = fmt.Sprintf("statfs %s: %v", real, err)
		return fs
	}
	bs := uint64(st.Bsize)
	fs.TotalBytes = st.Blocks * bs
	fs.FreeBytes = st.Bavail * bs
	fs.UsedBytes = (st.Blocks - st.Bfree) * bs
	fs.TotalInodes = st.Files
	fs.FreeInodes = st.Ffree
	if m, ok := mountFor(mounts, real); ok {
		mp := m.mountPoint
		if root := filepath.Clean(g.opts.HostRoot); root != "/" {
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

// ResolveInRoot resolves symlinks in nodePath as the node would, keeping
// absolute link targets inside root. It returns the path to open.
func ResolveInRoot(root, nodePath string) (string, error) {
	root = filepath.Clean(root)
	parts := strings.Split(strings.Trim(filepath.Clean("/"+nodePath), "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0; {
		p := parts[0]
		parts = parts[1:]
		if p == "" || p == "." {
			continue
		}
		if p == ".." {
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, p)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", nodePath, err)
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("resolve %s: too many symlinks", nodePath)
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", nodePath, err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(cur, target)
		}
		parts = append(strings.Split(strings.Trim(filepath.Clean(target), "/"), "/"), parts...)
		cur = "/"
	}
	return filepath.Join(root, cur), nil
}

type mountEntry struct {
	mountPoint, fsType, source string
}

func readMountinfo(path string) ([]mountEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
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
