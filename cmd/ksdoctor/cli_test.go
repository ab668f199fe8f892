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
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// bin is the real ksdoctor binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ksdoctor-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "ksdoctor")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if other := os.Getenv("KSDOCTOR_TEST_BIN"); other != "" {
		// The same tests against another build (the binary from before a change).
		bin = other
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "build ksdoctor: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// ksd runs the real binary as a user would, with no terminal on stdin.
func ksd(t *testing.T, args ...string) result {
	t.Helper()
	return runArgv(t, append([]string{bin}, args...))
}

// runArgv runs argv (the binary, possibly under nsenter) with no terminal
// on stdin and returns its output and exit code.
func runArgv(t *testing.T, argv []string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", argv, err)
	}
	return r
}

func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

func decodeReport(t *testing.T, data []byte) *diag.Report {
	t.Helper()
	if err := schemacheck.ValidateJSON(data); err != nil {
		t.Fatalf("report does not validate: %v\n%s", err, data)
	}
	var rep diag.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

func findingIDs(r *diag.Report) []string {
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.ID+"="+string(f.Severity))
	}
	slices.Sort(ids)
	return ids
}

func checkStatus(t *testing.T, r *diag.Report, id string) diag.CheckResult {
	t.Helper()
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %s in report", id)
	return diag.CheckResult{}
}

// node is a real dockerd in its own network namespace, with the flags the
// CLI needs to look at it.
type node struct {
	d     *testbed.Dockerd
	flags []string
}

func newNode(t *testing.T, opts testbed.DockerdOptions) *node {
	d := testbed.StartDockerd(t, opts)
	d.BusyboxImage(t)
	return &node{d: d, flags: []string{"--docker-host", d.Host, "--dockerd-pidfile", d.PIDFile}}
}

func (n *node) run(t *testing.T, args ...string) result {
	t.Helper()
	// Inside the daemon's network namespace: that is the node's network
	// (its docker0, iptables and sysctls), not the test machine's.
	return ksdNS(t, n.d.Netns, append(slices.Clone(args), n.flags...)...)
}

func TestChecksCommand(t *testing.T) {
	r := ksd(t, "checks")
	r.wantCode(t, 0)
	for _, id := range []string{"docker.daemon-unreachable", "disk.docker-root-usage", "docker.exited-containers"} {
		if !strings.Contains(r.stdout, id) {
			t.Errorf("checks output lacks %s:\n%s", id, r.stdout)
		}
	}
}

func TestBadInputExitsThree(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badConfig, []byte("disk:\n  warnPercnt: 70\n"), 0o644)
	notSnap := filepath.Join(dir, "report.json")
	os.WriteFile(notSnap, []byte(`{"schemaVersion":1,"tool":{"name":"ksdoctor"},"findings":[]}`), 0o644)
	future := filepath.Join(dir, "future.json")
	os.WriteFile(future, []byte(`{"schemaVersion":2,"tool":{"name":"ksdoctor"},"sources":{}}`), 0o644)
	out := filepath.Join(dir, "out.json")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unparseable config", []string{"sweep", "--config", badConfig, "--output", out}, "warnPercnt"},
		{"missing config", []string{"sweep", "--config", filepath.Join(dir, "nope.yaml"), "--output", out}, "no such file"},
		{"not a snapshot", []string{"sweep", "--from", notSnap, "--output", out}, "not a ksdoctor snapshot"},
		{"other schema version", []string{"sweep", "--from", future, "--output", out}, "schemaVersion 2 is not supported"},
		{"bad format", []string{"sweep", "--format", "yaml", "--output", out}, "unknown format"},
		{"unknown check", []string{"sweep", "--checks", "docker.nope", "--output", out}, "unknown check docker.nope"},
		{"unknown flag", []string{"sweep", "--frobnicate"}, "unknown flag"},
		{"unknown remediation", []string{"fix", "docker.nope/remove", "--yes"}, "unknown remediation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ksd(t, tt.args...)
			r.wantCode(t, 3)
			if !strings.HasPrefix(r.stderr, "ksdoctor: error: ") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.want)
			}
			if !strings.Contains(r.stderr, "ksdoctor: hint: ") {
				t.Errorf("stderr has no hint: %q", r.stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a partial report was written")
			}
		})
	}
}

func TestFixturesReplayExitCodes(t *testing.T) {
	for _, tt := range []struct {
		fixture string
		code    int
	}{
		{"healthy", 0},
		{"exited-containers", 1},
		{"disk-full", 2},
		{"docker-down", 2},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			r := ksd(t, "sweep", "--format", "json", "--from", filepath.Join("..", "..", "fixtures", tt.fixture, "snapshot.json"))
			r.wantCode(t, tt.code)
			decodeReport(t, []byte(r.stdout))
			md := ksd(t, "sweep", "--format", "markdown", "--from", filepath.Join("..", "..", "fixtures", tt.fixture, "snapshot.json"))
			md.wantCode(t, tt.code)
			if !strings.HasPrefix(md.stdout, "# ksdoctor report:") {
				t.Errorf("markdown report starts %q", md.stdout[:min(40, len(md.stdout))])
			}
		})
	}
}

// TestExitedContainersOnRealDocker: a real dockerd with exited and running
// containers; the sweep finds exactly the exited non-kubelet ones, the fix
// removes exactly those, the running one survives, and a second fix has
// nothing to do.
func TestExitedContainersOnRealDocker(t *testing.T) {
	testbed.Require(t, "dockerd")
	n := newNode(t, testbed.DockerdOptions{})
	cli := n.d.Client(t)
	exited := map[string]string{}
	for i, code := range []int{0, 1, 137} {
		name := fmt.Sprintf("job-%d", i)
		exited[name] = n.d.RunExited(t, name, code)
	}
	running := n.d.RunSleeping(t, "keeper")
	n.d.RunExited(t, "k8s_app_web-1_default_0a1b_0", 2) // kubelet-named: listed apart, never removed

	cfg := filepath.Join(t.TempDir(), "cfg.yaml")
	os.WriteFile(cfg, []byte("exitedContainers:\n  warnCount: 3\n"), 0o644)
	r := n.run(t, "sweep", "--format", "json", "--config", cfg, "--checks", "docker.exited-containers,docker.daemon-unreachable")
	r.wantCode(t, 1)
	rep := decodeReport(t, []byte(r.stdout))
	f, ok := rep.Finding("docker.exited-containers")
	if !ok {
		t.Fatalf("no exited-containers finding: %v", findingIDs(rep))
	}
	if f.Severity != diag.Warning {
		t.Errorf("severity %s, want warning", f.Severity)
	}
	rem, ok := f.Remediation("docker.exited-containers/remove")
	if !ok {
		t.Fatal("no remove remediation")
	}
	var planned []string
	for _, st := range rem.Plan.Steps {
		planned = append(planned, st.Container.Name)
	}
	slices.Sort(planned)
	if !slices.Equal(planned, []string{"job-0", "job-1", "job-2"}) {
		t.Errorf("plan removes %v, want the three jobs only", planned)
	}
	for name := range exited {
		if !strings.Contains(rem.Preview, name) {
			t.Errorf("preview does not name %s:\n%s", name, rem.Preview)
		}
	}
	if strings.Contains(rem.Preview, "keeper") || strings.Contains(rem.Preview, "k8s_app") {
		t.Errorf("preview names a running or kubelet container:\n%s", rem.Preview)
	}

	// Without a terminal and without --yes, fix refuses.
	refuse := n.run(t, "fix", "docker.exited-containers/remove")
	refuse.wantCode(t, 4)
	if !strings.Contains(refuse.stderr, "without confirmation") {
		t.Errorf("refusal says %q", refuse.stderr)
	}
	dry := n.run(t, "fix", "docker.exited-containers/remove", "--dry-run")
	dry.wantCode(t, 0)
	if !strings.Contains(dry.stdout, "job-1") || !strings.Contains(dry.stdout, "dry run") {
		t.Errorf("dry run output:\n%s", dry.stdout)
	}
	if got := len(listNames(t, n, true)); got != 5 {
		t.Fatalf("dry run changed something: %d containers", got)
	}

	fix := n.run(t, "fix", "docker.exited-containers/remove", "--yes")
	fix.wantCode(t, 0)
	if !strings.Contains(fix.stdout, "3 done") || !strings.Contains(fix.stdout, "verified") {
		t.Errorf("fix output:\n%s", fix.stdout)
	}
	left := listNames(t, n, true)
	slices.Sort(left)
	if !slices.Equal(left, []string{"k8s_app_web-1_default_0a1b_0", "keeper"}) {
		t.Errorf("containers left %v", left)
	}
	in, err := cli.ContainerInspect(context.Background(), running)
	if err != nil || !in.State.Running {
		t.Errorf("running container hurt: %v %+v", err, in.State)
	}

	again := n.run(t, "fix", "docker.exited-containers/remove", "--yes")
	again.wantCode(t, 0)
	if !strings.Contains(again.stdout, "nothing to do") {
		t.Errorf("second fix:\n%s", again.stdout)
	}
}

func listNames(t *testing.T, n *node, all bool) []string {
	t.Helper()
	cs, err := n.d.Client(t).ContainerList(context.Background(), container.ListOptions{All: all})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, strings.TrimPrefix(c.Names[0], "/"))
	}
	return out
}

// TestFullDataRootOnRealDocker: Docker's data-root on a small loop-mounted
// filesystem filled past 90 %: critical, with Docker's breakdown as evidence.
func TestFullDataRootOnRealDocker(t *testing.T) {
	testbed.Require(t, "dockerd", "mkfs.ext4")
	root := testbed.LoopFS(t, 300)
	n := newNode(t, testbed.DockerdOptions{DataRoot: root})
	n.d.RunExited(t, "old-build", 1)
	testbed.FillTo(t, root, 93)

	r := n.run(t, "sweep", "--format", "json")
	r.wantCode(t, 2)
	rep := decodeReport(t, []byte(r.stdout))
	f, ok := rep.Finding("disk.docker-root-usage")
	if !ok || f.Severity != diag.Critical {
		t.Fatalf("no critical disk finding: %v", findingIDs(rep))
	}
	var labels []string
	for _, e := range f.Evidence {
		labels = append(labels, e.Label)
	}
	for _, want := range []string{"Mount point", "Size", "Used", "Free", "Inodes", "Docker disk usage", "Reclaimable by Docker's accounting"} {
		if !slices.Contains(labels, want) {
			t.Errorf("evidence lacks %q: %v", want, labels)
		}
	}
	rem, ok := f.Remediation("disk.docker-root-usage/prune")
	if !ok || !strings.Contains(rem.Preview, "old-build") {
		t.Fatalf("prune remediation missing or does not list the exited container: %+v", f.Remediations)
	}
	fix := n.run(t, "fix", "disk.docker-root-usage/prune", "--yes")
	if !strings.Contains(fix.stdout, "removed") && !strings.Contains(fix.stdout, "1 done") {
		t.Errorf("prune output:\n%s", fix.stdout)
	}
	if names := listNames(t, n, true); slices.Contains(names, "old-build") {
		t.Errorf("old-build survived the prune")
	}
}

// TestDockerDown: with the daemon stopped the sweep still completes within
// its deadline with a valid report: daemon-unreachable is critical, Docker
// checks could not judge (error), the disk check still runs.
func TestDockerDown(t *testing.T) {
	testbed.Require(t, "dockerd")
	n := newNode(t, testbed.DockerdOptions{})
	n.d.Stop(t)
	start := time.Now()
	r := n.run(t, "sweep", "--format", "json", "--timeout", "10s")
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("sweep took %s with docker down", took)
	}
	r.wantCode(t, 2)
	rep := decodeReport(t, []byte(r.stdout))
	if _, ok := rep.Finding("docker.daemon-unreachable"); !ok {
		t.Fatalf("no daemon-unreachable finding: %v", findingIDs(rep))
	}
	// The Docker checks could not judge: errored, never passed (exit 2 still,
	// critical outranks them).
	if st := checkStatus(t, rep, "docker.exited-containers"); st.Status != diag.StatusError || !strings.Contains(st.Error, "docker") {
		t.Errorf("exited-containers: %+v", st)
	}
	if st := checkStatus(t, rep, "disk.docker-root-usage"); st.Status == diag.StatusError {
		t.Errorf("disk check errored: %+v", st)
	}
}

// TestSnapshotReplay: a recorded snapshot replays to the findings the live
// sweep gave.
func TestSnapshotReplay(t *testing.T) {
	testbed.Require(t, "dockerd")
	n := newNode(t, testbed.DockerdOptions{})
	for i := range 4 {
		n.d.RunExited(t, fmt.Sprintf("replay-%d", i), i)
	}
	snapFile := filepath.Join(t.TempDir(), "snap.json")
	s := n.run(t, "snapshot", "--output", snapFile)
	s.wantCode(t, 0)
	if fi, err := os.Stat(snapFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot file: %v %v", fi, err)
	}
	replay := ksd(t, "sweep", "--format", "json", "--from", snapFile)
	live := n.run(t, "sweep", "--format", "json")
	if replay.code != live.code {
		t.Errorf("exit codes differ: replay %d live %d", replay.code, live.code)
	}
	a, b := decodeReport(t, []byte(replay.stdout)), decodeReport(t, []byte(live.stdout))
	if !slices.Equal(findingIDs(a), findingIDs(b)) {
		t.Errorf("findings differ: replay %v live %v", findingIDs(a), findingIDs(b))
	}
	fa, _ := a.Finding("docker.exited-containers")
	fb, _ := b.Finding("docker.exited-containers")
	if fa.Title != fb.Title || len(fa.Remediations) != len(fb.Remediations) || fa.Remediations[0].Preview != fb.Remediations[0].Preview {
		t.Errorf("finding content differs:\n%+v\n%+v", fa, fb)
	}
}

func TestOutputFileMode(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.md")
	r := ksd(t, "sweep", "--format", "markdown", "--output", out, "--from", "../../fixtures/healthy/snapshot.json")
	r.wantCode(t, 0)
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("report file %v %v", fi, err)
	}
}
