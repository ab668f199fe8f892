package dockerconf

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// argvProbe is an executable that records the argv systemd gives it, NUL-separated.
const argvProbe = "#!/bin/sh\nprintf '%s\\0' \"$0\" \"$@\" > /run/ksd-argv.out\n"

// expansionCases are [Service] settings whose ExecStart= systemd expands only when it
// starts the service: $VAR split into words, ${VAR} in place, environment files.
var expansionCases = map[string]struct{ service, envFile string }{
	"kubespray-wrapped": {service: "Environment=\"DOCKER_OPTS= --iptables=false \\\n--exec-opt native.cgroupdriver=systemd \\\n \\\n \\\n--data-root=/var/lib/docker \\\n--log-opt max-size=50m --log-opt max-file=5 \\\n\"\n" +
		"ExecStart=/usr/local/bin/ksd-argv \\\n          $DOCKER_OPTS \\\n          $DOCKER_STORAGE_OPTIONS \\\n          $DOCKER_DNS_OPTIONS \\\n          $INSECURE_REGISTRY\n"},
	"quotes-in-values": {service: "Environment=\"O=--a 'b c' \\\\\"d e\\\\\" f\\\\\\\\ g\" 'P=x\"y z\"' Q=\\\"lone\n" +
		"ExecStart=/usr/local/bin/ksd-argv $O $P $Q\n"},
	"braces-and-dollars": {service: "Environment=O=1\\s2 E=\n" +
		"ExecStart=/usr/local/bin/ksd-argv ${O} x${O}y $$O a$O ${U}z ${O:-d} $E \"${O}\" $O-x $\n"},
	"no-expansion-prefix": {service: "Environment=O=1\nExecStart=:/usr/local/bin/ksd-argv $O ${O}\n"},
	"env-file-overrides": {service: "Environment=O=from-unit B=keep\nEnvironmentFile=-/etc/ksd/missing\nEnvironmentFile=-/etc/ksd/env*\n" +
		"ExecStart=/usr/local/bin/ksd-argv $O $B $C $D\n",
		envFile: "# comment\nO=\"--x 'y z'\"  \nexport C=1\nD=a\\\nb\n"},
}

// TestExecExpansionAgainstRealSystemd runs each case as a real service under systemd 252
// (a machine booted with nspawn) and compares the argv its ExecStart= received with
// ksdoctor's expansion of the same files, read from the machine's root.
func TestExecExpansionAgainstRealSystemd(t *testing.T) {
	m := testbed.BootMachine(t, testbed.MachineOptions{})
	m.WriteFile(t, "/usr/local/bin/ksd-argv", argvProbe, 0o755)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range expansionCases {
			if !yield(k) {
				return
			}
		}
	}) {
		tc := expansionCases[name]
		t.Run(name, func(t *testing.T) {
			m.WriteFile(t, "/etc/systemd/system/ksd-argv.service", "[Service]\nType=oneshot\n"+tc.service, 0o644)
			if tc.envFile != "" {
				m.WriteFile(t, "/etc/ksd/env.1", tc.envFile, 0o644)
			} else {
				_ = os.RemoveAll(m.Root() + "/etc/ksd")
			}
			_ = os.Remove(m.Root() + "/run/ksd-argv.out")
			m.Run(t, "systemctl", "daemon-reload")
			if out, err := m.TryRun("systemctl", "start", "ksd-argv.service"); err != nil {
				st, _ := m.TryRun("systemctl", "status", "--no-pager", "ksd-argv.service")
				t.Fatalf("start: %v %s\n%s", err, out, st)
			}
			var raw string
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if b, err := os.ReadFile(m.Root() + "/run/ksd-argv.out"); err == nil {
					raw = string(b)
					break
				}
			}
			want := strings.Split(strings.TrimSuffix(raw, "\x00"), "\x00")
			facts := &diag.DockerConfFacts{}
			args := resolveUnit(os.DirFS(m.Root()), facts, "ksd-argv.service")
			var got []string
			for _, a := range args {
				got = append(got, a.Word)
			}
			t.Logf("systemd gave %q", want)
			if !slices.Equal(got, want) {
				t.Errorf("argv:\nksdoctor %q\nsystemd  %q\n(problems %+v)", got, want, facts.Problems)
			}
		})
	}
}
