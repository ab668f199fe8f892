// Package dockerconf resolves dockerd's effective configuration from a node's files, as
// systemd and dockerd themselves would: the docker.service unit and its drop-ins in
// systemd's order, Environment= and EnvironmentFile= with $VAR/${VAR} expansion and
// shell-like quoting of DOCKER_OPTS, dockerd's flag table, and daemon.json (or
// --config-file). Every option keeps its provenance (file and line, or the running
// process); parse errors carry their position and never stop the resolution; directives
// given both as a flag and in daemon.json are reported with the exact message dockerd
// refuses to start with.
//
// Everything here is a pure function over an fs.FS rooted at the host root (hostfs's
// Root.FS in the gatherer, where links resolve inside the root; fstest.MapFS in tests; an
// in-memory tree, memFS, in Predict, which resolves a planned edit before it is made). It also holds the minimal, position-preserving editors the
// remediations use: daemon.json directive set/delete that keep the rest of the file byte
// for byte, word removal/insertion on a unit line, and a unified diff for previews.
package dockerconf
