// Package sdbus talks to the node's systemd over its D-Bus API, the bus
// socket found under the host root (so a ksdoctor in a pod that mounts the
// host's / acts through the host's PID 1): unit state for the gatherers,
// daemon-reload, restart/stop/start with the job's result awaited and
// reset-failed for the executor. Errors of failed jobs carry the unit's state
// and its last journal lines.
package sdbus
