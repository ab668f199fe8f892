package doctor_test

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/ksdoctor/ksdoctor/act"
	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/testbed"
)

func newDoctor(t *testing.T, d *testbed.Dockerd) *doctor.Doctor {
	g := gather.New(gather.Options{DockerHost: d.Host, DockerdPIDFile: d.PIDFile})
	t.Cleanup(func() { g.Close() })
	cli, err := g.DockerClient()
	if err != nil {
		t.Fatal(err)
	}
	return &doctor.Doctor{
		Tool:     diag.Tool{Name: "ksdoctor", Version: "test"},
		Checks:   checks.All(),
		Config:   diag.DefaultConfig(),
		Gatherer: g,
		Executor: &act.Executor{Docker: cli, HostRoot: "/"},
	}
}

// TestGatherRealDocker: the docker source records state, exit code, finish
// time and (when wanted) sizes of every container.
func TestGatherRealDocker(t *testing.T) {
	testbed.Require(t, "dockerd")
	d := testbed.StartDockerd(t, testbed.DockerdOptions{})
	d.BusyboxImage(t)
	d.RunExited(t, "exit-3", 3)
	d.RunSleeping(t, "sleeper")
	doc := newDoctor(t, d)
	snap, rep := doc.Sweep(context.Background(), doctor.Progress{})
	if !snap.Has(diag.SourceDocker) || !snap.Has(diag.SourceDockerSizes) || !snap.Has(diag.SourceHost) {
		t.Fatalf("sources: %+v", rep.Sources)
	}
	if snap.Docker.DataRoot != d.DataRoot || snap.Docker.Version == "" {
		t.Errorf("docker facts: %+v", snap.Docker)
	}
	doc.Gatherer.Gather(context.Background(), snap, []diag.Source{diag.SourceDockerdProc}, nil)
	if snap.Dockerd == nil || snap.Dockerd.PID != d.PID {
		t.Errorf("dockerd process: %+v, want pid %d", snap.Dockerd, d.PID)
	}
	byName := map[string]diag.Container{}
	for _, c := range snap.Docker.Containers {
		byName[c.Name] = c
	}
	ex, ok := byName["exit-3"]
	if !ok || ex.State != "exited" || ex.ExitCode != 3 || ex.FinishedAt.IsZero() || ex.LogPath == "" {
		t.Errorf("exited container facts: %+v", ex)
	}
	if sl := byName["sleeper"]; sl.State != "running" {
		t.Errorf("running container facts: %+v", sl)
	}
	if fs, ok := snap.FilesystemFor(gather.PurposeDockerRoot); !ok || fs.Error != "" || fs.TotalBytes == 0 {
		t.Errorf("data-root filesystem: %+v", fs)
	}
	// Healthy disk: the expensive breakdown is not gathered.
	if _, ok := snap.Sources[diag.SourceDockerDisk]; ok {
		t.Errorf("docker.df gathered although the disk is not filling")
	}
}

// TestRestartedContainerIsNeverRemoved: a container previewed as exited and
// started again before the fix is applied is skipped, not removed.
func TestRestartedContainerIsNeverRemoved(t *testing.T) {
	testbed.Require(t, "dockerd")
	d := testbed.StartDockerd(t, testbed.DockerdOptions{})
	d.BusyboxImage(t)
	d.RunExited(t, "gone-soon", 1)
	comeback := d.RunSleeping(t, "comeback")
	cli := d.Client(t)
	ctx := context.Background()
	timeout := 0
	if err := cli.ContainerStop(ctx, comeback, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	doc := newDoctor(t, d)
	cand, err := doc.Prepare(ctx, "docker.exited-containers/remove", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cand.Remediation.Plan.Steps); n != 2 {
		t.Fatalf("plan has %d steps, want 2", n)
	}
	// The plan needs IDs only: a fix inspects no container and walks no
	// layer before its first removal.
	for _, src := range []diag.Source{diag.SourceDockerStopped, diag.SourceDockerSizes} {
		if _, ok := cand.Snapshot.Sources[src]; ok {
			t.Errorf("the fix gathered %s", src)
		}
	}
	if err := cli.ContainerStart(ctx, comeback, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	res := doc.Apply(ctx, cand)
	if res.Count(diag.OutcomeDone) != 1 || res.Count(diag.OutcomeSkipped) != 1 {
		t.Fatalf("result %+v", res.Steps)
	}
	in, err := cli.ContainerInspect(ctx, comeback)
	if err != nil || !in.State.Running {
		t.Fatalf("restarted container was touched: %v", err)
	}
	if !res.Verified {
		t.Errorf("not verified: %s", res.VerifyDetail)
	}
	// Applying the same plan again changes nothing.
	res2 := doc.Executor.Apply(ctx, cand.Remediation)
	if res2.Count(diag.OutcomeDone) != 0 || res2.Count(diag.OutcomeFailed) != 0 {
		t.Errorf("second apply changed something: %+v", res2.Steps)
	}
}
