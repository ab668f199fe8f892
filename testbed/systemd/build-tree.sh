#!/usr/bin/env bash
# Builds, once, the Debian tree that the real-systemd tests boot with
# systemd-nspawn: systemd 252, D-Bus, Debian's docker.io (dockerd 20.10),
# iptables, busybox and rsync (for the data-root migration). Cached in $1 (default /var/cache/ksdoctor-test/debian-systemd);
# a no-op while the tree is there. Built in a temporary folder and renamed,
# so an interrupted build never leaves a half tree behind.
set -euo pipefail
dest=${1:-/var/cache/ksdoctor-test/debian-systemd}
stamp=v2
if [ -f "$dest/.ksdoctor-tree" ] && [ "$(cat "$dest/.ksdoctor-tree")" = "$stamp" ]; then
  exit 0
fi
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d "$(dirname "$dest")/.tree.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,docker.io,iptables,busybox-static,procps,iproute2,rsync \
  bookworm "$tmp" "$mirror" >"$tmp.log" 2>&1 || { tail -20 "$tmp.log"; rm -f "$tmp.log"; exit 1; }
rm -f "$tmp.log"
# Every boot gets its own machine ID; nothing from the build lingers.
: >"$tmp/etc/machine-id"
rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"*
# Debian's docker.io ships docker.service enabled; containerd comes up with it.
echo "$stamp" >"$tmp/.ksdoctor-tree"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "build-tree: $dest built in $(( $(date +%s) - start ))s ($(du -sh "$dest" | cut -f1))"
