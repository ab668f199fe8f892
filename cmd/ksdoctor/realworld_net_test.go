package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// netCase is a corpus case's net.json and expected.json, as far as the
// real-part test needs them (testdata/realworld/README.md).
type netCase struct {
	DockerSubnet string        `json:"dockerSubnet"`
	DockerdArgs  []string      `json:"dockerdArgs"`
	Restore      string        `json:"restore"`
	Network      diag.NetFacts `json:"network"`
	Checks       []string      // from expected.json
}

// TestRealWorldDumpsInNetns loads every iptables case of the real-world
// corpus into a real kernel: a network namespace with the case's links,
// addresses and routes, its ipsets (ipset restore) and its dump
// (iptables-legacy-restore or iptables-nft-restore). The real binary then
// sweeps that namespace with the case's net.* checks, and its verdicts
// must equal the replay of the same case (sweep --from a snapshot built
// with the gatherer's own parse code). net.iptables-backend-mismatch is
// left out: its facts are this machine's iptables binary, not the case's.
func TestRealWorldDumpsInNetns(t *testing.T) {
	testbed.Require(t, "ip", "nsenter", "ipset", "iptables-legacy-restore", "iptables-nft-restore",
		"iptables-legacy-save", "iptables-nft-save")
	dirs, err := filepath.Glob("../../testdata/realworld/*/iptables-save.txt")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no iptables cases in the corpus: %v", err)
	}
	for _, p := range dirs {
		dir := filepath.Dir(p)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := readNetCase(t, dir)
			checks := comparedChecks(c.Checks)
			if len(checks) == 0 {
				t.Log("not compared: the case runs no net.* check that a namespace can reproduce")
				return
			}
			save, _ := os.ReadFile(p)
			sets, _ := os.ReadFile(filepath.Join(dir, "ipset.txt"))
			if sets == nil && bytes.Contains(save, []byte("--match-set")) {
				// The replay judges "unknown" for a set nobody gathered; a
				// kernel cannot hold a rule naming a set that does not exist.
				t.Log("not compared: the case's rules name ipsets it deliberately does not carry")
				return
			}
			replay := replayCase(t, c, save, sets, checks)
			real := realCase(t, c, save, sets, append(slices.Clone(checks), "net.iptables-backend-mismatch"))
			if got, want := verdicts(real, checks), verdicts(replay, checks); !slices.Equal(got, want) {
				t.Errorf("real kernel and replay differ\nreal:   %v\nreplay: %v", got, want)
			}
			// The gatherer decides the backend from the real binary: the
			// namespace's rules are all in the case's backend.
			for _, r := range real.Checks {
				if r.ID == "net.iptables-backend-mismatch" && r.Status != diag.StatusPass {
					t.Errorf("backend check on the real binary: %s %s%s", r.Status, r.Error, r.Reason)
				}
			}
			t.Logf("verdicts: %v", verdicts(real, checks))
		})
	}
}

func readNetCase(t *testing.T, dir string) netCase {
	t.Helper()
	var c netCase
	data, err := os.ReadFile(filepath.Join(dir, "net.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("net.json: %v", err)
	}
	var exp struct {
		Checks []string `json:"checks"`
	}
	if data, err := os.ReadFile(filepath.Join(dir, "expected.json")); err == nil {
		_ = json.Unmarshal(data, &exp)
	}
	c.Checks = exp.Checks
	return c
}

// comparedChecks are the case's net.* checks a namespace reproduces.
func comparedChecks(checks []string) []string {
	var out []string
	for _, c := range checks {
		if strings.HasPrefix(c, "net.") && c != "net.iptables-backend-mismatch" {
			out = append(out, c)
		}
	}
	return out
}

// replayCase sweeps a snapshot built from the case's files.
func replayCase(t *testing.T, c netCase, save, sets []byte, checks []string) *diag.Report {
	t.Helper()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	n := c.Network
	if err := gather.ApplyNetDumps(&n, save, sets); err != nil {
		t.Fatalf("dump: %v", err)
	}
	snap := &diag.Snapshot{
		SchemaVersion: diag.SchemaVersion, Tool: diag.Tool{Name: "ksdoctor", Version: "realworld"},
		HostRoot: "/", StartedAt: now, FinishedAt: now, Host: &diag.HostFacts{Hostname: "realworld-node"},
		Network: &n,
		Sources: map[diag.Source]*diag.SourceStatus{
			diag.SourceHost:    {Source: diag.SourceHost, OK: true},
			diag.SourceNetwork: {Source: diag.SourceNetwork, OK: true},
		},
	}
	path := filepath.Join(t.TempDir(), "snapshot.json")
	data, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return sweepReport(t, nil, []string{bin, "sweep", "--from", path, "--format", "json", "--checks", strings.Join(checks, ",")})
}

// realCase recreates the case in a namespace and sweeps it with the binary.
func realCase(t *testing.T, c netCase, save, sets []byte, checks []string) *diag.Report {
	t.Helper()
	node := testbed.NewNetns(t)
	peers := testbed.NewNetns(t) // the far ends of the veths
	buildLinks(t, node, peers, c.Network)
	fwd := "0"
	if c.Network.IPForward.Present {
		fwd = c.Network.IPForward.Value
	}
	node.Run(t, "sh", "-c", "echo "+fwd+" > /proc/sys/net/ipv4/ip_forward")
	if sets != nil {
		restoreStdin(t, node, sets, "ipset", "restore")
	}
	backend := c.Restore
	if backend != "nft" {
		backend = "legacy"
	}
	restoreStdin(t, node, save, "iptables-"+backend+"-restore")
	// The iptables the sweep runs is the case's backend, as Debian's
	// alternatives would point it.
	alt := t.TempDir()
	for _, name := range []string{"iptables", "iptables-save", "iptables-restore"} {
		real, err := exec.LookPath(strings.Replace(name, "iptables", "iptables-"+backend, 1))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(real, filepath.Join(alt, name)); err != nil {
			t.Fatal(err)
		}
	}
	root := netHostRoot(t)
	env := []string{"PATH=" + alt + ":" + os.Getenv("PATH")}
	argv := []string{"nsenter", "--net=" + node.Path(), "--", bin, "sweep", "--format", "json", "--checks", strings.Join(checks, ","),
		"--host-root", root, "--docker-host", "unix://" + filepath.Join(root, "no-docker.sock"),
		"--dockerd-pidfile", filepath.Join(root, "no-docker.pid")}
	return sweepReport(t, env, argv)
}

// buildLinks recreates the case's links: bridges as bridges, every other
// kind as a veth whose peer lives in peers (this kernel has no dummy
// driver), with masters, addresses, state and routes.
func buildLinks(t *testing.T, node, peers *testbed.Netns, n diag.NetFacts) {
	t.Helper()
	for i, l := range n.Links {
		if l.Name == "lo" {
			continue
		}
		if _, err := node.TryRun("ip", "link", "show", l.Name); err == nil {
			continue // the kernel made it already (tunl0 when the ipip module is loaded)
		}
		if l.Type == "bridge" {
			node.Run(t, "ip", "link", "add", l.Name, "type", "bridge")
		} else {
			peer := fmt.Sprintf("p%d", i)
			node.Run(t, "ip", "link", "add", l.Name, "type", "veth", "peer", "name", peer, "netns", peers.Name)
			peers.Run(t, "ip", "link", "set", peer, "up")
		}
	}
	for _, l := range n.Links {
		if l.Name == "lo" {
			continue
		}
		if l.Master != "" {
			node.Run(t, "ip", "link", "set", l.Name, "master", l.Master)
		}
		for _, a := range l.Addrs {
			node.Run(t, "ip", "addr", "add", a, "dev", l.Name)
		}
		state := "down"
		if l.Up {
			state = "up"
		}
		node.Run(t, "ip", "link", "set", l.Name, state)
	}
	for _, r := range n.Routes {
		argv := []string{"ip", "route", "replace", r.Dst, "dev", r.Dev}
		if r.Gateway != "" {
			argv = append(argv, "via", r.Gateway, "onlink")
		} else if r.Scope == "link" {
			argv = append(argv, "scope", "link")
		}
		node.Run(t, argv...)
	}
}

// restoreStdin runs argv in ns with data on its standard input.
func restoreStdin(t *testing.T, ns *testbed.Netns, data []byte, argv ...string) {
	t.Helper()
	cmd := ns.Command(argv...)
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v in %s: %v\n%s", argv, ns.Name, err, out)
	}
}

// sweepReport runs a sweep and decodes its JSON report; a sweep that
// found problems (1, 2) or could not judge a check (5) still reports.
func sweepReport(t *testing.T, env, argv []string) *diag.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || !slices.Contains([]int{1, 2, 5}, ee.ExitCode())) {
		t.Fatalf("%v: %v\n%s", argv, err, se.String())
	}
	return decodeReport(t, so.Bytes())
}

// verdicts lists, for the compared checks, each check's status and each
// finding's ID and severity.
func verdicts(rep *diag.Report, checks []string) []string {
	var out []string
	for _, c := range rep.Checks {
		if slices.Contains(checks, c.ID) {
			out = append(out, c.ID+" "+string(c.Status))
		}
	}
	for _, f := range rep.Findings {
		if slices.Contains(checks, f.Check) {
			out = append(out, f.ID+" "+string(f.Severity))
		}
	}
	sort.Strings(out)
	return out
}
