package dockerconf

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// kubesprayRendered is kubespray's docker-options.conf.j2 rendered with its defaults
// (empty registry and mirror lists leave lines holding only " \").
const kubesprayRendered = "[Service]\n" +
	"Environment=\"DOCKER_OPTS= --iptables=false \\\n" +
	"--exec-opt native.cgroupdriver=systemd \\\n" +
	" \\\n" +
	" \\\n" +
	"--data-root=/var/lib/docker \\\n" +
	"--log-opt max-size=50m --log-opt max-file=5 \\\n" +
	"\"\n\n"

const kubesprayService = `[Unit]
Description=Docker Application Container Engine
Documentation=http://docs.docker.com
After=network.target docker.socket
Wants=docker.socket

[Service]
Type=notify
Environment=GOTRACEBACK=crash
ExecReload=/bin/kill -s HUP $MAINPID
Delegate=yes
KillMode=process
ExecStart=/usr/bin/dockerd \
          $DOCKER_OPTS \
          $DOCKER_STORAGE_OPTIONS \
          $DOCKER_NETWORK_OPTIONS \
          $DOCKER_DNS_OPTIONS \
          $INSECURE_REGISTRY
TasksMax=infinity
LimitNOFILE=1048576
Restart=on-failure

[Install]
WantedBy=multi-user.target
`

func kubesprayWrappedFS() fstest.MapFS {
	return fstest.MapFS{
		"etc/systemd/system/docker.service":                       {Data: []byte(kubesprayService)},
		"etc/systemd/system/docker.service.d/docker-options.conf": {Data: []byte(kubesprayRendered)},
	}
}

func TestResolveKubesprayWrapped(t *testing.T) {
	f := Resolve(kubesprayWrappedFS(), nil)
	if len(f.Problems) > 0 || f.StartError != "" {
		t.Fatalf("problems %+v, start error %q", f.Problems, f.StartError)
	}
	want := []string{"/usr/bin/dockerd", "--iptables=false", "--exec-opt", "native.cgroupdriver=systemd",
		"--data-root=/var/lib/docker", "--log-opt", "max-size=50m", "--log-opt", "max-file=5"}
	if !slices.Equal(f.Unit.Argv, want) {
		t.Fatalf("argv %q\nwant %q", f.Unit.Argv, want)
	}
	ip := byKeyMap(f.OnDisk)["iptables"]
	if ip.At.String() != "/etc/systemd/system/docker.service.d/docker-options.conf:2 ($DOCKER_OPTS)" {
		t.Errorf("iptables provenance %s", ip.At)
	}
	if f.Unit.ExecStartAt.Line != 13 {
		t.Errorf("ExecStart at %+v", f.Unit.ExecStartAt)
	}
	// The --iptables=false edit works on the wrapped value in place.
	content := kubesprayRendered
	out, err := RemoveWords(content, ip.At.Line, ip.Tokens)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(content, " --iptables=false", "", 1); out != want {
		t.Fatalf("edit:\n%s\nwant:\n%s", out, want)
	}
	fsys := kubesprayWrappedFS()
	fsys["etc/systemd/system/docker.service.d/docker-options.conf"] = &fstest.MapFile{Data: []byte(out)}
	g := Resolve(fsys, nil)
	if _, ok := byKeyMap(g.OnDisk)["iptables"]; ok || len(g.Problems) > 0 {
		t.Errorf("after the edit: %+v problems %+v", g.OnDisk, g.Problems)
	}
}

func TestParseUnitTextSyntax(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // name=value
		line       []int
		fatal      bool
	}{
		{"continuation", "[Service]\nA=x \\\n  y\nB=z\n", []string{"A=x    y", "B=z"}, []int{2, 4}, false},
		{"comment inside", "[Service]\nA=x \\\n# c\n; d\ny\n", []string{"A=x  y"}, []int{2}, false},
		{"backslash then blank", "[Service]\nA=x \\ \nB=y\n", []string{"A=x \\", "B=y"}, []int{2, 3}, false},
		{"escaped backslash", "[Service]\nA=x\\\\\nB=y\n", []string{"A=x\\\\", "B=y"}, []int{2, 3}, false},
		{"empty line ends", "[Service]\nA=x \\\n\nB=y\n", []string{"A=x", "B=y"}, []int{2, 4}, false},
		{"continued at EOF", "[Service]\nA=x \\", []string{"A=x"}, []int{2}, false},
		{"crlf", "[Service]\r\nA=x \\\r\ny\r\n", []string{"A=x  y"}, []int{2}, false},
		{"no equals", "[Service]\nfoo\nA=1\n", []string{"A=1"}, []int{3}, false},
		{"outside section", "A=1\n[Service]\nB=2\n", []string{"B=2"}, []int{3}, false},
		{"unknown section", "[Foo]\nA=1\n[Service]\nB=2\n", []string{"B=2"}, []int{4}, false},
		{"bad header", "[Service\nA=1\n", nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, _, fatal := parseUnitText([]byte(tc.text), "f")
			if (fatal != nil) != tc.fatal {
				t.Fatalf("fatal %v, want %v", fatal, tc.fatal)
			}
			var got []string
			var lines []int
			for _, o := range opts {
				got = append(got, o.name+"="+o.value)
				lines = append(lines, o.line)
			}
			if !slices.Equal(got, tc.want) || !slices.Equal(lines, tc.line) {
				t.Errorf("got %q at %v, want %q at %v", got, lines, tc.want, tc.line)
			}
		})
	}
}

func TestExecAndEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name, dropIn, envFile string
		argv                  []string
		refused               bool
	}{
		{"quotes and escapes", `ExecStart=/usr/bin/dockerd "a b" 'c\x41' \s %n %% \;`, "",
			[]string{"/usr/bin/dockerd", "a b", "cA", " ", "docker.service", "%", ";"}, false},
		{"var split vs in place", "Environment=\"O=--a  --b 'c d'\" X=1\nExecStart=/usr/bin/dockerd $O ${X}y \"$O\" $UNSET $$z",
			"", []string{"/usr/bin/dockerd", "--a", "--b", "c d", "1y", "--a", "--b", "c d", "$z"}, false},
		{"env file overrides", "Environment=O=--a\nEnvironmentFile=-/etc/default/doc*\nExecStart=/usr/bin/dockerd $O",
			"# c\nO=\"--b \\\"q\\\"\"  \nexport P=1\n", []string{"/usr/bin/dockerd", "--b", "q"}, false},
		{"reset", "Environment=O=--a\nEnvironment=\nExecStart=/usr/bin/dockerd $O", "", []string{"/usr/bin/dockerd"}, false},
		{"prefixes and separator", "ExecStart=-@/usr/bin/dockerd dockerd --x ; /bin/true", "", nil, true},
		{"no colon expansion", "Environment=O=1\nExecStart=:/usr/bin/dockerd $O", "", []string{"/usr/bin/dockerd", "$O"}, false},
		{"unknown escape kept", `ExecStart=/usr/bin/dockerd \q`, "", []string{"/usr/bin/dockerd", `\q`}, false},
		{"bad specifier", `ExecStart=/usr/bin/dockerd %Z`, "", nil, true},
		{"unterminated quote", `ExecStart=/usr/bin/dockerd "x`, "", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"lib/systemd/system/docker.service":                 {Data: []byte("[Service]\nType=notify\nExecStart=/usr/sbin/dockerd -H fd://\n")},
				"etc/systemd/system/docker.service.d/override.conf": {Data: []byte("[Service]\nExecStart=\n" + tc.dropIn + "\n")},
			}
			if tc.envFile != "" {
				fsys["etc/default/docker"] = &fstest.MapFile{Data: []byte(tc.envFile)}
			}
			f := Resolve(fsys, nil)
			if (f.StartError != "") != tc.refused {
				t.Fatalf("start error %q, refused want %v (problems %+v)", f.StartError, tc.refused, f.Problems)
			}
			if !tc.refused && !slices.Equal(f.Unit.Argv, tc.argv) {
				t.Errorf("argv %q, want %q", f.Unit.Argv, tc.argv)
			}
		})
	}
}

func TestDropInDirs(t *testing.T) {
	fsys := fstest.MapFS{
		"lib/systemd/system/docker.service":                 {Data: []byte("[Service]\nExecStart=/usr/sbin/dockerd\n")},
		"lib/systemd/system/service.d/10-all.conf":          {Data: []byte("[Service]\nEnvironment=A=top\n")},
		"etc/systemd/system/docker.service.d/20-x.conf":     {Data: []byte("[Service]\nEnvironment=B=etc\n")},
		"run/systemd/system/docker.service.d/20-x.conf":     {Data: []byte("[Service]\nEnvironment=B=run\n")},
		"usr/lib/systemd/system/docker.service.d/05-a.conf": {Data: []byte("[Service]\nEnvironment=A=usr\n")},
		"etc/systemd/system/docker.service.d/.hidden.conf":  {Data: []byte("[Service]\nEnvironment=H=1\n")},
	}
	f := Resolve(fsys, nil)
	want := []string{"/usr/lib/systemd/system/docker.service.d/05-a.conf", "/lib/systemd/system/service.d/10-all.conf", "/etc/systemd/system/docker.service.d/20-x.conf"}
	if !slices.Equal(f.Unit.DropIns, want) {
		t.Errorf("drop-ins %q, want %q", f.Unit.DropIns, want)
	}
	env := map[string]string{}
	for _, e := range f.Unit.Env {
		env[e.Name] = e.Value
	}
	if env["A"] != "top" || env["B"] != "etc" || env["H"] != "" {
		t.Errorf("env %v", env)
	}
}

// BenchmarkResolveKubesprayWrapped: resolving kubespray's unit and wrapped drop-in from
// memory (lexer, word splitting, expansion, flag parsing).
func BenchmarkResolveKubesprayWrapped(b *testing.B) {
	fsys := kubesprayWrappedFS()
	for b.Loop() {
		Resolve(fsys, nil)
	}
}

// TestParseEnvFile follows parse_env_file_internal of systemd 252 (src/basic/env-file.c).
func TestParseEnvFile(t *testing.T) {
	data := "# comment \\\n  still comment\n" +
		"A=1\n" +
		"  B = two words  \n" +
		"C=\"x \\\"q\\\" \\$ \\n\"\n" +
		"D='it''s'\n" +
		"E=a\\\nb\n" +
		"export F=1\n" +
		"G\n" +
		"H=\n" +
		"I=x # not a comment\n" +
		"; semicolon comment\n" +
		"J=\"multi\nline\"\n" +
		"K=last"
	got := map[string]string{}
	lines := map[string]int{}
	for _, a := range ParseEnvFile(data) {
		got[a.Name], lines[a.Name] = a.Value, a.Line
	}
	want := map[string]string{"A": "1", "B": "two words", "C": `x "q" $ \n`, "D": "its", "E": "ab",
		"H": "", "I": "x # not a comment", "J": "multi\nline", "K": "last"}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %q (set %v), want %q", k, g, ok, v)
		}
	}
	for _, k := range []string{"F", "export F", "G", "still comment"} {
		if _, ok := got[k]; ok {
			t.Errorf("%q must not be set", k)
		}
	}
	if lines["A"] != 3 || lines["K"] != 16 {
		t.Errorf("lines %v", lines)
	}
}
