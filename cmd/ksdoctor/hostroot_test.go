package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/load"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// secretMark is in every file outside the host root: it must never reach an output.
const secretMark = "ksdt-secret-7f3a"

// outsideFiles are what a hostile or mislinked node points at: files outside the host
// root, each worth reading if a link were followed out (a marked label, hostname, sysctl
// value, journal record) or worth destroying (ip_forward, whose truncation was the bug).
var outsideFiles = map[string]string{
	"shadow":                  "root:$6$" + secretMark + ":19000:0:99999:7:::\nPRETTY_NAME=\"" + secretMark + "\"\n",
	"daemon.json":             `{"labels": ["` + secretMark + `"], "data-root": "/` + secretMark + `"}` + "\n",
	"run-dropins/30-run.conf": "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --label=" + secretMark + "\n",
	"dropin.conf":             "[Service]\nEnvironment=\"DOCKER_OPTS=--label=" + secretMark + "\"\n",
	"ip_forward":              "0\n",
	"sysctl.conf":             "net.ipv4.ip_forward = " + secretMark + "\n",
	"sysctl.d/50-x.conf":      "net.ipv4.ip_forward = " + secretMark + "\n",
	"lib-sysctl.d/60-y.conf":  "net.ipv4.ip_forward = " + secretMark + "\n",
	"ksdoctor/journal.jsonl": `{"time":"2026-01-01T00:00:00Z","remediationId":"` + secretMark + `/x","title":"` + secretMark +
		`","outcome":"verified","durationMs":1,"steps":[]}` + "\n",
	"docker-data/containers/" + secretMark + "/" + secretMark + "-json.log": secretMark + "\n",
}

// escape is a relative link target from node directory dir that climbs out of any root
// (the kernel and ksdoctor stop ".." at the root) to the absolute path p.
func escape(dir, p string) string {
	return strings.Repeat("../", strings.Count(dir, "/")+12) + strings.TrimPrefix(p, "/")
}

// linkRoot makes a host root whose host paths link outside it, absolute and relative,
// and returns it with the node paths of its links. withProc links /proc entries out too
// (else the real /proc is bind-mounted, so a fix can run).
func linkRoot(t *testing.T, outside, pidfile string, dockerdPID int, withProc bool) (string, []string) {
	t.Helper()
	root := t.TempDir()
	out := func(name string) string { return filepath.Join(outside, name) }
	links := map[string]string{
		"/etc/sysctl.d":           out("sysctl.d"),
		"/var/lib/ksdoctor":       escape("/var/lib", out("ksdoctor")),
		"/etc/docker/daemon.json": out("daemon.json"),
		"/etc/systemd/system/docker.service.d/20-out.conf": escape("/etc/systemd/system/docker.service.d", out("dropin.conf")),
		"/run/systemd/system/docker.service.d":             out("run-dropins"),
		"/etc/hostname":                                    out("shadow"),
		"/etc/os-release":                                  escape("/etc", out("shadow")),
		"/etc/sysctl.conf":                                 out("sysctl.conf"),
		"/usr/lib/sysctl.d":                                escape("/usr/lib", out("lib-sysctl.d")),
		"/var/lib/docker":                                  out("docker-data"),
		"/var/run/docker.pid":                              pidfile,
	}
	if withProc {
		links["/proc/sys/net/ipv4/ip_forward"] = out("ip_forward")
		links["/proc/stat"] = "/proc/stat"
		links[fmt.Sprintf("/proc/%d", dockerdPID)] = fmt.Sprintf("/proc/%d", dockerdPID)
	} else {
		testbed.Bind(t, "/proc", filepath.Join(root, "proc"))
	}
	var names []string
	for l, target := range links {
		p := filepath.Join(root, l)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		names = append(names, l)
	}
	// Absolute links resolve inside the root, as in a pod with the node at /host: the unit
	// and a drop-in linked to /srv/in/… are read at <root>/srv/in/….
	for name, content := range map[string]string{
		"docker.service":              "[Service]\nType=notify\nExecStart=/usr/bin/dockerd -H fd:// $DOCKER_OPTS\n",
		"docker.service.d/10-in.conf": "[Service]\nEnvironment=\"KSDT_INSIDE=inside-7f3a\"\n",
	} {
		in := filepath.Join(root, "srv/in", name)
		must(t, os.MkdirAll(filepath.Dir(in), 0o755))
		must(t, os.WriteFile(in, []byte(content), 0o644))
		must(t, os.Symlink(filepath.Join("/srv/in", name), filepath.Join(root, "etc/systemd/system", name)))
	}
	return root, names
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// treeHashes describes every entry under dir: mode, and content hash or link target.
func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(s[:])
		}
		out[p] = desc
		return nil
	})
	must(t, err)
	return out
}

// TestHostRootLinksNeverLeave runs the real binary in a network namespace with a real
// dockerd against host roots whose paths link outside them (absolute and relative links:
// sysctl.d, the journal's directory, ip_forward, daemon.json, a drop-in, the unit,
// hostname, os-release, sysctl.conf, the data-root, the pidfile, /proc entries): sweep,
// snapshot, the ip_forward fix and the journal read nothing from outside into any output
// and change nothing outside.
func TestHostRootLinksNeverLeave(t *testing.T) {
	testbed.Require(t, "dockerd", "iptables-save", "nsenter")
	node := testbed.NewNetns(t)
	// --ip-forward=false keeps the namespace's ip_forward at 0, so the fix has work to do.
	d := testbed.StartDockerd(t, testbed.DockerdOptions{Netns: node, ExtraArgs: []string{"--ip-forward=false"}})
	outside := t.TempDir()
	for name, content := range outsideFiles {
		p := filepath.Join(outside, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o600))
	}
	before := treeHashes(t, outside)
	pidBefore, _ := os.ReadFile(d.PIDFile)

	var outputs []string
	run := func(root string, args ...string) result {
		t.Helper()
		args = append(args, "--host-root", root, "--docker-host", d.Host, "--dockerd-pidfile", "/var/run/docker.pid")
		r := ksdNS(t, node, args...)
		outputs = append(outputs, strings.Join(args, " ")+"\n"+r.stdout+r.stderr)
		t.Logf("ksdoctor %s: exit %d\n%s%s", args[0], r.code, r.stdout, r.stderr)
		return r
	}
	snapshotOf := func(root string) *diag.Snapshot {
		t.Helper()
		p := filepath.Join(t.TempDir(), "snap.json")
		run(root, "snapshot", "--output", p)
		b, err := os.ReadFile(p)
		must(t, err)
		outputs = append(outputs, string(b))
		s, err := load.Snapshot(p)
		must(t, err)
		return s
	}

	// Every host path, /proc included, links out.
	rootA, links := linkRoot(t, outside, d.PIDFile, d.PID, true)
	if len(links) < 10 {
		t.Fatalf("only %d links", len(links))
	}
	for _, format := range []string{"json", "text"} {
		run(rootA, "sweep", "--format", format)
	}
	s := snapshotOf(rootA)
	if s.Dockerd != nil {
		t.Errorf("dockerd found through links out of the root: %+v", s.Dockerd)
	}
	if s.Network != nil && s.Network.IPForward.Present {
		t.Errorf("ip_forward read through a link out: %+v", s.Network.IPForward)
	}
	if b, _ := json.Marshal(s.DockerConf); !strings.Contains(string(b), "inside-7f3a") {
		t.Errorf("the drop-in linked absolutely inside the root was not read at <root>/srv/in")
	}
	run(rootA, "fix", "net.ip-forward-disabled/enable", "--yes")
	run(rootA, "journal")

	// The real /proc (the namespace's ip_forward is 0): the fix runs, and its writes
	// through the links land inside the root. The absolute sysctl.d link names a
	// directory that exists inside the root; the relative journal link climbs to the
	// root and stops there, at <root>/outside-name/ksdoctor.
	rootB, _ := linkRoot(t, outside, d.PIDFile, d.PID, false)
	inSysctl := filepath.Join(rootB, outside, "sysctl.d")
	must(t, os.MkdirAll(inSysctl, 0o755))
	must(t, os.MkdirAll(filepath.Join(rootB, outside, "ksdoctor"), 0o700))
	run(rootB, "sweep", "--format", "json")
	snapshotOf(rootB)
	fix := run(rootB, "fix", "net.ip-forward-disabled/enable", "--yes")
	if fix.code != 0 || !strings.Contains(fix.stdout, "verified") {
		t.Errorf("the fix inside the root: exit %d\n%s%s", fix.code, fix.stdout, fix.stderr)
	}
	if _, err := os.Stat(filepath.Join(inSysctl, "99-zz-ksdoctor-ip-forward.conf")); err != nil {
		t.Errorf("the sysctl file is not at the link's target inside the root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(rootB, outside, "ksdoctor", "journal.jsonl")); err != nil {
		t.Errorf("the journal is not at the link's target inside the root: %v", err)
	}
	if j := run(rootB, "journal"); !strings.Contains(j.stdout, "net.ip-forward-disabled/enable") {
		t.Errorf("journal does not list the fix:\n%s", j.stdout)
	}

	for _, o := range outputs {
		if strings.Contains(o, secretMark) {
			t.Errorf("content from outside the host root reached an output:\n%s", o)
		}
	}
	after := treeHashes(t, outside)
	for p, want := range before {
		if got := after[p]; got != want {
			t.Errorf("outside the root, %s changed: %q → %q", p, want, got)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("outside the root, %s was created", p)
		}
	}
	if b, _ := os.ReadFile(d.PIDFile); string(b) != string(pidBefore) {
		t.Errorf("the dockerd pidfile outside the root changed: %q → %q", pidBefore, b)
	}
}
