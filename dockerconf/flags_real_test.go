package dockerconf_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ksdoctor/ksdoctor/dockerconf"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// TestRealFlagModelMatchesInstalledDockerd runs the real dockerd installed here (Debian's
// 20.10) with flags and daemon.json directives other releases have or lack, each refused
// before the daemon starts anything, and compares its verdict with the flag model's for the
// release `dockerd --version` reports.
func TestRealFlagModelMatchesInstalledDockerd(t *testing.T) {
	testbed.Require(t, "dockerd", "unshare")
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		bin = "/usr/sbin/dockerd"
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("dockerd --version: %v", err)
	}
	v, ok := dockerconf.ParseVersion(string(out))
	if !ok {
		t.Fatalf("unknown dockerd version %q", out)
	}
	t.Logf("installed: %s → release %s", strings.TrimSpace(string(out)), v)
	dir := t.TempDir()
	tests := []struct {
		name, json string
		flags      []string
		// accepted: dockerd gets past flag and key validation (then stops at the invalid
		// dns address every accepted case carries).
		accepted bool
	}{
		{name: "flag-ip-forward-no-drop", flags: []string{"--ip-forward-no-drop"}, json: `{}`},
		{name: "flag-validate", flags: []string{"--validate"}, json: `{}`},
		{name: "flag-graph", flags: []string{"--graph", filepath.Join(dir, "g")}, json: `{"dns": ["not-an-ip"]}`, accepted: true},
		{name: "json-graph", json: `{"graph": "` + filepath.Join(dir, "g") + `", "dns": ["not-an-ip"]}`, accepted: true},
		{name: "json-28-keys", json: `{"ip-forward-no-drop": true, "bip6": "fd00:1::1/64"}`},
		{name: "json-proxies", json: `{"proxies": {"http-proxy": "http://proxy.local:3128"}}`},
		{name: "json-ip6tables", json: `{"ip6tables": false, "dns": ["not-an-ip"]}`, accepted: true},
		{name: "json-graph-and-data-root", json: `{"graph": "` + filepath.Join(dir, "g") + `", "data-root": "` + filepath.Join(dir, "d") + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(dir, tc.name+".json")
			if err := os.WriteFile(conf, []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--config-file", conf, "--exec-root", filepath.Join(dir, "x-"+tc.name),
				"--pidfile", filepath.Join(dir, tc.name+".pid"), "-H", "unix://" + filepath.Join(dir, tc.name+".sock")}, tc.flags...)
			got := runRefused(t, bin, args)

			unit := "[Service]\nExecStart=/usr/sbin/dockerd --config-file /etc/docker/daemon.json " + strings.Join(tc.flags, " ") + "\n"
			f := dockerconf.ResolveFor(fstest.MapFS{
				"lib/systemd/system/docker.service": {Data: []byte(unit)},
				"etc/docker/daemon.json":            {Data: []byte(tc.json)},
			}, nil, v)
			var fatal []string
			for _, p := range f.Problems {
				if p.Fatal {
					fatal = append(fatal, p.Message)
				}
			}
			if tc.accepted {
				if !strings.Contains(got, "not-an-ip") || len(fatal) > 0 {
					t.Fatalf("dockerd: %s\nmodel: start error %q, fatal problems %q", got, f.StartError, fatal)
				}
				return
			}
			if f.StartError == "" {
				t.Fatalf("dockerd refused (%s); the model predicts a start", got)
			}
			if !sameError(got, f.StartError) {
				t.Fatalf("dockerd: %s\nmodel:  %s", got, f.StartError)
			}
		})
	}
}

var withFile = regexp.MustCompile(`with file \S+: `)

// runRefused runs dockerd in a network namespace of its own and returns its error output;
// it fails the test when dockerd keeps running (it must stop at its configuration).
func runRefused(t *testing.T, bin string, args []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--net", "--", bin}, args...)...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("dockerd %q did not stop at its configuration:\n%s", args, out)
	}
	if err == nil {
		t.Fatalf("dockerd %q exited 0:\n%s", args, out)
	}
	return strings.TrimSpace(string(out))
}

// sameError reports whether dockerd's output carries the predicted error; the keys of
// "don't match any configuration option" come in map order, so they are compared as sets.
func sameError(out, predicted string) bool {
	const unknown = "the following directives don't match any configuration option: "
	if i := strings.Index(predicted, unknown); i >= 0 {
		j := strings.Index(out, unknown)
		if j < 0 {
			return false
		}
		line, _, _ := strings.Cut(out[j+len(unknown):], "\n")
		line = strings.TrimRight(line, "\" ")
		a := strings.Split(line, ", ")
		b := strings.Split(predicted[i+len(unknown):], ", ")
		sort.Strings(a)
		sort.Strings(b)
		return strings.Join(a, ",") == strings.Join(b, ",")
	}
	// Flag errors: the model adds which releases have the flag after dockerd's words.
	head, _, _ := strings.Cut(predicted, " (it exists in")
	// The configuration file's path differs (the test's file, the node's daemon.json).
	head = withFile.ReplaceAllString(head, "with file F: ")
	return strings.Contains(withFile.ReplaceAllString(out, "with file F: "), head)
}
