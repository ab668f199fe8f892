package dockerconf

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// UnitName is the systemd unit that runs dockerd.
const UnitName = "docker.service"

// jsonOnly are daemon.json directives that have no flag of the same name.
var jsonOnly = map[string]bool{
	"features": true, "builder": true, "runtimes": true, "default-address-pools": true,
	"log-opts": true, "hosts": true, "labels": true, "registry-mirrors": true,
	"insecure-registries": true, "exec-opts": true, "storage-opts": true, "dns-opts": true,
	"default-ulimits": true, "authorization-plugins": true, "node-generic-resources": true,
	"cluster-store": true, "cluster-store-opts": true, "cluster-advertise": true,
	"proxies": true, "containerd-plugins": true, "bridge": true, "fixed-cidr": true,
	"max-concurrent-downloads": true, "max-concurrent-uploads": true, "icc": true,
	"mtu": true, "ip": true, "ipv6": true, "disable-legacy-registry": true,
	"cgroup-parent": true, "selinux-enabled": true, "userns-remap": true,
	"default-cgroupns-mode": true, "default-shm-size": true, "default-ipc-mode": true,
	"debug": true, "live-restore": true, "api-cors-header": true, "default-gateway-v6": true,
	"network-control-plane-mtu": true, "cri-containerd": true, "rootless": true,
	"userland-proxy-path": true, "seccomp-profile": true, "default-runtime": true,
}

// Resolve reads dockerd's configuration from a node's filesystem (fsys is rooted at the
// host root): docker.service with its drop-ins, the environment it expands, and
// daemon.json, into the options dockerd will start with next time, each with its
// provenance; parse errors and flag/file conflicts are recorded, never fatal.
// runningArgs, when not nil, is the running dockerd's argv.
func Resolve(fsys fs.FS, runningArgs []string) *diag.DockerConfFacts {
	facts := &diag.DockerConfFacts{OnDisk: []diag.DockerOption{}}
	args := resolveUnit(fsys, facts, UnitName)
	var flags []diag.DockerOption
	if len(args) > 1 {
		var probs []diag.ConfProblem
		flags, probs = ParseArgs(args[1:])
		facts.Problems = append(facts.Problems, probs...)
	}
	facts.OnDisk = append(facts.OnDisk, flags...)
	facts.DaemonJSON = DefaultDaemonJSON
	if o, ok := diag.Option(flags, "config-file"); ok && o.Value != "" {
		facts.DaemonJSON = o.Value
	}
	data, ok := readFile(fsys, facts, facts.DaemonJSON, "daemon.json")
	if ok {
		dj, err := ParseDaemonJSON(data)
		if err != nil {
			p := diag.ConfProblem{File: facts.DaemonJSON, Message: err.Error()}
			if pe, ok := err.(*PosError); ok {
				p.Line, p.Column, p.Message = pe.Line, pe.Column, pe.Err.Error()
			}
			facts.Problems = append(facts.Problems, p)
			markUnparsed(facts, facts.DaemonJSON)
			if facts.StartError == "" {
				facts.StartError = fmt.Sprintf("unable to configure the Docker daemon with file %s: %s", facts.DaemonJSON, p.Message)
			}
		} else {
			fileOpts := dj.Options(facts.DaemonJSON)
			// Unknown directives are reported but not counted as a certain start
			// failure: the table is dockerd 20.10's and newer versions know more.
			for _, o := range fileOpts {
				if byKey[o.Key] == nil && !jsonOnly[o.Key] {
					facts.Problems = append(facts.Problems, diag.ConfProblem{File: o.At.File, Line: o.At.Line, Column: o.At.Column,
						Message: fmt.Sprintf("directive %q is not a dockerd 20.10 configuration option: dockerd 20.10 refuses to start with it (a newer dockerd may know it)", o.Key)})
				}
			}
			facts.OnDisk = append(facts.OnDisk, fileOpts...)
			facts.Conflicts = Conflicts(flags, fileOpts)
			if facts.StartError == "" && len(facts.Conflicts) > 0 {
				facts.StartError = ConflictError(facts.DaemonJSON, facts.Conflicts)
			}
		}
	}
	if runningArgs != nil {
		facts.RunningArgs = runningArgs
		run := make([]Arg, 0, len(runningArgs))
		for _, a := range runningArgs[min(1, len(runningArgs)):] {
			run = append(run, Arg{Word: a, At: diag.Provenance{Origin: "running process"}})
		}
		facts.Running, _ = ParseArgs(run)
		if facts.Running == nil {
			facts.Running = []diag.DockerOption{}
		}
	}
	return facts
}

// Conflicts returns the directives set both as a flag and in daemon.json, in the order
// dockerd reports them (by flag name).
func Conflicts(flags, file []diag.DockerOption) []diag.ConfConflict {
	var out []diag.ConfConflict
	for _, f := range flags {
		if f.Key == "config-file" || skipDuplicates[f.Key] {
			continue
		}
		if o, ok := diag.Option(file, f.Key); ok {
			out = append(out, diag.ConfConflict{Key: f.Key, Flag: f, File: o})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Flag.Flag < out[j].Flag.Flag })
	return out
}

// ConflictError is the message dockerd stops with for these conflicts.
func ConflictError(file string, cs []diag.ConfConflict) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = ConflictText(c)
	}
	return fmt.Sprintf("unable to configure the Docker daemon with file %s: the following directives are specified both as a flag and in the configuration file: %s",
		file, strings.Join(parts, ", "))
}

// ConflictText is one conflict as dockerd words it.
func ConflictText(c diag.ConfConflict) string {
	return fmt.Sprintf("%s: (from flag: %s, from file: %s)", c.Key, c.Flag.Value, c.File.Value)
}
