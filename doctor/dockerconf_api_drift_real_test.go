package doctor_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
)

// hideProc makes the node look as it does from a pod without hostPID: /proc shows no
// dockerd and the pidfile is gone, while the Docker API still answers.
func (n *node) hideProc() {
	n.t.Helper()
	must(n.t, os.RemoveAll(filepath.Join(n.root, "proc")))
	must(n.t, os.MkdirAll(filepath.Join(n.root, "proc"), 0o755))
	copyFile(n.t, "/proc/stat", filepath.Join(n.root, "proc", "stat"))
	_ = os.Remove(filepath.Join(n.root, n.d.PIDFile))
}

// driftKeys runs docker.options-drift and returns the drifted directives (daemon.json
// names, "--" dropped, mapped from flag to key) and the sources the rows name.
func driftKeys(t *testing.T, s *diag.Snapshot) (keys, sources []string) {
	t.Helper()
	fs, err := checks.DockerOptionsDrift.Judge(s, nil)
	if err != nil {
		t.Fatalf("options-drift: %v", err)
	}
	flagKey := map[string]string{"bip": "bip", "registry-mirror": "registry-mirrors", "insecure-registry": "insecure-registries"}
	for _, f := range fs {
		for _, r := range f.Evidence[0].Table.Rows {
			k := strings.TrimPrefix(r[0], "--")
			if v, ok := flagKey[k]; ok {
				k = v
			}
			if strings.HasSuffix(k, "daemon.json") {
				k = "daemon.json"
			}
			keys = append(keys, k)
			sources = append(sources, r[4])
		}
	}
	sort.Strings(keys)
	return keys, sources
}

// TestRealAPIOnlyDriftMatchesProcess runs the real dockerd (Debian's 20.10) under a unit
// and a kubespray-style drop-in, then gathers twice: with /proc showing the process, and as
// a pod without hostPID sees the node (only the Docker API). Both verdicts agree: no drift
// right after start (mirrors get their trailing slash, 127.0.0.0/8 joins the insecure
// registries, CIDRs are canonical, --iptables=false turns the bridge's masquerading off, and
// none of that is drift), and the same directives
// drift after the files are edited; each row names where its running value came from.
func TestRealAPIOnlyDriftMatchesProcess(t *testing.T) {
	opts := []string{"--bip=10.131.0.1/24", "--iptables=false", "--registry-mirror=https://mirror.ksdt.local",
		"--insecure-registry=harbor.ksdt.local:30280", "--insecure-registry=10.20.0.1/16", "--log-opt", "max-size=10m"}
	n := newNode(t, opts, "{\n  \"live-restore\": true,\n  \"labels\": [\"zone=ksdt\"]\n}\n")
	withProc := n.snapshot(checks.DockerOptionsDrift)
	if withProc.DockerConf.Running == nil {
		t.Fatal("the process was not read")
	}
	if f := withProc.DockerConf; f.DockerdVersion == "" || !strings.HasPrefix(f.DockerdVersionSource, "Docker API /version") {
		t.Errorf("judged against %q from %q", f.DockerdVersion, f.DockerdVersionSource)
	}
	n.hideProc()
	apiOnly := n.snapshot(checks.DockerOptionsDrift)
	if apiOnly.DockerConf.Running != nil || apiOnly.Has(diag.SourceDockerdProc) {
		t.Fatal("the process was read with /proc hidden")
	}
	if d := apiOnly.Docker.Daemon; d == nil || !slices.Contains(d.InsecureRegistries, "127.0.0.0/8") ||
		!slices.Contains(d.RegistryMirrors, "https://mirror.ksdt.local/") {
		t.Fatalf("/info facts %+v", apiOnly.Docker.Daemon)
	}
	if data, err := json.MarshalIndent(apiOnly.Docker.Daemon, "", "  "); err == nil {
		t.Logf("/info facts:\n%s", data)
	}
	for name, s := range map[string]*diag.Snapshot{"process": withProc, "api-only": apiOnly} {
		if keys, _ := driftKeys(t, s); len(keys) != 0 {
			t.Errorf("%s: drift right after start: %q", name, keys)
		}
	}

	// Edit the drop-in (bip, a second mirror) without restarting.
	n.write(dropIn, strings.Replace(strings.Replace(n.read(dropIn), "10.131.0.1/24", "10.132.0.1/24", 1),
		"--registry-mirror=https://mirror.ksdt.local", "--registry-mirror=https://mirror.ksdt.local --registry-mirror=https://mirror2.ksdt.local", 1))
	apiOnly = n.snapshot(checks.DockerOptionsDrift)
	n.refreshProc()
	withProc = n.snapshot(checks.DockerOptionsDrift)
	pk, psrc := driftKeys(t, withProc)
	ak, asrc := driftKeys(t, apiOnly)
	want := []string{"bip", "registry-mirrors"}
	if !slices.Equal(pk, want) || !slices.Equal(ak, want) {
		t.Fatalf("drifted directives: process %q, api-only %q; want %q", pk, ak, want)
	}
	for _, src := range psrc {
		if src != "running process" {
			t.Errorf("process row from %q", src)
		}
	}
	for _, src := range asrc {
		if !strings.HasPrefix(src, "Docker API /") {
			t.Errorf("api-only row from %q", src)
		}
	}

	// daemon.json edited after start: the process verdict sees the file's time, the API
	// verdict the value itself.
	n.write(n.daemonJSON, "{\n  \"live-restore\": false,\n  \"labels\": [\"zone=ksdt\"]\n}\n")
	// The process verdict needs the file visibly newer than dockerd's start
	// (by more than its one-second tolerance); on a fast machine the write
	// lands within that second, so date it as an edit a minute later.
	later := time.Now().Add(time.Minute)
	must(t, os.Chtimes(filepath.Join(n.root, n.daemonJSON), later, later))
	n.hideProc()
	ak, _ = driftKeys(t, n.snapshot(checks.DockerOptionsDrift))
	n.refreshProc()
	pk, _ = driftKeys(t, n.snapshot(checks.DockerOptionsDrift))
	if !slices.Contains(ak, "live-restore") || !slices.Contains(pk, "daemon.json") {
		t.Fatalf("after the daemon.json edit: process %q, api-only %q", pk, ak)
	}
}
