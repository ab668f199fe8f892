package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
	"github.com/ksdoctor/ksdoctor/testbed"
	"github.com/ksdoctor/ksdoctor/testbed/kube"
)

var updateReliability = flag.Bool("update-reliability", false, "rewrite docs/reliability.md from TestFaultMatrix")

// Fault-matrix timing: each source gets faultSource, the sweep faultSweep;
// the run must end within faultSweep plus faultSlack (start-up, a busy CI).
const (
	faultSource = 2 * time.Second
	faultSweep  = 8 * time.Second
	faultSlack  = 6 * time.Second
)

// faultRun is how one row runs the real binary.
type faultRun struct {
	prefix   []string // argv before the binary (nsenter, unshare, setpriv)
	args     []string
	env      []string // replaces these variables of the test's environment
	hostRoot string
	output   string // --output file, or "" for stdout
}

// faultRow is one fault, the exit code it must give, and what else to check.
type faultRow struct {
	fault string
	want  int
	setup func(t *testing.T) faultRun
	check func(t *testing.T, rep *diag.Report, r result)
}

// faultNode is the real dockerd (in its own network namespace) most rows use.
type faultNode struct {
	*node
	config string
}

// TestFaultMatrix runs the real binary against real parts with one fault
// each: for every row the sweep ends within its deadline, the report is
// valid against the schema, the exit code is exactly right, and the host
// root is unchanged (a sweep only reads). docs/reliability.md holds the
// table of results: the test compares it (-update-reliability rewrites it).
func TestFaultMatrix(t *testing.T) {
	testbed.Require(t, "dockerd", "iptables-save", "unshare", "setpriv")
	n := &faultNode{node: newNode(t, testbed.DockerdOptions{}), config: faultConfig(t)}
	rows := nodeFaultRows(n)
	cluster := clusterFaultRows(t, n)
	rows = append(rows, cluster...)
	rows = append(rows, dockerdDownRow(n)) // stops dockerd: last
	var table []string
	complete := len(cluster) > 0 // the table is compared only when every row ran
	for _, row := range rows {
		ok := t.Run(row.fault, func(t *testing.T) {
			table = append(table, runFaultRow(t, n, row))
		})
		complete = complete && ok
	}
	checkReliabilityDoc(t, table, complete)
}

func faultConfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "faults.yaml")
	cfg := fmt.Sprintf("timeouts:\n  source: %s\n  sweep: %s\n", faultSource, faultSweep)
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// hostRoot makes a node filesystem with the files the rows read.
func hostRoot(t *testing.T) string {
	root := t.TempDir()
	mkdir(t, filepath.Join(root, "etc/docker"))
	writeFile(t, filepath.Join(root, "etc/docker/daemon.json"), "{\n  \"log-opts\": {\"max-size\": \"10m\"}\n}\n", 0o644)
	return root
}

func mkdir(t *testing.T, p string) {
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// toolDir is a directory for PATH holding one fake tool (a shell script):
// used only where the tool itself is the fault.
func toolDir(t *testing.T, name, script string) string {
	dir := t.TempDir()
	if script != "" {
		writeFile(t, filepath.Join(dir, name), "#!/bin/sh\n"+script+"\n", 0o755)
	}
	return dir
}

const (
	netChecks    = "net.forward-policy-drop,net.iptables-backend-mismatch,net.docker0-masquerade-missing"
	dockerChecks = "docker.daemon-unreachable,docker.exited-containers"
	confChecks   = "docker.config-conflict,docker.log-rotation-missing"
)

func nodeFaultRows(n *faultNode) []faultRow {
	inNS := func(t *testing.T, args ...string) faultRun {
		return faultRun{prefix: []string{"nsenter", "--net=" + n.d.Netns.Path(), "--"}, args: args, hostRoot: hostRoot(t)}
	}
	dockerRow := func(fault string, host func(t *testing.T) string) faultRow {
		return faultRow{fault: fault, want: exitCritical,
			setup: func(t *testing.T) faultRun {
				return inNS(t, "--checks", dockerChecks, "--docker-host", host(t))
			},
			check: wantStatus(map[string]diag.Status{"docker.daemon-unreachable": diag.StatusFail, "docker.exited-containers": diag.StatusError}),
		}
	}
	pathRow := func(fault, script string) faultRow {
		return faultRow{fault: fault, want: exitErrored,
			setup: func(t *testing.T) faultRun {
				r := inNS(t, "--checks", netChecks, "--docker-host", n.d.Host)
				r.env = []string{"PATH=" + toolDir(t, "iptables-save", script)}
				return r
			},
			check: wantAll(diag.StatusError),
		}
	}
	confRow := func(fault string, prep func(t *testing.T, root string), as []string, why string) faultRow {
		return faultRow{fault: fault, want: exitErrored,
			setup: func(t *testing.T) faultRun {
				root := hostRoot(t)
				prep(t, root)
				return faultRun{prefix: as, args: []string{"--checks", confChecks, "--docker-host", n.d.Host}, hostRoot: root}
			},
			check: func(t *testing.T, rep *diag.Report, _ result) {
				wantAll(diag.StatusError)(t, rep, result{})
				for _, c := range rep.Checks {
					if !strings.Contains(c.Error, why) {
						t.Errorf("%s: error %q lacks %q", c.ID, c.Error, why)
					}
				}
			},
		}
	}
	return []faultRow{
		dockerRow("dockerd hung (socket accepts, never answers)", hungDockerSocket),
		dockerRow("dockerd slow (answers after the source deadline)", func(t *testing.T) string {
			return dockerProxy(t, n.d.Socket, delayAll(2*faultSource))
		}),
		dockerRow("docker socket is a regular file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "docker.sock")
			writeFile(t, p, "", 0o600)
			return "unix://" + p
		}),
		pathRow("iptables-save missing", ""),
		pathRow("iptables-save fails (exit 4)", "echo 'iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)' >&2; exit 4"),
		hangRow(pathRow("iptables-save hangs", "/bin/sleep "+hangMarker)),
		{fault: "netlink/iptables EPERM (unprivileged user namespace)", want: exitErrored,
			setup: func(t *testing.T) faultRun {
				r := inNS(t, "--checks", netChecks, "--docker-host", n.d.Host)
				r.prefix = append(r.prefix, "unshare", "-U", "-r", "--")
				return r
			},
			check: wantAll(diag.StatusError)},
		confRow("host-root files unreadable (daemon.json mode 000, not root)", func(t *testing.T, root string) {
			os.Chmod(filepath.Join(root, "etc/docker/daemon.json"), 0)
			openUp(t, root)
			openUp(t, filepath.Dir(bin))
			openUp(t, filepath.Dir(n.config))
		}, []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"}, "permission denied"),
		confRow("daemon.json is a FIFO", func(t *testing.T, root string) {
			p := filepath.Join(root, "etc/docker/daemon.json")
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, nil, "not a regular file"),
		diskFullRow(),
		linkedOutRow(n),
	}
}

// outsideMarker is planted in a file outside the host root: it must reach
// no output.
const outsideMarker = "outside-the-host-root-5c1e"

// linkedOutRow: the node's daemon.json is an absolute link to a file outside
// the host root (as /etc/shadow could be). The link resolves inside the host
// root, where nothing is: the outside file is never read, and the checks judge
// the node without a daemon.json.
func linkedOutRow(n *faultNode) faultRow {
	return faultRow{fault: "daemon.json linked out of the host root", want: exitWarning,
		setup: func(t *testing.T) faultRun {
			root := hostRoot(t)
			outside := filepath.Join(t.TempDir(), "secret.json")
			writeFile(t, outside, "{\n  \"labels\": [\""+outsideMarker+"\"],\n  \"log-opts\": {\"max-size\": \"10m\"}\n}\n", 0o600)
			p := filepath.Join(root, "etc/docker/daemon.json")
			os.Remove(p)
			if err := os.Symlink(outside, p); err != nil {
				t.Fatal(err)
			}
			return faultRun{args: []string{"--checks", confChecks, "--docker-host", n.d.Host}, hostRoot: root}
		},
		check: func(t *testing.T, rep *diag.Report, r result) {
			if strings.Contains(r.stdout+r.stderr, outsideMarker) {
				t.Errorf("content from outside the host root reached the output")
			}
			if _, ok := rep.Finding("docker.log-rotation-missing"); !ok {
				t.Errorf("the outside file's log-opts were used: no log-rotation finding in %v", findingIDs(rep))
			}
		},
	}
}

// hangMarker is the argument of the hanging tool's sleep, with this test
// process's PID in it: no other process has it (not even this test run by
// another go test at the same time), so the test can tell the sleep was
// killed with its group.
var hangMarker = fmt.Sprintf("599.%d", os.Getpid())

// hangRow adds to a hanging-tool row: the tool was killed with its process
// group before the source's deadline (nothing of it is left running), and
// the checks that read its output say so.
func hangRow(row faultRow) faultRow {
	check := row.check
	row.check = func(t *testing.T, rep *diag.Report, r result) {
		check(t, rep, r)
		for _, c := range rep.Checks {
			if !strings.Contains(c.Error, "killed") {
				t.Errorf("%s: %q does not say the tool was stopped", c.ID, c.Error)
			}
		}
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), hangMarker) {
				t.Errorf("the hanging tool is still running: %s %q", p, b)
			}
		}
	}
	return row
}

// openUp lets an unprivileged user reach root: every directory from root up
// to (not including) the temporary directory gets g+rx and o+rx.
func openUp(t *testing.T, root string) {
	stop := filepath.Clean(os.TempDir())
	for d := root; d != "/" && d != "." && d != stop; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o055); err != nil {
			t.Fatal(err)
		}
	}
}

// diskFullRow: the report's filesystem is full. The write fails with exit
// 3 and a clear error; the report already at the path stays whole.
func diskFullRow() faultRow {
	var old []byte
	var path string
	return faultRow{fault: "disk full under the report", want: exitCannot,
		setup: func(t *testing.T) faultRun {
			dir := testbed.Tmpfs(t, "1m")
			path = filepath.Join(dir, "report.json")
			prev := ksd(t, "sweep", "--format", "json", "--from", filepath.Join("..", "..", "fixtures", "healthy", "snapshot.json"), "--output", path)
			prev.wantCode(t, exitOK)
			var err error
			if old, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
			fill, err := os.Create(filepath.Join(dir, "fill"))
			if err != nil {
				t.Fatal(err)
			}
			for err == nil {
				_, err = fill.Write(make([]byte, 64<<10))
			}
			fill.Close()
			return faultRun{args: []string{"--from", filepath.Join("..", "..", "fixtures", "disk-full", "snapshot.json")}, hostRoot: hostRoot(t), output: path}
		},
		check: func(t *testing.T, _ *diag.Report, r result) {
			if !strings.Contains(r.stderr, "no space left on device") {
				t.Errorf("stderr does not say why: %q", r.stderr)
			}
			now, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(now, old) {
				t.Errorf("the previous report was changed: %v", err)
			}
			if err := schemacheck.ValidateJSON(now); err != nil {
				t.Errorf("the report at the path is not valid: %v", err)
			}
		},
	}
}

func dockerdDownRow(n *faultNode) faultRow {
	return faultRow{fault: "dockerd down", want: exitCritical,
		setup: func(t *testing.T) faultRun {
			n.d.Stop(t)
			return faultRun{prefix: []string{"nsenter", "--net=" + n.d.Netns.Path(), "--"},
				args: []string{"--checks", dockerChecks, "--docker-host", n.d.Host}, hostRoot: hostRoot(t)}
		},
		check: wantStatus(map[string]diag.Status{"docker.daemon-unreachable": diag.StatusFail, "docker.exited-containers": diag.StatusError}),
	}
}

const kubeChecks = "k8s.evicted-pods,k8s.node-conditions"

// clusterFaultRows put faults in front of a real kube-apiserver. Without the
// kube testbed (not under CI) they are left out and the table is not compared.
func clusterFaultRows(t *testing.T, n *faultNode) []faultRow {
	if kube.Available() != nil && os.Getenv("CI") != "true" {
		t.Logf("kube testbed unavailable: cluster rows left out")
		return nil
	}
	c := kube.Start(t)
	row := func(fault string, want int, server func(t *testing.T) string, statuses map[string]diag.Status) faultRow {
		return faultRow{fault: fault, want: want,
			setup: func(t *testing.T) faultRun {
				kc := writeKubeconfig(t, server(t), c.Tokens[kube.Admin])
				return faultRun{args: []string{"--checks", kubeChecks, "--kubeconfig", kc, "--docker-host", n.d.Host}, hostRoot: hostRoot(t)}
			},
			check: wantStatus(statuses),
		}
	}
	allErr := map[string]diag.Status{"k8s.evicted-pods": diag.StatusError, "k8s.node-conditions": diag.StatusError}
	proxy := func(f fault) func(t *testing.T) string {
		return func(t *testing.T) string { return apiProxy(t, c, f) }
	}
	return []faultRow{
		row("apiserver down (closed port)", exitErrored, func(t *testing.T) string { return "http://127.0.0.1:1" }, allErr),
		row("apiserver hung (accepts, never answers)", exitErrored, func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			hungListener(t, l)
			return "http://" + l.Addr().String()
		}, allErr),
		row("apiserver answers 403 everywhere", exitErrored, proxy(statusIf(http.StatusForbidden, func(*http.Request) bool { return true })), allErr),
		row("apiserver answers 500 on the pod list", exitErrored, proxy(statusIf(http.StatusInternalServerError, func(r *http.Request) bool {
			return r.URL.Path == "/api/v1/pods"
		})), map[string]diag.Status{"k8s.evicted-pods": diag.StatusError, "k8s.node-conditions": diag.StatusPass}),
	}
}

// apiProxy serves plain HTTP on loopback in front of the real apiserver
// (TLS to it, trusting its CA, as the admin identity) with fault f.
func apiProxy(t *testing.T, c *kube.Cluster, f fault) string {
	t.Helper()
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	target, err := url.Parse(c.Server)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	// client-go sends no bearer token to a plain-HTTP server: the proxy
	// authenticates as the admin identity itself.
	token := c.Tokens[kube.Admin]
	startFaultProxy(t, l, target, roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+token)
		return tr.RoundTrip(r)
	}), f)
	return "http://" + l.Addr().String()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func writeKubeconfig(t *testing.T, server, token string) string {
	p := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: %q}\n"+
		"users:\n- name: u\n  user: {token: %q}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n", server, token)
	writeFile(t, p, cfg, 0o600)
	return p
}

func wantStatus(want map[string]diag.Status) func(*testing.T, *diag.Report, result) {
	return func(t *testing.T, rep *diag.Report, _ result) {
		for id, st := range want {
			if got := checkStatus(t, rep, id); got.Status != st {
				t.Errorf("%s: %s (%s%s), want %s", id, got.Status, got.Error, got.Reason, st)
			}
		}
	}
}

func wantAll(st diag.Status) func(*testing.T, *diag.Report, result) {
	return func(t *testing.T, rep *diag.Report, _ result) {
		for _, c := range rep.Checks {
			if c.Status != st {
				t.Errorf("%s: %s (%s%s), want %s", c.ID, c.Status, c.Error, c.Reason, st)
			}
		}
	}
}

// runFaultRow runs one row and returns its line of the reliability table.
func runFaultRow(t *testing.T, n *faultNode, row faultRow) string {
	fr := row.setup(t)
	before := treeState(t, fr.hostRoot)
	argv := append(slices.Clone(fr.prefix), bin, "sweep", "--format", "json", "--config", n.config, "--host-root", fr.hostRoot)
	if fr.output != "" {
		argv = append(argv, "--output", fr.output)
	}
	argv = append(argv, fr.args...)
	start := time.Now()
	r := runEnv(t, argv, fr.env, faultSweep+faultSlack+30*time.Second)
	took := time.Since(start)
	if took > faultSweep+faultSlack {
		t.Errorf("sweep took %s, past its %s deadline", took.Round(time.Millisecond), faultSweep)
	}
	r.wantCode(t, row.want)
	var rep *diag.Report
	if fr.output == "" {
		rep = decodeReport(t, []byte(r.stdout))
	}
	if row.check != nil {
		row.check(t, rep, r)
	}
	if after := treeState(t, fr.hostRoot); after != before {
		t.Errorf("the host root changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	return fmt.Sprintf("| %s | %s | %d %s |", row.fault, outcome(rep, r), row.want, exitWord(row.want))
}

// outcome says what the report said, deterministically: each check's status.
func outcome(rep *diag.Report, r result) string {
	if rep == nil {
		msg, _, _ := strings.Cut(strings.TrimPrefix(r.stderr, "ksdoctor: error: "), "\n")
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return "error: " + msg + "; the previous report is kept"
	}
	var parts []string
	for _, c := range rep.Checks {
		parts = append(parts, fmt.Sprintf("`%s` %s", c.ID, c.Status))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func exitWord(code int) string {
	return map[int]string{exitOK: "(healthy)", exitWarning: "(warning)", exitCritical: "(critical)",
		exitCannot: "(could not run)", exitFixFail: "(fix failed)", exitErrored: "(a check could not judge)"}[code]
}

// treeState lists every entry under dir with its type, mode, size and
// modification time.
func treeState(t *testing.T, dir string) string {
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %s %d %d\n", strings.TrimPrefix(p, dir), fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const reliabilityDoc = "../../docs/reliability.md"

// checkReliabilityDoc compares the table in docs/reliability.md with the
// rows just run, or rewrites it with -update-reliability.
func checkReliabilityDoc(t *testing.T, rows []string, complete bool) {
	data, err := os.ReadFile(reliabilityDoc)
	if err != nil && !*updateReliability {
		t.Fatalf("read %s (go test ./cmd/ksdoctor -run TestFaultMatrix -update-reliability writes it): %v", reliabilityDoc, err)
	}
	const begin, end = "<!-- fault table: begin (TestFaultMatrix) -->\n", "<!-- fault table: end -->\n"
	table := begin + "| fault | what the report says | exit code |\n|---|---|---|\n" + strings.Join(rows, "\n") + "\n" + end
	doc := string(data)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if *updateReliability {
		if !complete {
			t.Fatalf("not rewriting %s: some rows failed", reliabilityDoc)
		}
		if i < 0 || j < i {
			t.Fatalf("%s has no fault table markers", reliabilityDoc)
		}
		doc = doc[:i] + table + doc[j+len(end):]
		if err := os.WriteFile(reliabilityDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !complete || len(rows) == 0 {
		return
	}
	if i < 0 || j < i || doc[i:j+len(end)] != table {
		t.Errorf("%s is not current; run go test ./cmd/ksdoctor -run TestFaultMatrix -update-reliability\nwant:\n%s", reliabilityDoc, table)
	}
}
