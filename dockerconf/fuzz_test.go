package dockerconf

import (
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzDaemonJSON: the loader never panics, errors carry a position, and every edit of a
// file that parses gives a file that parses.
func FuzzDaemonJSON(f *testing.F) {
	f.Add([]byte("{\n  \"log-opts\": {\"max-size\": \"10m\"},\n  \"debug\": true\n}\n"))
	f.Add([]byte("{}"))
	f.Add([]byte(""))
	f.Add([]byte("{\"iptables\": false,}"))
	f.Add([]byte("[1,2]"))
	f.Add([]byte("{\"a\":1}{\"b\":2}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDaemonJSON(data)
		if err != nil {
			if pe, ok := err.(*PosError); !ok || pe.Line < 1 || pe.Column < 0 {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		_ = d.Options("/etc/docker/daemon.json")
		for _, edit := range []func() ([]byte, error){
			func() ([]byte, error) { return d.Set("iptables", true) },
			func() ([]byte, error) { return d.Set("log-opts", map[string]string{"max-size": "100m"}) },
			func() ([]byte, error) {
				if len(d.Directives) == 0 {
					return d.Data, nil
				}
				return d.Delete(d.Directives[0].Key)
			},
		} {
			out, err := edit()
			if err != nil {
				continue // refused, never a broken file
			}
			if _, err := ParseDaemonJSON(out); err != nil {
				t.Fatalf("edit produced a file that does not parse: %v\n%s", err, out)
			}
		}
	})
}

// FuzzUnitAndOpts: resolving a drop-in and a DOCKER_OPTS value never panics, and problems
// name the file.
func FuzzUnitAndOpts(f *testing.F) {
	f.Add("[Service]\nEnvironment=\"DOCKER_OPTS=--iptables=false --log-opt max-size=10m\"\n", "--debug -H fd:// --bip 10.1.0.1/24")
	f.Add("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd $DOCKER_OPTS ${X}\n", "'--label=a b' \"--dns\" 1.1.1.1")
	f.Add("[Service\nfoo", "--log-opt")
	f.Add("[Service]\nEnvironment=A=1 \\\n  B=2\n", "-Hunix:///s -D -l debug --")
	f.Add("[Service]\nEnvironmentFile=-/etc/default/docker\n", "\"unterminated")
	f.Fuzz(func(t *testing.T, dropIn, opts string) {
		fsys := fstest.MapFS{
			"lib/systemd/system/docker.service":                       {Data: []byte("[Service]\nExecStart=/usr/bin/dockerd -H fd:// $DOCKER_OPTS\n")},
			"etc/systemd/system/docker.service.d/docker-options.conf": {Data: []byte(dropIn)},
			"etc/default/docker":                                      {Data: []byte("DOCKER_OPTS=" + opts + "\n")},
		}
		facts := Resolve(fsys, append([]string{"dockerd"}, strings.Fields(opts)...))
		for _, p := range facts.Problems {
			if p.File == "" {
				t.Fatalf("problem without a file: %+v", p)
			}
		}
		if ws, err := splitWords(opts, exUnquote|exRelax); err != nil {
			t.Fatalf("relaxed splitting failed on %q: %v", opts, err)
		} else {
			_ = ws
		}
	})
}

// FuzzSystemdSyntax: the unit lexer, the word splitter and the environment file parser
// never panic; options keep a line inside the file; a word split without errors
// re-splits to the same words when written back quoted.
func FuzzSystemdSyntax(f *testing.F) {
	f.Add("[Service]\nEnvironment=\"DOCKER_OPTS= --iptables=false \\\n \\\n# c\n--data-root=/d \\\n\"\n", `"a b" 'c\x41' \s %n $A ${B}`)
	f.Add("[Service\n", `"unterminated`)
	f.Add("A=1 \\\r\n[Unit]\r\nX=\\\\\n", `\u00e9 \U0001F600 \101 \q \`)
	f.Fuzz(func(t *testing.T, unit, words string) {
		opts, _, _ := parseUnitText([]byte(unit), "f")
		// Line ends as systemd's read_line takes them: "\n", "\r" and NUL
		// ("\r\n" counts twice here, which only loosens the bound).
		n := strings.Count(unit, "\n") + strings.Count(unit, "\r") + strings.Count(unit, "\x00") + 1
		for _, o := range opts {
			if o.line < 1 || o.line > n {
				t.Fatalf("option %+v outside the file's %d lines", o, n)
			}
		}
		_ = ParseEnvFile(unit)
		ws, err := splitWords(words, exUnquote|exCUnescape)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, w := range ws {
			b.WriteString(`"`)
			for _, c := range []byte(w) {
				if c == '"' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			}
			b.WriteString(`" `)
		}
		again, err := splitWords(b.String(), exUnquote|exCUnescape)
		if err != nil || len(again) != len(ws) {
			t.Fatalf("re-split of %q: %q, %v", b.String(), again, err)
		}
		for i := range ws {
			if again[i] != ws[i] {
				t.Fatalf("word %d: %q became %q", i, ws[i], again[i])
			}
		}
	})
}
