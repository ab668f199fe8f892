package dockerconf

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// UnitDirs are the directories systemd 252 (Debian 12) searches for system units,
// highest priority first (`systemd-analyze unit-paths`).
var UnitDirs = []string{
	"/etc/systemd/system.control",
	"/run/systemd/system.control",
	"/run/systemd/transient",
	"/run/systemd/generator.early",
	"/etc/systemd/system",
	"/etc/systemd/system.attached",
	"/run/systemd/system",
	"/run/systemd/system.attached",
	"/run/systemd/generator",
	"/usr/local/lib/systemd/system",
	"/lib/systemd/system",
	"/usr/lib/systemd/system",
	"/run/systemd/generator.late",
}

// unitOption is one assignment of a unit file with where it is: line is the first
// line of the (possibly continued) assignment.
type unitOption struct {
	section, name, value string
	file                 string
	line                 int
}

// unitSections are the sections systemd reads in a service unit; others are ignored
// with a warning ("X-" ones silently).
var unitSections = map[string]bool{"Unit": true, "Service": true, "Install": true}

// sdLine is one physical line of a unit file.
type sdLine struct {
	text string
	no   int
}

// sdLines splits data at the line ends systemd's read_line accepts: "\n", "\r\n",
// "\r" and NUL.
func sdLines(data []byte) []sdLine {
	var out []sdLine
	s := string(data)
	no := 1
	for len(s) > 0 {
		i := strings.IndexAny(s, "\n\r\x00")
		if i < 0 {
			out = append(out, sdLine{s, no})
			break
		}
		out = append(out, sdLine{s[:i], no})
		n := 1
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			n = 2
		}
		s = s[i+n:]
		no++
	}
	return out
}

// parseUnitText parses a unit file or drop-in as systemd 252's config_parse does
// (src/shared/conf-parser.c): comment lines (first non-blank '#' or ';') are skipped
// even inside a continued value; a line ending in an odd number of backslashes
// continues on the next line, the backslash becoming one space and the next line
// appended as it is (leading blanks kept); an empty line ends a continuation. Key and
// value are stripped of blanks. warns are lines systemd ignores with a warning; fatal
// is set when systemd refuses the whole file.
func parseUnitText(data []byte, file string) (opts []unitOption, warns []diag.ConfProblem, fatal *diag.ConfProblem) {
	section, ignored := "", false
	var cont strings.Builder
	contLine, inCont := 0, false
	warn := func(line int, format string, a ...any) {
		warns = append(warns, diag.ConfProblem{File: file, Line: line, Message: fmt.Sprintf(format, a...)})
	}
	parse := func(l string, line int) bool {
		l = strings.Trim(l, sdWhitespace)
		switch {
		case l == "":
			return true
		case l[0] == '[':
			if l[len(l)-1] != ']' {
				fatal = &diag.ConfProblem{File: file, Line: line, Column: 1,
					Message: fmt.Sprintf("invalid section header %q: systemd refuses the file", l)}
				return false
			}
			section = l[1 : len(l)-1]
			ignored = !unitSections[section]
			if ignored && !strings.HasPrefix(section, "X-") {
				warn(line, "unknown section %q: systemd ignores it and its assignments", section)
			}
			return true
		case section == "":
			warn(line, "assignment outside of any section: systemd ignores it")
			return true
		case ignored:
			return true
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			warn(line, "missing '=': systemd ignores the line %q", truncate(l, 60))
			return true
		}
		opts = append(opts, unitOption{section: section, name: strings.Trim(k, sdWhitespace),
			value: strings.Trim(v, sdWhitespace), file: file, line: line})
		return true
	}
	for i, ln := range sdLines(data) {
		l := ln.text
		if i == 0 {
			l = strings.TrimPrefix(l, "\ufeff")
		}
		if t := strings.TrimLeft(l, sdWhitespace); t != "" && (t[0] == '#' || t[0] == ';') {
			continue
		}
		start := ln.no
		if inCont {
			start = contLine
		}
		if endsEscaped(l) {
			if !inCont {
				inCont, contLine = true, ln.no
			}
			cont.WriteString(l[:len(l)-1])
			cont.WriteByte(' ')
			continue
		}
		if inCont {
			cont.WriteString(l)
			l = cont.String()
			cont.Reset()
			inCont = false
		}
		if !parse(l, start) {
			return nil, warns, fatal
		}
	}
	if inCont && !parse(cont.String(), contLine) {
		return nil, warns, fatal
	}
	return opts, warns, nil
}

// endsEscaped reports whether l ends in a backslash that escapes the line end (an
// odd run of backslashes).
func endsEscaped(l string) bool {
	n := 0
	for n < len(l) && l[len(l)-1-n] == '\\' {
		n++
	}
	return n%2 == 1
}

// findFragment returns the unit file systemd loads for name: the first unit directory
// that has it. masked is set for a file that is empty or a link to /dev/null.
func findFragment(fsys fs.FS, name string) (p string, masked bool) {
	for _, d := range UnitDirs {
		p := path.Join(d, name)
		rel := strings.TrimPrefix(p, "/")
		if target, err := fs.ReadLink(fsys, rel); err == nil && target == "/dev/null" {
			return p, true
		}
		if fi, err := fs.Stat(fsys, rel); err == nil && !fi.IsDir() {
			return p, fi.Size() == 0
		}
	}
	return "", false
}

// dropInDirs are the directories systemd reads drop-ins of name from, in its order:
// name.d and each dash-prefix ("foo-.service.d" for "foo-bar.service") in every unit
// directory, then the unit type's own directory ("service.d").
func dropInDirs(name string) []string {
	ext := path2ext(name)
	stems := []string{name}
	base := strings.TrimSuffix(name, ext)
	for i := len(base) - 1; i > 0; i-- {
		if base[i] == '-' {
			stems = append(stems, base[:i+1]+ext)
		}
	}
	var out []string
	for _, d := range UnitDirs {
		for _, s := range stems {
			out = append(out, path.Join(d, s+".d"))
		}
	}
	for _, d := range UnitDirs {
		out = append(out, path.Join(d, strings.TrimPrefix(ext, ".")+".d"))
	}
	return out
}

// findDropIns lists the *.conf drop-ins of name as systemd's conf_files_list does: a
// file name seen in an earlier directory hides the same name later; the result is
// ordered by file name. hidden are the files so hidden.
func findDropIns(fsys fs.FS, name string) (chosen, hidden []string) {
	byName := map[string]string{}
	for _, dir := range dropInDirs(name) {
		ents, err := fs.ReadDir(fsys, strings.TrimPrefix(dir, "/"))
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if !strings.HasSuffix(n, ".conf") || strings.HasPrefix(n, ".") {
				continue
			}
			p := path.Join(dir, n)
			if _, ok := byName[n]; ok {
				hidden = append(hidden, p)
				continue
			}
			byName[n] = p
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		chosen = append(chosen, byName[n])
	}
	return chosen, hidden
}
