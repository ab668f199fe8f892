// Package hostfs is the one opener for every path on the node: every read and every write
// of a host path goes through a Root, the host root (--host-root: "/" on the node, "/host"
// in a pod).
//
// What it guarantees, for every operation:
//   - Symlinks resolve inside the root, as they would on the node: an absolute link target
//     starts at the root, ".." stops at it. Nothing outside the root is read or changed, ever.
//     Magic links (/proc/PID/root, /proc/PID/fd/N) are refused.
//   - FIFOs, devices and sockets are never opened: the path is looked up with O_PATH, the
//     handle is fstat'ed, and only a regular file (or a directory) is re-opened for I/O
//     through /proc/self/fd, so the same inode is read that was checked.
//   - Reads are capped (DefaultMaxRead unless the caller asks for another cap).
//   - Writes are atomic (temporary file, fsync, rename, directory fsync) at a symlink's
//     TARGET inside the root: a /etc/docker/daemon.json that configuration management links
//     elsewhere is edited where it points and the link stays. An existing file keeps its
//     mode and owner; a backup (WriteNew) gets exactly the mode asked (0600), never the
//     original's.
//
// How: the lookup is openat2(2) with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS on a handle of
// the root (golang.org/x/sys/unix); where openat2 is unavailable (kernels before 5.6,
// seccomp profiles that refuse it) the lookup is github.com/cyphar/filepath-securejoin's
// pathrs-lite, runc's resolver, which emulates RESOLVE_IN_ROOT in user space with
// O_PATH handles and checks every step against concurrent renames. The library, not
// hand-written code, for that fallback: an in-root resolver is easy to get subtly wrong
// (".." across a concurrently moved directory, symlink loops, procfs over-mounts), and
// runc's has been attacked and fixed in public for years (CVE-2019-19921,
// CVE-2024-21626). Re-opening an O_PATH handle also uses the library (pathrs.Reopen),
// which checks that /proc is a real procfs. Go's os.Root was not chosen: it refuses
// absolute links (it treats them as escapes), and a node is full of them
// (/etc/resolv.conf, alternatives, configuration management), so in a pod it could not
// follow /var/lib/docker -> /data/docker inside /host.
//
// Directory operations (create, rename, remove, symlink) act on a handle of the parent
// directory found inside the root and a single name (the *at system calls), so a path
// can never be re-resolved outside between the check and the change.
//
// External tools that need a path (rsync) get one from HostPath, which resolves it inside
// the root first; that path is only as safe as the node is quiet between the resolution
// and the tool's use of it, which callers accept for tools that take no handle.
package hostfs
