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
	return runEnv(t, argv, nil, 3*time.Minute)
}

// runEnv runs argv with env overriding the test's environment, bounded by limit.
func runEnv(t *testing.T, argv, env []string, limit time.Duration) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
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
