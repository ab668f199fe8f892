package dockerconf

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// DefaultDaemonJSON is dockerd's default --config-file.
const DefaultDaemonJSON = "/etc/docker/daemon.json"

// readFile reads a node path from fsys, recording it in facts.
func readFile(fsys fs.FS, facts *diag.DockerConfFacts, p, role string) ([]byte, bool) {
	rel := strings.TrimPrefix(path.Clean(p), "/")
	cf := diag.ConfFile{Path: p, Role: role}
	data, fi, err := readStat(fsys, rel)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			facts.Problems = append(facts.Problems, diag.ConfProblem{File: p, Message: "cannot read: " + err.Error()})
		}
		var nj *NotJudgedError
		if errors.As(err, &nj) || errors.Is(err, fs.ErrPermission) {
			facts.Unjudged = append(facts.Unjudged, p+": "+err.Error())
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

// NotJudgedError says a configuration file cannot be read whole, so what
// it says is not judged (never parsed in part).
type NotJudgedError struct{ Reason string }

func (e *NotJudgedError) Error() string { return "not judged: " + e.Reason }

// readStat reads a whole regular file and its metadata. A file that is not
// regular (a FIFO would block the read) or is over MaxConfFile is refused
// with a *NotJudgedError, never read in part.
func readStat(fsys fs.FS, name string) ([]byte, fs.FileInfo, error) {
	// Stat before open: opening a FIFO for reading blocks until a writer comes.
	pre, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, nil, err
	}
	if err := judgeable(pre); err != nil {
		return nil, nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if err := judgeable(fi); err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxConfFile+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > MaxConfFile {
		return nil, nil, &NotJudgedError{Reason: fmt.Sprintf("larger than the %s limit for a configuration file", diag.FormatBytes(MaxConfFile))}
	}
	return data, fi, nil
}

// judgeable refuses what cannot be read whole: directories, special files
// and files over MaxConfFile.
func judgeable(fi fs.FileInfo) error {
	switch {
	case fi.IsDir():
		return fmt.Errorf("%s is a directory", fi.Name())
	case !fi.Mode().IsRegular():
		return &NotJudgedError{Reason: fmt.Sprintf("not a regular file (%s)", fileKind(fi.Mode()))}
	case fi.Size() > MaxConfFile:
		return &NotJudgedError{Reason: fmt.Sprintf("%s, larger than the %s limit for a configuration file",
			diag.FormatBytes(fi.Size()), diag.FormatBytes(MaxConfFile))}
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

// MaxConfFile bounds a configuration file: a larger one is not judged.
const MaxConfFile = 4 << 20

func exists(fsys fs.FS, p string) bool {
	_, err := fs.Stat(fsys, strings.TrimPrefix(path.Clean(p), "/"))
	return err == nil
}

// resolveUnit finds the unit and its drop-ins as systemd does and resolves ExecStart
// into argv with provenance: Environment=, then the EnvironmentFile= files (read as
// load_env_file reads them, globs expanded, later files overriding), then $VAR
// (split into words) and ${VAR} (in place) as systemd expands them when it starts the
// service. It returns nil when there is no command line to resolve.
func resolveUnit(fsys fs.FS, facts *diag.DockerConfFacts, name string) []Arg {
	svc := loadService(fsys, facts, name)
	if svc == nil {
		return nil
	}
	u := &diag.DockerUnit{Path: svc.fragment, DropIns: svc.dropIns}
	facts.Unit = u
	env := append([]diag.EnvVar(nil), svc.env...)
	set := func(v diag.EnvVar) {
		for i := range env {
			if env[i].Name == v.Name {
				env[i] = v
				return
			}
		}
		env = append(env, v)
	}
	for _, ref := range svc.envFiles {
		for _, v := range loadEnvFiles(fsys, facts, ref) {
			set(v)
		}
	}
	u.Env = env
	if svc.refused != "" && facts.StartError == "" {
		facts.StartError = svc.refused
	}
	if len(svc.execs) == 0 {
		return nil
	}
	x := svc.execs[len(svc.execs)-1]
	u.ExecStart = x.at.value
	u.ExecStartAt = diag.Provenance{Origin: "unit", File: x.at.file, Line: x.at.line}
	args := expandExec(x, env, u)
	for _, a := range args {
		u.Argv = append(u.Argv, a.Word)
	}
	return args
}

// loadEnvFiles reads one EnvironmentFile= entry: a glob of absolute paths, every match
// read in order. A missing file without '-' stops the start.
func loadEnvFiles(fsys fs.FS, facts *diag.DockerConfFacts, ref envFileRef) []diag.EnvVar {
	matches, err := fs.Glob(fsys, strings.TrimPrefix(ref.path, "/"))
	if err != nil || len(matches) == 0 {
		// Recorded as looked for, so a prediction and the evidence show it.
		readFile(fsys, facts, ref.path, "environment-file")
		if !ref.optional {
			facts.Problems = append(facts.Problems, diag.ConfProblem{File: ref.at.file, Line: ref.at.line,
				Message: fmt.Sprintf("EnvironmentFile %s does not exist: systemd will refuse to start docker", ref.path)})
			if facts.StartError == "" {
				facts.StartError = fmt.Sprintf("Failed to load environment files: %s not found", ref.path)
			}
		}
		return nil
	}
	var out []diag.EnvVar
	for _, m := range matches {
		p := "/" + m
		data, ok := readFile(fsys, facts, p, "environment-file")
		if !ok {
			if !ref.optional && facts.StartError == "" {
				facts.StartError = fmt.Sprintf("Failed to load environment files: %s cannot be read", p)
			}
			continue
		}
		for _, a := range ParseEnvFile(string(data)) {
			out = append(out, diag.EnvVar{Name: a.Name, Value: a.Value, At: diag.Provenance{Origin: "env", File: p, Line: a.Line}})
		}
	}
	return out
}

// expandExec expands the variables of a command as systemd does when it starts it
// (replace_env_argv): a word that is "$NAME" becomes the variable's value split into
// words (quotes removed, no C escapes; an unset variable gives no word); "${NAME}" is
// replaced in place; "$$" is "$". The ':' prefix turns expansion off.
func expandExec(x execCmd, env []diag.EnvVar, u *diag.DockerUnit) []Arg {
	lookup := func(name string) (diag.EnvVar, bool) {
		for _, e := range env {
			if e.Name == name {
				return e, true
			}
		}
		return diag.EnvVar{}, false
	}
	noted := map[string]bool{}
	note := func(name string) {
		if e, ok := lookup(name); ok && !noted[name] {
			noted[name] = true
			u.Expanded = append(u.Expanded, e)
		}
	}
	at := diag.Provenance{Origin: "unit", File: x.at.file, Line: x.at.line}
	var out []Arg
	for _, w := range x.argv {
		if strings.Contains(x.prefix, ":") {
			out = append(out, Arg{Word: w, At: at})
			continue
		}
		if len(w) >= 1 && w[0] == '$' && (len(w) == 1 || w[1] != '{' && w[1] != '$') {
			name := w[1:]
			note(name)
			e, ok := lookup(name)
			if !ok {
				continue
			}
			words, _ := splitWords(e.Value, exUnquote|exRelax)
			p := e.At
			p.Via = name
			for _, s := range words {
				out = append(out, Arg{Word: s, At: p})
			}
			continue
		}
		text, vars := replaceBraces(w, func(n string) (string, bool) {
			e, ok := lookup(n)
			return e.Value, ok
		})
		p := at
		for _, n := range vars {
			note(n)
			p.Via = n
		}
		out = append(out, Arg{Word: text, At: p})
	}
	return out
}
