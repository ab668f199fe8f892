package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// inproc runs the command tree in this process (no binary, no terminal).
func inproc(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func TestPluginUsageNamesKubectl(t *testing.T) {
	for _, tc := range []struct{ argv0, want, not string }{
		{"/usr/local/bin/kubectl-ksdoctor", "kubectl ksdoctor sweep [flags]", "\n  ksdoctor sweep"},
		{"/home/u/.krew/bin/kubectl-ksdoctor", "kubectl ksdoctor sweep [flags]", "\n  ksdoctor sweep"},
		{"/usr/bin/ksdoctor", "\n  ksdoctor sweep [flags]", "kubectl"},
	} {
		old := invokedAs
		invokedAs = tc.argv0
		r := inproc(t, "sweep", "--help")
		invokedAs = old
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) || strings.Contains(r.stdout, tc.not) {
			t.Errorf("argv[0] %s: code %d, want %q and not %q in:\n%s", tc.argv0, r.code, tc.want, tc.not, r.stdout)
		}
	}
}

// kubeconfigTwo writes a kubeconfig with two clusters and two users, its
// current context pointing at the first of each.
func kubeconfigTwo(t *testing.T) string {
	t.Helper()
	cfg := `apiVersion: v1
kind: Config
current-context: main
clusters:
- name: first
  cluster: {server: "https://127.0.0.1:6443"}
- name: second
  cluster: {server: "https://127.0.0.2:6443"}
users:
- name: alice
  user: {token: alice-token}
- name: bob
  user: {token: bob-token}
contexts:
- name: main
  context: {cluster: first, user: alice}
- name: other
  context: {cluster: second, user: bob}
`
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The kubeconfig flags pick the cluster, user and timeout as kubectl's do.
func TestKubeconfigFlagsAsKubectl(t *testing.T) {
	kc := kubeconfigTwo(t)
	for _, tc := range []struct {
		flags       []string
		host, token string
		timeout     time.Duration
	}{
		{nil, "https://127.0.0.1:6443", "alice-token", 0},
		{[]string{"--context", "other"}, "https://127.0.0.2:6443", "bob-token", 0},
		{[]string{"--cluster", "second"}, "https://127.0.0.2:6443", "alice-token", 0},
		{[]string{"--user", "bob", "--request-timeout", "7"}, "https://127.0.0.1:6443", "bob-token", 7 * time.Second},
		{[]string{"--context", "other", "--cluster", "first", "--request-timeout", "2m"}, "https://127.0.0.1:6443", "bob-token", 2 * time.Minute},
	} {
		g := &globals{}
		root := newRoot(streams{}, g)
		if err := root.ParseFlags(append([]string{"--kubeconfig", kc}, tc.flags...)); err != nil {
			t.Fatal(err)
		}
		var o gather.Options
		if err := g.kubeOptions(&o); err != nil {
			t.Fatal(err)
		}
		c, err := gather.NewKubeClient(o)
		if err != nil {
			t.Fatalf("%v: %v", tc.flags, err)
		}
		if c.Config.Host != tc.host || c.Config.BearerToken != tc.token || c.Config.Timeout != tc.timeout {
			t.Errorf("%v: host %s token %s timeout %v, want %s %s %v", tc.flags, c.Config.Host, c.Config.BearerToken, c.Config.Timeout, tc.host, tc.token, tc.timeout)
		}
	}
	r := inproc(t, "sweep", "--kubeconfig", kc, "--request-timeout", "soon")
	if r.code != exitCannot || !strings.Contains(r.stderr, "--request-timeout") {
		t.Errorf("bad --request-timeout: code %d, stderr %s", r.code, r.stderr)
	}
	if r := inproc(t, "sweep", "--all-nodes", "-n", "ops", "--kubeconfig", filepath.Join(t.TempDir(), "none")); strings.Contains(r.stderr, "unknown shorthand") {
		t.Errorf("-n is not --namespace: %s", r.stderr)
	}
}

// A real kubectl finds the binary on PATH as kubectl-ksdoctor and runs it:
// the plugin list names it, the usage says "kubectl ksdoctor", and a
// replay through kubectl reports exactly what the binary reports.
func TestRealKubectlRunsPlugin(t *testing.T) {
	testbed.Require(t, "kubectl")
	dir := t.TempDir()
	plugin := filepath.Join(dir, pluginName)
	if err := os.Symlink(bin, plugin); err != nil {
		t.Fatal(err)
	}
	path := dir + string(os.PathListSeparator) + os.Getenv("PATH")
	kubectl := func(args ...string) result {
		t.Helper()
		cmd := exec.Command("kubectl", args...)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		cmd.Env = append(os.Environ(), "PATH="+path, "NO_COLOR=1", "KUBECONFIG="+filepath.Join(dir, "none"))
		err := cmd.Run()
		r := result{stdout: so.String(), stderr: se.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("kubectl %v: %v", args, err)
		}
		return r
	}
	if r := kubectl("plugin", "list"); !strings.Contains(r.stdout, plugin) {
		t.Fatalf("kubectl plugin list does not name %s:\n%s\n%s", plugin, r.stdout, r.stderr)
	}
	help := kubectl("ksdoctor", "--help")
	if help.code != 0 || !strings.Contains(help.stdout, "kubectl ksdoctor [command]") {
		t.Fatalf("kubectl ksdoctor --help: code %d\n%s%s", help.code, help.stdout, help.stderr)
	}
	snap := "../../fixtures/exited-containers/snapshot.json"
	via := kubectl("ksdoctor", "sweep", "--from", snap, "--format", "json")
	direct := ksd(t, "sweep", "--from", snap, "--format", "json")
	if via.code != direct.code || via.code != exitWarning || findingsJSON(t, via.stdout) != findingsJSON(t, direct.stdout) {
		t.Fatalf("through kubectl: code %d, direct %d\n%s\n%s", via.code, direct.code, via.stdout, via.stderr)
	}
	// kubectl hands the plugin its flags untouched, kubeconfig ones included.
	bad := kubectl("ksdoctor", "sweep", "--kubeconfig", filepath.Join(dir, "none"), "--context", "x", "--request-timeout", "soon")
	if bad.code != exitCannot || !strings.Contains(bad.stderr, "--request-timeout") {
		t.Fatalf("kubectl ksdoctor with a bad --request-timeout: code %d\n%s", bad.code, bad.stderr)
	}
}

// findingsJSON is a JSON report's findings and summary, re-encoded.
func findingsJSON(t *testing.T, report string) string {
	t.Helper()
	var r diag.Report
	if err := json.Unmarshal([]byte(report), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, report)
	}
	b, err := json.Marshal([]any{r.Findings, r.Summary})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
