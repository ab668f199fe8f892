package dockerconf

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// sdTruth is what systemd itself made of a unit (systemd-analyze verify's dump).
type sdTruth struct {
	loadState string
	fragment  string
	dropIns   []string
	env       []string
	envFiles  []string
	cmds      [][]string
	log       string
}

// systemdLoad asks the real systemd how it loads docker.service from the tree at root:
// `systemd-analyze verify --root=ROOT` at debug level dumps the unit as loaded
// (fragment, drop-ins, Environment=, EnvironmentFile=, ExecStart= argv).
func systemdLoad(t *testing.T, root string) sdTruth {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemd-analyze", "verify", "--root="+root, "--man=no", "docker.service")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_LOG_LEVEL=debug", "SYSTEMD_LOG_COLOR=0", "SYSTEMD_LOG_TARGET=console"}
	out, _ := cmd.CombinedOutput() // verify fails on missing targets and binaries; the dump is what counts
	var tr sdTruth
	tr.log = string(out)
	inUnit, inExec := false, false
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "\t-> Unit ") {
			inUnit = l == "\t-> Unit docker.service:"
			continue
		}
		if !inUnit {
			continue
		}
		s := strings.TrimLeft(l, "\t")
		if strings.HasPrefix(s, "-> ") {
			inExec = s == "-> ExecStart:"
			continue
		}
		k, v, _ := strings.Cut(s, ": ")
		switch {
		case k == "Unit Load State":
			tr.loadState = v
		case k == "Fragment Path":
			tr.fragment = strings.TrimPrefix(v, root)
		case k == "DropIn Path":
			tr.dropIns = append(tr.dropIns, strings.TrimPrefix(v, root))
		case k == "Environment":
			tr.env = append(tr.env, v)
		case k == "EnvironmentFile":
			tr.envFiles = append(tr.envFiles, v)
		case k == "Command Line" && inExec:
			tr.cmds = append(tr.cmds, unquoteCommandLine(v))
		case strings.HasPrefix(l, "\t\t") && !strings.HasPrefix(l, "\t\t\t"):
			inExec = false
		}
	}
	switch {
	case tr.loadState != "":
	case strings.Contains(tr.log, "Unit docker.service has a bad unit file setting."):
		tr.loadState = "bad-setting"
	case strings.Contains(tr.log, "Unit docker.service is masked."):
		tr.loadState = "masked"
	}
	if tr.loadState == "" {
		t.Fatalf("systemd-analyze printed no dump of docker.service:\n%s", out)
	}
	return tr
}

// unquoteCommandLine splits systemd's quote_command_line output: words separated by
// blanks, a word in double quotes with \" \\ \` \$ escaped.
func unquoteCommandLine(s string) []string {
	var out []string
	for s != "" {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		if s[0] != '"' {
			w, rest, _ := strings.Cut(s, " ")
			out, s = append(out, w), rest
			continue
		}
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				if c, ok := map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', 'a': '\a', 'b': '\b', 'f': '\f', 'v': '\v'}[s[i]]; ok {
					b.WriteByte(c)
					continue
				}
			}
			b.WriteByte(s[i])
		}
		out, s = append(out, b.String()), s[min(i+1, len(s)):]
	}
	return out
}

// sdEdgeCases are unit trees for the syntax systemd is picky about.
var sdEdgeCases = map[string]map[string]string{
	"continuation-and-comments": {
		"lib/systemd/system/docker.service":          "[Service]\nType=notify\nExecStart=/usr/bin/dockerd \\\n  -H fd:// \\\n# a comment inside\n; another\n  $DOCKER_OPTS\n",
		"etc/systemd/system/docker.service.d/a.conf": "[Service]\nEnvironment=\"DOCKER_OPTS= --iptables=false \\\n \\\n\t--data-root=/d \\\n\"\nEnvironment=B=x\\ \nEnvironment=C=y\\\\\n",
	},
	"quoting-escapes-specifiers": {
		"lib/systemd/system/docker.service": "[Service]\nType=notify\nExecStart=/usr/bin/dockerd \"a b\" 'c\\x41\"' \\s x\\ty %n %N %p %i %% %E/x %t %S \\; ${A}z $A \"$A\" $$B\nEnvironment=\"A=1 2\" 'B=q\\'r' C=%n D=\\u00e9\n",
	},
	"resets-and-env-files": {
		"lib/systemd/system/docker.service":                 "[Service]\nType=notify\nEnvironment=A=1\nEnvironmentFile=/etc/default/docker\nExecStart=/usr/sbin/dockerd -H fd://\n",
		"etc/systemd/system/docker.service.d/override.conf": "[Service]\nEnvironment=\nEnvironment=B=2 A=3\nEnvironmentFile=\nEnvironmentFile=-/etc/sysconfig/docker*\nEnvironmentFile=/etc/%N.env\nExecStart=\nExecStart=-/usr/bin/dockerd $OPTIONS\n",
	},
	"prefixes-and-separator": {
		"lib/systemd/system/docker.service": "[Service]\nType=oneshot\nExecStart=@/usr/bin/dockerd dockerd-argv0 --x ; :/bin/echo $A ; +/bin/true x\\;y \\;\n",
	},
	"bad-prefix-refused": {
		"lib/systemd/system/docker.service": "[Service]\nType=oneshot\nExecStart=+!/bin/true\n",
	},
	"two-execstart-refused": {
		"lib/systemd/system/docker.service":                 "[Service]\nType=notify\nExecStart=/usr/sbin/dockerd -H fd://\n",
		"etc/systemd/system/docker.service.d/override.conf": "[Service]\nExecStart=/usr/bin/dockerd\n",
	},
	"unknown-escape-kept": {
		"lib/systemd/system/docker.service": "[Service]\nType=notify\nExecStart=/usr/sbin/dockerd \\q\n",
	},
	"unterminated-quote": {
		"lib/systemd/system/docker.service":                "[Service]\nType=notify\nExecStart=/usr/sbin/dockerd $DOCKER_OPTS\n",
		"etc/systemd/system/docker.service.d/options.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--debug\nEnvironment=X=1\n",
	},
	"backslash-then-blank-and-crlf": {
		"lib/systemd/system/docker.service": "[Service]\r\nType=notify\r\nEnvironment=A=x \\ \r\nEnvironment=B=y \\\r\n z\r\nExecStart=/usr/sbin/dockerd\r\n",
	},
	"dropin-priority-and-type-dir": {
		"lib/systemd/system/docker.service":                 "[Service]\nType=notify\nExecStart=/usr/sbin/dockerd\n",
		"etc/systemd/system/docker.service":                 "[Service]\nType=notify\nExecStart=/usr/bin/dockerd -H unix://\n",
		"lib/systemd/system/service.d/10-all.conf":          "[Service]\nEnvironment=A=top\n",
		"etc/systemd/system/docker.service.d/20-x.conf":     "[Service]\nEnvironment=B=etc\n",
		"run/systemd/system/docker.service.d/20-x.conf":     "[Service]\nEnvironment=B=run\n",
		"usr/lib/systemd/system/docker.service.d/05-a.conf": "[Service]\nEnvironment=A=usr\n",
	},
	"unknown-section-and-junk": {
		"lib/systemd/system/docker.service": "Foo=1\n[Service]\nType=notify\njunk line\n[X-Mine]\nExecStart=/x\n[Socket]\nEnvironment=S=1\n[Service]\nExecStart=/usr/sbin/dockerd\n",
	},
	"env-partial-and-eof": {
		"lib/systemd/system/docker.service": "[Service]\nType=notify\nEnvironment=A=1 \"B=2\nEnvironment=C=\\x41\\101\\u00e9 D=\\q E=%%n\nEnvironment=F=1 \\\n\nEnvironment=G=x\\\\\nExecStart=/usr/sbin/dockerd \"x\\x25n\" %%%n \\\n  --tail \\",
	},
	"masked": {
		"lib/systemd/system/docker.service": "[Service]\nExecStart=/usr/sbin/dockerd\n",
		"etc/systemd/system/docker.service": "",
	},
}

// TestUnitAgainstRealSystemd loads every corpus unit tree and the edge cases above with
// the real systemd (Debian's systemd 252, offline through systemd-analyze) and with
// ksdoctor, and compares the fragment, the drop-ins, Environment=, EnvironmentFile=,
// the ExecStart= argv and whether systemd refuses the unit. ($VAR expansion happens
// only when systemd spawns the service; it is not visible offline.)
func TestUnitAgainstRealSystemd(t *testing.T) {
	testbed.Require(t, "systemd-analyze")
	trees := map[string]string{}
	for name, files := range sdEdgeCases {
		dir := t.TempDir()
		for p, c := range files {
			full := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		trees["edge/"+name] = dir
	}
	roots, _ := filepath.Glob("../testdata/realworld/*/root")
	for _, r := range roots {
		if f, _ := findFragment(os.DirFS(r), UnitName); f != "" {
			abs, _ := filepath.Abs(r)
			trees["corpus/"+filepath.Base(filepath.Dir(r))] = abs
		}
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range trees {
			if !yield(k) {
				return
			}
		}
	}) {
		root := trees[name]
		t.Run(name, func(t *testing.T) {
			want := systemdLoad(t, root)
			compareWithSystemd(t, root, want)
		})
	}
}

func compareWithSystemd(t *testing.T, root string, want sdTruth) {
	t.Helper()
	facts := &diag.DockerConfFacts{}
	svc := loadService(os.DirFS(root), facts, UnitName)
	if svc == nil {
		t.Fatalf("ksdoctor found no unit; systemd: %s", want.loadState)
	}
	refused := want.loadState != "loaded"
	if (svc.refused != "") != refused {
		t.Fatalf("systemd load state %s, ksdoctor refused=%q (problems %+v)\n%s", want.loadState, svc.refused, facts.Problems, want.log)
	}
	if want.fragment != "" && svc.fragment != want.fragment {
		t.Errorf("fragment: ksdoctor %s, systemd %s", svc.fragment, want.fragment)
	}
	if refused {
		return
	}
	if !slices.Equal(svc.dropIns, want.dropIns) {
		t.Errorf("drop-ins: ksdoctor %q, systemd %q", svc.dropIns, want.dropIns)
	}
	var env []string
	for _, e := range svc.env {
		env = append(env, e.Name+"="+e.Value)
	}
	if !slices.Equal(env, want.env) {
		t.Errorf("Environment:\nksdoctor %q\nsystemd  %q", env, want.env)
	}
	var files []string
	for _, f := range svc.envFiles {
		p := f.path
		if f.optional {
			p = "-" + p
		}
		files = append(files, p)
	}
	if !slices.Equal(files, want.envFiles) {
		t.Errorf("EnvironmentFile: ksdoctor %q, systemd %q", files, want.envFiles)
	}
	if len(svc.execs) != len(want.cmds) {
		t.Fatalf("ExecStart: ksdoctor %d commands, systemd %d: %q", len(svc.execs), len(want.cmds), want.cmds)
	}
	for i, c := range svc.execs {
		if !slices.Equal(c.argv, want.cmds[i]) {
			t.Errorf("ExecStart[%d]:\nksdoctor %q\nsystemd  %q", i, c.argv, want.cmds[i])
		}
	}
}
