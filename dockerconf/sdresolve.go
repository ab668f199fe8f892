package dockerconf

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// execCmd is one command of ExecStart= as systemd 252 stores it (load-fragment.c,
// config_parse_exec): the path, argv (argv[0] first) with quotes, escapes and
// specifiers resolved, and the prefixes ("-", "@", ":", "+", "!", "!!").
type execCmd struct {
	path   string
	argv   []string
	prefix string
	at     unitOption
}

// envFileRef is one EnvironmentFile= entry: the path as written (after specifiers),
// and whether a leading '-' makes a missing file harmless.
type envFileRef struct {
	path     string
	optional bool
	at       unitOption
}

// sdService is a service unit as systemd 252 loads it, before the environment files
// are read and variables expanded (what `systemd-analyze verify` shows).
type sdService struct {
	fragment string
	dropIns  []string
	env      []diag.EnvVar // Environment=, a later assignment of a name replacing an earlier one
	envFiles []envFileRef
	execs    []execCmd
	spec     map[byte]string
	typ      string // Type=
	// refused is why systemd will not start the unit ("" when it loads).
	refused string
}

// loadService reads the fragment and drop-ins of name and applies their [Service]
// assignments in order. Problems and files read are recorded in facts. It returns nil
// when no unit file exists.
func loadService(fsys fs.FS, facts *diag.DockerConfFacts, name string) *sdService {
	main, masked := findFragment(fsys, name)
	if main == "" {
		return nil
	}
	svc := &sdService{fragment: main, spec: unitSpecifiers(name, main)}
	hostSpecifiers(fsys, svc.spec)
	data, ok := readFile(fsys, facts, main, "unit")
	if !ok {
		return svc
	}
	if masked {
		facts.Problems = append(facts.Problems, diag.ConfProblem{File: main, Message: "unit file is empty or linked to /dev/null: systemd treats " + name + " as masked"})
		svc.refused = "Unit " + name + " is masked."
		markUnparsed(facts, main)
		return svc
	}
	chosen, hidden := findDropIns(fsys, name)
	files := []string{main}
	contents := [][]byte{data}
	for _, p := range chosen {
		svc.dropIns = append(svc.dropIns, p)
		if d, ok := readFile(fsys, facts, p, "drop-in"); ok {
			files = append(files, p)
			contents = append(contents, d)
		}
	}
	for _, p := range hidden {
		facts.Files = append(facts.Files, diag.ConfFile{Path: p, Role: "drop-in", Exists: true, Masked: true})
	}
	for i, f := range files {
		opts, warns, fatal := parseUnitText(contents[i], f)
		facts.Problems = append(facts.Problems, warns...)
		if fatal != nil {
			facts.Problems = append(facts.Problems, *fatal)
			markUnparsed(facts, f)
			svc.refused = fmt.Sprintf("%s: %s", f, fatal.Message)
			return svc
		}
		for _, o := range opts {
			if o.section == "Service" {
				svc.apply(facts, o)
			}
		}
	}
	switch {
	case len(svc.execs) == 0 && svc.refused == "":
		facts.Problems = append(facts.Problems, diag.ConfProblem{File: main, Message: name + " has no ExecStart=: systemd refuses it (\"Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.\")"})
		svc.refused = "Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing."
		markUnparsed(facts, main)
	case len(svc.execs) > 1 && svc.refused == "" && svc.typ != "oneshot":
		// Type=oneshot may have several; dockerd's unit is Type=notify.
		x := svc.execs[1].at
		facts.Problems = append(facts.Problems, diag.ConfProblem{File: x.file, Line: x.line,
			Message: "a second ExecStart= command without an empty ExecStart= before it: systemd refuses the unit (\"Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services\")"})
		svc.refused = "Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services. Refusing."
		markUnparsed(facts, x.file)
	}
	return svc
}

// markUnparsed records that file could not be taken in whole.
func markUnparsed(facts *diag.DockerConfFacts, file string) {
	for _, f := range facts.Unparsed {
		if f == file {
			return
		}
	}
	facts.Unparsed = append(facts.Unparsed, file)
}

// apply applies one [Service] assignment.
func (svc *sdService) apply(facts *diag.DockerConfFacts, o unitOption) {
	switch o.name {
	case "Type":
		svc.typ = o.value
	case "ExecStart":
		if o.value == "" {
			svc.execs = nil
			return
		}
		cmds, err := parseExec(o, svc.spec)
		if err != nil {
			facts.Problems = append(facts.Problems, diag.ConfProblem{File: o.file, Line: o.line,
				Message: "ExecStart= does not parse: " + err.Error() + ": systemd refuses the unit (bad-setting)"})
			markUnparsed(facts, o.file)
			if svc.refused == "" {
				svc.refused = fmt.Sprintf("Unit configuration has fatal error, unit will not be started (%s:%d: %v)", o.file, o.line, err)
			}
			return
		}
		svc.execs = append(svc.execs, cmds...)
	case "Environment":
		if o.value == "" {
			svc.env = nil
			return
		}
		svc.applyEnv(facts, o)
	case "EnvironmentFile":
		if o.value == "" {
			svc.envFiles = nil
			return
		}
		p, _, err := expandSpecifiers(o.value, svc.spec)
		if err != nil {
			facts.Problems = append(facts.Problems, diag.ConfProblem{File: o.file, Line: o.line, Message: "EnvironmentFile= " + err.Error() + ": systemd ignores the assignment"})
			markUnparsed(facts, o.file)
			return
		}
		ref := envFileRef{path: p, at: o}
		if strings.HasPrefix(p, "-") {
			ref.optional, ref.path = true, p[1:]
		}
		if !path.IsAbs(ref.path) {
			facts.Problems = append(facts.Problems, diag.ConfProblem{File: o.file, Line: o.line, Message: fmt.Sprintf("EnvironmentFile=%s is not an absolute path: systemd ignores the assignment", o.value)})
			return
		}
		ref.path = path.Clean(ref.path)
		svc.envFiles = append(svc.envFiles, ref)
	}
}

// applyEnv applies one Environment= line (config_parse_environ): words with quotes
// and C escapes, specifiers, each VAR=VALUE replacing an earlier VAR. At a word that
// does not split systemd stops, keeping the words before it; an invalid word is
// skipped alone.
func (svc *sdService) applyEnv(facts *diag.DockerConfFacts, o unitOption) {
	for rest := o.value; ; {
		w, r, ok, err := extractWord(rest, exUnquote|exCUnescape)
		if err != nil {
			facts.Problems = append(facts.Problems, diag.ConfProblem{File: o.file, Line: o.line,
				Message: "Environment= does not parse: " + err.Error() + ": systemd ignores the rest of the line"})
			markUnparsed(facts, o.file)
			return
		}
		if !ok {
			return
		}
		rest = r
		w, _, err = expandSpecifiers(w, svc.spec)
		if err != nil {
			facts.Problems = append(facts.Problems, diag.ConfProblem{File: o.file, Line: o.line, Message: "Environment= " + err.Error() + ": systemd ignores the assignment"})
			markUnparsed(facts, o.file)
			continue
		}
		k, v, ok := strings.Cut(w, "=")
		if !ok || !envNameValid(k) || !envValueValid(v) {
			facts.Problems = append(facts.Problems, diag.ConfProblem{File: o.file, Line: o.line,
				Message: fmt.Sprintf("Environment= word %q is not a valid VAR=VALUE assignment: systemd ignores it", truncate(w, 60))})
			continue
		}
		svc.setEnv(diag.EnvVar{Name: k, Value: v, At: diag.Provenance{Origin: "env", File: o.file, Line: o.line}})
	}
}

// setEnv replaces the variable in place or appends it.
func (svc *sdService) setEnv(ev diag.EnvVar) {
	for i := range svc.env {
		if svc.env[i].Name == ev.Name {
			svc.env[i] = ev
			return
		}
	}
	svc.env = append(svc.env, ev)
}

// parseExec splits one ExecStart= value into its commands (separated by a lone ";").
func parseExec(o unitOption, spec map[byte]string) ([]execCmd, error) {
	var out []execCmd
	p := o.value
	for {
		first, rest, ok, err := extractWordWarn(p, exUnquote|exCUnescape)
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		if first == ";" {
			p = rest
			continue
		}
		cmd := execCmd{at: o}
		f := first
		cmd.prefix, f = execPrefix(f)
		if cmd.path, _, err = expandSpecifiers(f, spec); err != nil {
			return nil, err
		}
		if cmd.path == "" {
			// systemd: "Empty path in command line, ignoring".
			return out, nil
		}
		if !path.IsAbs(cmd.path) && (strings.Contains(cmd.path, "/") || cmd.path == "." || cmd.path == "..") {
			return nil, fmt.Errorf("%w: neither a valid executable name nor an absolute path: %s", errSyntax, cmd.path)
		}
		if strings.HasSuffix(cmd.path, "/") {
			return nil, fmt.Errorf("%w: executable path specifies a directory: %s", errSyntax, cmd.path)
		}
		p = rest
		if !strings.Contains(cmd.prefix, "@") {
			cmd.argv = append(cmd.argv, cmd.path)
		}
		semicolon := false
		for p != "" && !semicolon {
			if p[0] == ';' && (len(p) == 1 || strings.IndexByte(sdWhitespace, p[1]) >= 0) {
				p, semicolon = strings.TrimLeft(p[1:], sdWhitespace), true
				break
			}
			if strings.HasPrefix(p, "\\;") && (len(p) == 2 || strings.IndexByte(sdWhitespace, p[2]) >= 0) {
				p = strings.TrimLeft(p[2:], sdWhitespace)
				cmd.argv = append(cmd.argv, ";")
				continue
			}
			w, rest, ok, err := extractWordWarn(p, exUnquote|exCUnescape)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if w, _, err = expandSpecifiers(w, spec); err != nil {
				return nil, err
			}
			cmd.argv = append(cmd.argv, w)
			p = rest
		}
		if strings.Contains(cmd.prefix, "@") && len(cmd.argv) == 0 {
			return nil, fmt.Errorf("%w: '@' prefix without argv[0]", errSyntax)
		}
		out = append(out, cmd)
		if !semicolon {
			return out, nil
		}
	}
}

// hostSpecifiers fills the specifiers that name the host from its files.
func hostSpecifiers(fsys fs.FS, spec map[byte]string) {
	if b, err := fs.ReadFile(fsys, "etc/hostname"); err == nil {
		if h := strings.TrimSpace(string(b)); h != "" {
			spec['H'] = h
			spec['l'], _, _ = strings.Cut(h, ".")
		}
	}
	if b, err := fs.ReadFile(fsys, "etc/machine-id"); err == nil {
		if m := strings.TrimSpace(string(b)); len(m) == 32 {
			spec['m'] = m
		}
	}
}

// execPrefix splits the prefixes systemd accepts off the first word: each of "-", "@"
// and ":" once, "+" or up to two "!", in any order.
func execPrefix(f string) (prefix, rest string) {
	has := func(c string) bool { return strings.Contains(prefix, c) }
	for f != "" {
		c := f[:1]
		ok := false
		switch c {
		case "-", "@", ":":
			ok = !has(c)
		case "+":
			ok = !has("+") && !has("!")
		case "!":
			ok = !has("+") && strings.Count(prefix, "!") < 2
		}
		if !ok {
			break
		}
		prefix += c
		f = f[1:]
	}
	return prefix, f
}
