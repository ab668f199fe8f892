#!/usr/bin/env bash
# Installs the real parts the tests run against, from Debian's apt, when
# they are missing. Safe to run again: it installs nothing that is present.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have dockerd     || need+=(docker.io)
have iptables    || need+=(iptables)
have ipset       || need+=(ipset)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need+=(busybox-static)
have tmux        || need+=(tmux)
have hyperfine   || need+=(hyperfine)
have rsync       || need+=(rsync)
have python3     || need+=(python3)
[ -x /usr/bin/time ] || need+=(time)
have ip          || need+=(iproute2)
# The real-kubelet tests: containerd (with docker.io) as the kubelet's runtime,
# CNI plugins for its pod network.
have containerd  || need+=(containerd)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
have nsenter     || need+=(util-linux)
# The fault matrix: an unprivileged user namespace and an unprivileged user.
have unshare     || need+=(util-linux)
have setpriv     || need+=(util-linux)
have mkfs.ext4   || need+=(e2fsprogs)
have modprobe    || need+=(kmod)
have kubectl     || need+=(kubernetes-client)
have systemd-analyze || need+=(systemd)
# Report formats: JUnit XML validated against the xUnit plugin's junit-10.xsd.
have xmllint     || need+=(libxml2-utils)
# sweep --textfile: scraped from a real node_exporter (textfile collector only).
have prometheus-node-exporter || need+=(prometheus-node-exporter)
# sweep --notify: mail to a real SMTP server (its own config, spool and
# mailbox per test; the package's own daemon is not used).
have exim4 || need+=(exim4-daemon-light)
# The real-systemd tests: a Debian tree built with debootstrap, booted with
# systemd-nspawn; journalctl reads the machine's journal for failed restarts.
have debootstrap    || need+=(debootstrap)
have systemd-nspawn || need+=(systemd-container)
# make dist (TestDist): the arm64 binary replays the fixtures under
# qemu-user; the .rpm is read with rpm, the .deb with dpkg-deb (dpkg).
have qemu-aarch64-static || need+=(qemu-user-static)
have rpm         || need+=(rpm)
have dpkg-deb    || need+=(dpkg)
have make        || need+=(make)
have sha256sum   || need+=(coreutils)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
