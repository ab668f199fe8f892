# The ksdoctor image `sweep --all-nodes` runs on every node (make image).
# Nothing is pulled: the static binary (CGO_ENABLED=0, built by
# `make image` into bin/image/, the build context) on an empty base.
# `make image-tar` writes the same image as a tar without a Docker daemon
# (cmd/imagetar), for `docker load` or `ctr -n k8s.io images import` on
# air-gapped nodes; TestImageTar holds the two to the same content.
FROM scratch
COPY ksdoctor /ksdoctor
# Root, on purpose: the node sweep reads root-only files of the node under
# /host (/var/lib/docker is 0710 root, dockerd's /proc/PID/environ and
# /proc/PID/root, daemon.json often 0600) and its Docker socket, and the
# capabilities the Job adds (NET_ADMIN, NET_RAW for iptables-save,
# SYS_CHROOT to run the node's own iptables-save and dockerd) only reach
# the effective set of a root process: Kubernetes sets no ambient
# capabilities for a non-root user. Everything else is dropped by the Job
# (capabilities ALL, no privilege escalation, read-only root file system).
USER 0:0
LABEL org.opencontainers.image.title="ksdoctor" \
      org.opencontainers.image.description="Node doctor for Kubernetes nodes running Docker"
ENTRYPOINT ["/ksdoctor"]
