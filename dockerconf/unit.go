package dockerconf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/ksdoctor/ksdoctor/diag"
)

// UnitDirs are the directories systemd searches for system units, highest priority first.
var UnitDirs = []string{
	"/etc/systemd/system.control",
	"/run/systemd/system.control",
	"/run/systemd/transient",
	"/etc/systemd/system",
	"/run/systemd/system",
	"/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system",
	"/lib/systemd/system",
}

// DefaultDaemonJSON is dockerd's default --config-file.
const DefaultDaemonJSON = "/etc/docker/daemon.json"

// unitOption is one assignment of a unit file with where it is.
type unitOption struct {
	section, name, value string
	file                 string
	line                 int
}

// readFile reads a node path from fsys, recording it in facts.
func readFile(fsys fs.FS, facts *diag.DockerConfFacts, p, role string) ([]byte, bool) {
	rel := strings.TrimPrefix(path.Clean(p), "/")
	cf := diag.ConfFile{Path: p, Role: role}
	data, fi, err := readStat(fsys, rel)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			facts.Problems = append(facts.Problems, diag.ConfProblem{File: p, Message: "cannot read: " + err.Error()})
		}
		facts.Files = append(facts.Files, cf)
		return nil, false
	}
	cf.Exists = true
	cf.Content = string(data)
	sum := sha256.Sum256(data)
	cf.SHA256 = hex.EncodeToString(sum[:])
	cf.Mode = uint32(fi.Mode().Perm())
	cf.ModTime = fi.ModTime().UTC()
	facts.Files = append(facts.Files, cf)
	return data, true
}

// readStat reads a file and its metadata with one open.
func readStat(fsys fs.FS, name string) ([]byte, fs.FileInfo, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.IsDir() {
		return nil, nil, fmt.Errorf("%s is a directory", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfFile))
	if err != nil {
		return nil, nil, err
	}
	return data, fi, nil
}

// maxConfFile bounds what is read of one configuration file.
const maxConfFile = 4 << 20

func exists(fsys fs.FS, p string) bool {
	_, err := fs.Stat(fsys, strings.TrimPrefix(path.Clean(p), "/"))
	return err == nil
}

// parseUnitFile parses one unit file with go-systemd and attaches line numbers.
func parseUnitFile(data []byte, file string) ([]unitOption, *diag.ConfProblem) {
	opts, err := unit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		line := badUnitLine(data)
		return nil, &diag.ConfProblem{File: file, Line: line, Column: 1, Message: "unit file does not parse: " + err.Error()}
	}
	lines := optionLines(data)
	out := make([]unitOption, len(opts))
	for i, o := range opts {
		out[i] = unitOption{section: o.Section, name: o.Name, value: o.Value, file: file}
		if len(lines) == len(opts) {
			out[i].line = lines[i]
		}
	}
	return out, nil
}

// optionLines returns the line of each assignment, in order, following the same rules as
// the go-systemd lexer (comments, sections, backslash continuations).
func optionLines(data []byte) []int {
	var out []int
	lines := strings.Split(string(data), "\n")
	inSection := false
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' {
			inSection = true
			continue
		}
		if !inSection || !strings.Contains(l, "=") {
			continue
		}
		out = append(out, i+1)
		for strings.HasSuffix(strings.TrimRight(lines[i], " \t\r"), "\\") && i+1 < len(lines) {
			i++
			for i+1 < len(lines) {
				n := strings.TrimSpace(lines[i])
				if n != "" && (n[0] == '#' || n[0] == ';') {
					i++
					continue
				}
				break
			}
		}
	}
	return out
}

// badUnitLine guesses the first line go-systemd rejects.
func badUnitLine(data []byte) int {
	inSection := false
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' {
			if !strings.HasSuffix(l, "]") {
				return i + 1
			}
			inSection = true
			continue
		}
		if !inSection || !strings.Contains(l, "=") {
			return i + 1
		}
	}
	return 0
}

// resolveUnit finds docker.service and its drop-ins, and resolves ExecStart into argv with
// provenance. It returns nil when no unit exists.
func resolveUnit(fsys fs.FS, facts *diag.DockerConfFacts, name string) []Arg {
	var main string
	for _, d := range UnitDirs {
		p := path.Join(d, name)
		if exists(fsys, p) {
			main = p
			break
		}
	}
	if main == "" {
		return nil
	}
	u := &diag.DockerUnit{Path: main}
	facts.Unit = u
	data, ok := readFile(fsys, facts, main, "unit")
	if !ok {
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		facts.Problems = append(facts.Problems, diag.ConfProblem{File: main, Message: "unit file is empty (masked?)"})
		return nil
	}
	var all []unitOption
	if opts, p := parseUnitFile(data, main); p != nil {
		facts.Problems = append(facts.Problems, *p)
	} else {
		all = append(all, opts...)
	}
	// Drop-ins: *.conf in name.d/ of every unit directory; a file name in a higher
	// priority directory hides the same name below; applied in file-name order.
	chosen := map[string]string{}
	var hidden []string
	for _, d := range UnitDirs {
		dir := path.Join(d, name+".d")
		ents, err := fs.ReadDir(fsys, strings.TrimPrefix(dir, "/"))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".conf") {
				continue
			}
			if _, ok := chosen[e.Name()]; ok {
				hidden = append(hidden, path.Join(dir, e.Name()))
				continue
			}
			chosen[e.Name()] = path.Join(dir, e.Name())
		}
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := chosen[n]
		u.DropIns = append(u.DropIns, p)
		data, ok := readFile(fsys, facts, p, "drop-in")
		if !ok {
			continue
		}
		opts, prob := parseUnitFile(data, p)
		if prob != nil {
			facts.Problems = append(facts.Problems, *prob)
			continue
		}
		all = append(all, opts...)
	}
	for _, p := range hidden {
		facts.Files = append(facts.Files, diag.ConfFile{Path: p, Role: "drop-in", Exists: true, Masked: true})
	}

	// Apply the [Service] assignments in order.
	var (
		execs     []unitOption
		envAssign []unitOption
		envFiles  []unitOption
	)
	for _, o := range all {
		if o.section != "Service" {
			continue
		}
		switch o.name {
		case "ExecStart":
			if strings.TrimSpace(o.value) == "" {
				execs = nil
			} else {
				execs = append(execs, o)
			}
		case "Environment":
			if strings.TrimSpace(o.value) == "" {
				envAssign = nil
			} else {
				envAssign = append(envAssign, o)
			}
		case "EnvironmentFile":
			if strings.TrimSpace(o.value) == "" {
				envFiles = nil
			} else {
				envFiles = append(envFiles, o)
			}
		}
	}
	env := map[string]diag.EnvVar{}
	var envOrder []string
	setEnv := func(v diag.EnvVar) {
		if _, ok := env[v.Name]; !ok {
			envOrder = append(envOrder, v.Name)
		}
		env[v.Name] = v
	}
	for _, o := range envAssign {
		ws, err := SplitWords(o.value)
		if err != nil {
			facts.Problems = append(facts.Problems, diag.ConfProblem{File: o.file, Line: o.line, Column: len("Environment=") + errColumn(err), Message: "Environment= does not parse: " + err.Error()})
			continue
		}
		for _, w := range ws {
			k, v, ok := strings.Cut(w.Text, "=")
			if !ok || k == "" {
				facts.Problems = append(facts.Problems, diag.ConfProblem{File: o.file, Line: o.line, Message: fmt.Sprintf("Environment= word %q is not VAR=VALUE (systemd ignores it)", w.Text)})
				continue
			}
			setEnv(diag.EnvVar{Name: k, Value: v, At: diag.Provenance{Origin: "env", File: o.file, Line: o.line}})
		}
	}
	// Variables from EnvironmentFile= override Environment=.
	for _, o := range envFiles {
		for _, f := range strings.Fields(o.value) {
			optional := strings.HasPrefix(f, "-")
			f = strings.TrimPrefix(f, "-")
			data, ok := readFile(fsys, facts, f, "environment-file")
			if !ok {
				if !optional {
					facts.Problems = append(facts.Problems, diag.ConfProblem{File: o.file, Line: o.line, Message: fmt.Sprintf("EnvironmentFile %s does not exist: systemd will refuse to start docker", f)})
					facts.StartError = fmt.Sprintf("Failed to load environment files: %s not found", f)
				}
				continue
			}
			as, errs := ParseEnvFile(string(data))
			for _, e := range errs {
				facts.Problems = append(facts.Problems, diag.ConfProblem{File: f, Line: e.Line, Column: e.Column, Message: e.Err.Error()})
			}
			for _, a := range as {
				setEnv(diag.EnvVar{Name: a.Name, Value: a.Value, At: diag.Provenance{Origin: "env", File: f, Line: a.Line}})
			}
		}
	}
	for _, n := range envOrder {
		u.Env = append(u.Env, env[n])
	}
	if len(execs) == 0 {
		facts.Problems = append(facts.Problems, diag.ConfProblem{File: main, Message: "docker.service has no ExecStart="})
		return nil
	}
	if len(execs) > 1 {
		// systemd refuses a non-oneshot service with several ExecStart= lines; a drop-in
		// must reset the list with an empty ExecStart= first.
		x := execs[1]
		facts.Problems = append(facts.Problems, diag.ConfProblem{File: x.file, Line: x.line,
			Message: "a second ExecStart= without an empty ExecStart= before it: systemd refuses the unit (\"Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services\")"})
		facts.StartError = "Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services. Refusing."
	}
	x := execs[len(execs)-1]
	u.ExecStart = x.value
	u.ExecStartAt = diag.Provenance{Origin: "unit", File: x.file, Line: x.line}
	args, err := expandExec(x, env, u)
	if err != nil {
		facts.Problems = append(facts.Problems, diag.ConfProblem{File: x.file, Line: x.line, Column: len("ExecStart=") + errColumn(err), Message: "ExecStart= does not parse: " + err.Error()})
		return nil
	}
	for _, a := range args {
		u.Argv = append(u.Argv, a.Word)
	}
	return args
}

// expandExec splits ExecStart and expands $VAR (split into words, shell-like) and ${VAR}
// (one word), as systemd does.
func expandExec(x unitOption, env map[string]diag.EnvVar, u *diag.DockerUnit) ([]Arg, error) {
	v := strings.TrimLeft(x.value, " \t")
	v = strings.TrimLeft(v, "-@:+!")
	ws, err := SplitWords(v)
	if err != nil {
		return nil, err
	}
	at := diag.Provenance{Origin: "unit", File: x.file, Line: x.line}
	seen := map[string]bool{}
	note := func(name string) {
		if e, ok := env[name]; ok && !seen[name] {
			seen[name] = true
			u.Expanded = append(u.Expanded, e)
		}
	}
	var out []Arg
	for _, w := range ws {
		if !w.Quoted && strings.HasPrefix(w.Raw, "$") && !strings.HasPrefix(w.Raw, "${") && !strings.HasPrefix(w.Raw, "$$") && isVarName(w.Raw[1:]) {
			name := w.Raw[1:]
			note(name)
			e, ok := env[name]
			if !ok {
				continue
			}
			words, err := SplitOpts(e.Value)
			if err != nil {
				return nil, fmt.Errorf("$%s (from %s): %w", name, e.At, err)
			}
			p := e.At
			p.Via = name
			for _, s := range words {
				out = append(out, Arg{Word: s, At: p})
			}
			continue
		}
		text, vars := expandBraces(w.Text, env)
		p := at
		for _, n := range vars {
			note(n)
			p.Via = n
		}
		out = append(out, Arg{Word: text, At: p})
	}
	return out, nil
}

func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// expandBraces replaces ${VAR} and $$ in s and returns the variables used.
func expandBraces(s string, env map[string]diag.EnvVar) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var used []string
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '{' {
			if j := strings.IndexByte(s[i:], '}'); j > 0 {
				name := s[i+2 : i+j]
				used = append(used, name)
				b.WriteString(env[name].Value)
				i += j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), used
}
