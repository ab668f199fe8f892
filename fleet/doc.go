// Package fleet sweeps every node of a cluster through Kubernetes: one Job
// per node (pinned with nodeName, tolerating its taints, host / mounted
// read-only at /host, hostPID and hostNetwork, only NET_ADMIN, NET_RAW and
// SYS_CHROOT)
// runs the node sweep in the ksdoctor image; one watch on the sweep's pods
// follows them all; each finished pod's report is read back through
// pods/log (a LogReader), validated against the report schema and merged
// into one fleet report (docs/fleet.schema.json): per node the report or why
// it is missing, per check the nodes it found something on, the cluster
// findings once. Everything a sweep creates carries the labels
// app.kubernetes.io/managed-by=ksdoctor and ksdoctor.io/sweep=ID and is
// deleted before Run returns, on error and on cancellation too.
package fleet
