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

// Resolve reads dockerd's configuration from a node's filesystem (fsys is rooted at the
// host root): docker.service with its drop-ins, the environment it expands, and
// daemon.json, into the options dockerd will start with next time, each with its
// provenance; parse errors and flag/file conflicts are recorded, never fatal.
// runningArgs, when not nil, is the running dockerd's argv.
func Resolve(fsys fs.FS, runningArgs []string) *diag.DockerConfFacts {
	return ResolveFor(fsys, runningArgs, Version{})
}

// ResolveFor is Resolve judged with the flags and directives of dockerd release v (the
// installed one); with v unknown, what only some releases accept is reported but not
// counted as a certain start failure.
func ResolveFor(fsys fs.FS, runningArgs []string, v Version) *diag.DockerConfFacts {
	facts := &diag.DockerConfFacts{OnDisk: []diag.DockerOption{}}
	if v.Known() {
		facts.DockerdVersion = v.String()
	}
	args := resolveUnit(fsys, facts, UnitName)
	var flags []diag.DockerOption
	if len(args) > 1 {
		var probs []diag.ConfProblem
		flags, probs = ParseArgsFor(args[1:], v)
		facts.Problems = append(facts.Problems, probs...)
		if facts.StartError == "" && v.certain() {
			facts.StartError = firstFatal(probs)
		}
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
			p := diag.ConfProblem{File: facts.DaemonJSON, Message: err.Error(), Fatal: true}
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
			// Directives the release does not know: certain failures only when the
			// release is known (dockerconf/validate.go).
			probs, startErr := checkDaemonJSONKeys(dj, facts.DaemonJSON, v)
			facts.Problems = append(facts.Problems, probs...)
			if facts.StartError == "" {
				facts.StartError = startErr
			}
			facts.OnDisk = append(facts.OnDisk, fileOpts...)
			facts.Conflicts = Conflicts(flags, fileOpts)
			if facts.StartError == "" && len(facts.Conflicts) > 0 {
				facts.StartError = ConflictError(facts.DaemonJSON, facts.Conflicts)
			}
			probs, startErr = checkRefused(fileOpts, facts.DaemonJSON, v)
			facts.Problems = append(facts.Problems, probs...)
			if facts.StartError == "" {
				facts.StartError = startErr
			}
		}
	}
	if runningArgs != nil {
		facts.RunningArgs = runningArgs
		run := make([]Arg, 0, len(runningArgs))
		for _, a := range runningArgs[min(1, len(runningArgs)):] {
			run = append(run, Arg{Word: a, At: diag.Provenance{Origin: "running process"}})
		}
		// The running process started, so every flag it has was accepted.
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
