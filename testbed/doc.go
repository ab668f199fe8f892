// Package testbed starts real parts for ksdoctor's tests: network namespaces,
// veth links, isolated Docker daemons, busybox containers and small
// filesystems. It is imported only from _test.go files.
//
// Every helper takes a testing.TB, fails the test on error and undoes what it
// did in t.Cleanup: processes are stopped by PID, mounts are unmounted, loop
// devices detached, namespaces deleted and directories removed.
//
// # Requirements
//
// The helpers need root and the tools named in [Require]. Tests that use them
// call Require first; it skips the test when something is missing, except when
// the environment variable CI is "true", where it fails the test instead, so
// real-part tests never silently skip in CI.
//
// # Where things live
//
// All state of one test process lives under /var/tmp/ksdoctor-testbed/p<PID>,
// next to an "owner" file holding the PID and its start time. Network
// namespaces are named ksdt-<PID>-<n>. [KillStaleResources] removes what a
// crashed or timed-out test process left behind (it only touches resources
// whose owning process is gone, so it is safe to call from TestMain while
// other test binaries run), and `go run ./testbed/ksdt-clean` does the same
// from the command line.
//
// # Docker daemons
//
// [StartDockerd] runs `nsenter --net=/var/run/netns/NAME dockerd --data-root …
// --exec-root … -H unix://… --pidfile … --config-file …` with a private, empty
// daemon.json. Docker 20.10 starts its own managed containerd under
// <exec-root>/containerd whenever no system containerd answers on
// /run/containerd/containerd.sock, so parallel daemons are fully isolated:
// their own containerd, their own docker0 and iptables rules inside their own
// network namespace. When a system containerd socket exists, StartDockerd
// starts a private containerd per daemon itself and passes --containerd.
//
// The storage driver is overlay2 unless the data root is on an overlay file
// system (overlay cannot stack on overlay), where vfs is used; ext4 (the
// default location /var/tmp here, and [LoopFS]) and tmpfs both support
// overlay2. Pass --storage-driver in ExtraArgs to choose yourself.
//
// # Quirks callers must know
//
//   - Debian 12's busybox-static 1.35 wget crashes with SIGSEGV (exit code
//     139) when given -T. Bound a download with the timeout applet instead,
//     and run the container with --init (HostConfig.Init): as PID 1, wget
//     ignores timeout's SIGTERM and waits for the kernel's connect timeout
//     (about two minutes). `docker run --rm --init IMG timeout 3 wget -qO- URL`.
//   - busybox sleep as PID 1 ignores SIGTERM, so stopping it takes the whole
//     stop timeout (10 s by default). RunSleeping and RunMany set 1 s; with
//     the CLI pass --stop-timeout 1 or --init.
//   - Container names need at least two characters.
//   - An image reference that is not present makes dockerd try to pull it;
//     the test namespaces have no route out, so it fails fast. Use
//     BusyboxImage.
//   - The host has cgroup v1 (cgroupfs driver, hybrid with an unused
//     cgroup2 at /sys/fs/cgroup/unified); dockerd warns that blkio weight is
//     unsupported. Containers of all test daemons share the /docker cgroup
//     parent (IDs are unique).
//   - Timings depend heavily on machine load: on an idle two-core machine
//     dockerd answers /_ping after about 1.5 s and a container starts in
//     under a second; with other builds running, 3-4 s for either.
package testbed
