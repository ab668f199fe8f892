package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/testbed"
)

// These tests build node-like namespaces by hand (a docker0 bridge, CNI
// interfaces, routes, iptables rules) without a dockerd, and run the real
// binary inside them. Docker itself is pointed at a socket that does not
// exist, so only the network facts count.

// bareNode makes a namespace with an uplink and an (empty) docker0 bridge.
func bareNode(t *testing.T) *testbed.Netns {
	t.Helper()
	ns := testbed.NewNetns(t)
	for _, argv := range [][]string{
		{"ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-p"},
		{"ip", "addr", "add", "10.98.0.2/24", "dev", "eth0"},
		{"ip", "link", "set", "eth0", "up"},
		{"ip", "route", "add", "default", "via", "10.98.0.1"},
		{"ip", "link", "add", "docker0", "type", "bridge"},
		{"ip", "addr", "add", "172.17.0.1/16", "dev", "docker0"},
		{"ip", "link", "set", "docker0", "up"},
	} {
		ns.Run(t, argv...)
	}
	return ns
}

func bareFlags(t *testing.T, root string) []string {
	return []string{"--host-root", root, "--docker-host", "unix://" + filepath.Join(t.TempDir(), "none.sock"), "--dockerd-pidfile", "/nonexistent/docker.pid"}
}

func readNS(t *testing.T, ns *testbed.Netns, path string) string {
	t.Helper()
	return strings.TrimSpace(ns.Run(t, "cat", path))
}

// TestIPForwardOffAndFix: ip_forward=0 in the namespace (the default of a
// new one); the fix sets it to 1 there, persists it under the host root's
// /etc/sysctl.d with a backup of the file it replaces, and a second fix
// has nothing to do. The test process's own namespace is untouched.
func TestIPForwardOffAndFix(t *testing.T) {
	testbed.Require(t, "iptables-save", "nsenter")
	hostBefore, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	ns := bareNode(t)
	root := netHostRoot(t)
	persist := filepath.Join(root, "etc/sysctl.d/99-zz-ksdoctor-ip-forward.conf")
	os.WriteFile(persist, []byte("net.ipv4.ip_forward = 0\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/sysctl.conf"), []byte("# site\nnet.ipv4.ip_forward=0\n"), 0o644)
	flags := bareFlags(t, root)
	if v := readNS(t, ns, "/proc/sys/net/ipv4/ip_forward"); v != "0" {
		t.Fatalf("new namespace has ip_forward=%s", v)
	}
	rep := sweepJSON(t, ns, append([]string{"--checks", "net.ip-forward-disabled"}, flags...)...)
	f := mustFinding(t, rep, "net.ip-forward-disabled")
	if f.Severity != "critical" {
		t.Errorf("severity %s", f.Severity)
	}
	rem, ok := f.Remediation("net.ip-forward-disabled/enable")
	if !ok {
		t.Fatal("no enable remediation")
	}
	if !strings.Contains(rem.Preview, "/etc/sysctl.conf line 2 sets it to 0") {
		t.Errorf("preview does not warn about /etc/sysctl.conf:\n%s", rem.Preview)
	}
	fix := ksdNS(t, ns, append([]string{"fix", "net.ip-forward-disabled/enable", "--yes"}, flags...)...)
	fix.wantCode(t, 0)
	if !strings.Contains(fix.stdout, "2 done") || !strings.Contains(fix.stdout, "verified") {
		t.Errorf("fix output:\n%s%s", fix.stdout, fix.stderr)
	}
	if v := readNS(t, ns, "/proc/sys/net/ipv4/ip_forward"); v != "1" {
		t.Errorf("ip_forward=%s after the fix", v)
	}
	if b, _ := os.ReadFile(persist); !strings.Contains(string(b), "net.ipv4.ip_forward = 1") {
		t.Errorf("persisted file:\n%s", b)
	}
	backups, _ := filepath.Glob(persist + ".ksdoctor-backup-*")
	if len(backups) != 1 {
		t.Fatalf("backups %v, want one", backups)
	}
	if b, _ := os.ReadFile(backups[0]); string(b) != "net.ipv4.ip_forward = 0\n" {
		t.Errorf("backup holds %q", b)
	}
	again := ksdNS(t, ns, append([]string{"fix", "net.ip-forward-disabled/enable", "--yes"}, flags...)...)
	again.wantCode(t, 0)
	if !strings.Contains(again.stdout, "nothing to do") {
		t.Errorf("second fix:\n%s", again.stdout)
	}
	if hostAfter, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(hostAfter) != string(hostBefore) {
		t.Errorf("the test's own namespace changed: ip_forward %q → %q", hostBefore, hostAfter)
	}
}

// TestForwardPolicyDrop: FORWARD policy DROP and nothing accepting docker0;
// the fix inserts the two ACCEPT rules once.
func TestForwardPolicyDrop(t *testing.T) {
	testbed.Require(t, "iptables", "iptables-save", "nsenter")
	ns := bareNode(t)
	ns.Run(t, "iptables", "-P", "FORWARD", "DROP")
	root := netHostRoot(t)
	flags := append([]string{"--checks", "net.forward-policy-drop"}, bareFlags(t, root)...)
	rep := sweepJSON(t, ns, flags...)
	f := mustFinding(t, rep, "net.forward-policy-drop")
	if f.Severity != "warning" || !strings.Contains(f.Title, "containers on docker0") {
		t.Errorf("finding %s: %s", f.Severity, f.Title)
	}
	if _, ok := f.Remediation("net.forward-policy-drop/accept-docker0"); !ok {
		t.Fatal("no accept-docker0 remediation")
	}
	fixArgs := append([]string{"fix", "net.forward-policy-drop/accept-docker0", "--yes"}, bareFlags(t, root)...)
	fix := ksdNS(t, ns, fixArgs...)
	fix.wantCode(t, 0)
	if !strings.Contains(fix.stdout, "verified") {
		t.Errorf("fix output:\n%s%s", fix.stdout, fix.stderr)
	}
	ksdNS(t, ns, fixArgs...).wantCode(t, 0)
	rule := "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT"
	if n := countRules(t, ns, "filter", rule); n != 1 {
		t.Errorf("%d copies of %q, want 1", n, rule)
	}
	if !strings.Contains(ns.Run(t, "iptables-save", "-t", "filter"), ":FORWARD DROP") {
		t.Errorf("the policy itself was changed")
	}
}

// TestDocker0OverlapRoute: a route through another interface inside
// docker0's subnet, and a service address on kube-ipvs0 inside it.
func TestDocker0OverlapRoute(t *testing.T) {
	testbed.Require(t, "iptables-save", "nsenter")
	ns := bareNode(t)
	for _, argv := range [][]string{
		{"ip", "link", "add", "vpn0", "type", "veth", "peer", "name", "vpn0-p"},
		{"ip", "link", "set", "vpn0", "up"},
		{"ip", "route", "add", "172.17.32.0/20", "dev", "vpn0"},
		{"ip", "link", "add", "kube-ipvs0", "type", "veth", "peer", "name", "kube-ipvs0-p"},
		{"ip", "addr", "add", "172.17.200.9/32", "dev", "kube-ipvs0"},
	} {
		ns.Run(t, argv...)
	}
	root := netHostRoot(t)
	rep := sweepJSON(t, ns, append([]string{"--checks", "net.docker0-cidr-overlap"}, bareFlags(t, root)...)...)
	f := mustFinding(t, rep, "net.docker0-cidr-overlap")
	var rows []string
	for _, e := range f.Evidence {
		if e.Table != nil {
			for _, r := range e.Table.Rows {
				rows = append(rows, strings.Join(r, " | "))
			}
		}
	}
	joined := strings.Join(rows, "\n")
	for _, want := range []string{"route | 172.17.32.0/20 dev vpn0", "service address | kube-ipvs0 | 172.17.200.9/32"} {
		if !strings.Contains(joined, want) {
			t.Errorf("overlaps lack %q:\n%s", want, joined)
		}
	}
}

// TestCalicoLikeNode: calico-style interfaces (tunl0, cali* veths with /32
// pod routes), kube-ipvs0 with service addresses, calico's NAT for the pod
// pool and no Docker NAT: the routing observation says pods work and
// hand-started containers do not; nothing of calico overlaps docker0.
func TestCalicoLikeNode(t *testing.T) {
	testbed.Require(t, "iptables-restore", "iptables-save", "nsenter")
	ns := bareNode(t)
	steps := [][]string{
		{"sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"},
		// ipip and dummy are not always available: veths named tunl0 and
		// kube-ipvs0 stand in.
		{"ip", "link", "add", "tunl0", "type", "veth", "peer", "name", "tunl0-p"},
		{"ip", "addr", "add", "10.233.97.128/32", "dev", "tunl0"},
		{"ip", "link", "set", "tunl0", "up"},
		{"ip", "link", "add", "kube-ipvs0", "type", "veth", "peer", "name", "kube-ipvs0-p"},
		{"ip", "addr", "add", "10.233.0.1/32", "dev", "kube-ipvs0"},
		{"ip", "addr", "add", "10.233.0.3/32", "dev", "kube-ipvs0"},
		{"ip", "route", "add", "10.233.96.0/24", "via", "10.98.0.3", "dev", "eth0"},
	}
	for i, pod := range []string{"10.233.97.175", "10.233.97.176", "10.233.97.177"} {
		cali := "cali0ab12cd" + string(rune('0'+i))
		steps = append(steps,
			[]string{"ip", "link", "add", cali, "type", "veth", "peer", "name", "pod" + string(rune('0'+i))},
			[]string{"ip", "link", "set", cali, "up"},
			[]string{"ip", "route", "add", pod + "/32", "dev", cali, "scope", "link"})
	}
	for _, argv := range steps {
		ns.Run(t, argv...)
	}
	rules := "*nat\n:POSTROUTING ACCEPT [0:0]\n:cali-POSTROUTING - [0:0]\n:cali-nat-outgoing - [0:0]\n" +
		"-A POSTROUTING -m comment --comment \"cali:O3lYWMrLQYEMJtB5\" -j cali-POSTROUTING\n" +
		"-A cali-POSTROUTING -j cali-nat-outgoing\n" +
		"-A cali-nat-outgoing -s 10.233.64.0/18 ! -d 10.233.64.0/18 -j MASQUERADE\nCOMMIT\n"
	cmd := ns.Command("iptables-restore", "--noflush")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("iptables-restore: %v\n%s", err, out)
	}
	root := netHostRoot(t)
	rep := sweepJSON(t, ns, append([]string{"--checks", "net.docker0-vs-pod-routing,net.docker0-masquerade-missing,net.docker0-cidr-overlap,net.ip-forward-disabled"}, bareFlags(t, root)...)...)
	f := mustFinding(t, rep, "net.docker0-vs-pod-routing")
	if f.Severity != "info" || !strings.Contains(f.Summary, "Pods work but hand-started containers are broken") {
		t.Errorf("routing %s: %s", f.Severity, f.Summary)
	}
	var table string
	for _, e := range f.Evidence {
		if e.Table != nil {
			for _, r := range e.Table.Rows {
				table += strings.Join(r, " | ") + "\n"
			}
		}
	}
	for _, want := range []string{"pod (calico)", "cali* (3)", "tunl0", "3 pod /32 routes", "cali-nat-outgoing", "kube-ipvs0 (2 service addresses)", "MASQUERADE for 172.17.0.0/16: missing"} {
		if !strings.Contains(table, want) {
			t.Errorf("paths table lacks %q:\n%s", want, table)
		}
	}
	if m := mustFinding(t, rep, "net.docker0-masquerade-missing"); m.Severity != "critical" {
		t.Errorf("masquerade-missing is %s with docker0 up", m.Severity)
	}
	for _, id := range []string{"net.docker0-cidr-overlap", "net.ip-forward-disabled"} {
		if _, ok := rep.Finding(id); ok {
			t.Errorf("unexpected finding %s", id)
		}
	}
}

// TestIPTablesBackendMismatch: one rule through iptables-legacy, one
// through iptables-nft, in the same namespace.
func TestIPTablesBackendMismatch(t *testing.T) {
	testbed.Require(t, "iptables-legacy", "iptables-nft", "iptables-legacy-save", "iptables-nft-save", "nsenter")
	ns := bareNode(t)
	ns.Run(t, "iptables-legacy", "-t", "nat", "-A", "POSTROUTING", "-s", "10.1.0.0/16", "-j", "MASQUERADE")
	ns.Run(t, "iptables-nft", "-t", "filter", "-A", "FORWARD", "-s", "10.2.0.0/16", "-j", "ACCEPT")
	root := netHostRoot(t)
	rep := sweepJSON(t, ns, append([]string{"--checks", "net.iptables-backend-mismatch"}, bareFlags(t, root)...)...)
	f := mustFinding(t, rep, "net.iptables-backend-mismatch")
	var rows []string
	for _, r := range f.Evidence[0].Table.Rows {
		rows = append(rows, strings.Join(r, " "))
	}
	got := strings.Join(rows, "; ")
	if !strings.Contains(got, "legacy 1") || !strings.Contains(got, "nft 1") {
		t.Errorf("backends table %q, want one rule in each", got)
	}
}
