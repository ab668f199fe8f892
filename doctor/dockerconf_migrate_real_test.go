package doctor_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
)

func (n *node) inventory() []string {
	n.t.Helper()
	c := n.d.Client(n.t)
	ims, err := c.ImageList(context.Background(), image.ListOptions{All: true})
	must(n.t, err)
	cs, err := c.ContainerList(context.Background(), container.ListOptions{All: true})
	must(n.t, err)
	var out []string
	for _, im := range ims {
		out = append(out, im.ID)
	}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

func (n *node) dockerRoot() string {
	n.t.Helper()
	info, err := n.d.Client(n.t).Info(context.Background())
	must(n.t, err)
	return info.DockerRootDir
}

// TestRealDataRootMigration moves a real dockerd's data-root (images, an exited and a
// running container) between two loop-mounted ext4 filesystems: first with a failure
// injected mid-copy, which must leave the old data-root in use and intact, then for real.
func TestRealDataRootMigration(t *testing.T) {
	if testing.Short() {
		t.Skip("real-part test: not with -short")
	}
	testbed.Require(t, "dockerd", "rsync", "mkfs.ext4", "losetup")
	src, dst := testbed.LoopFS(t, 200), testbed.LoopFS(t, 200)
	oldRoot, newRoot := filepath.Join(src, "docker"), filepath.Join(dst, "docker")
	must(t, os.MkdirAll(oldRoot, 0o711))
	n := newNodeOn(t, []string{"--log-opt", "max-size=10m"}, "", oldRoot)
	// The loop filesystems as the node sees them.
	for _, p := range []string{src, dst} {
		n.bind(p)
	}
	n.d.BusyboxImage(t)
	n.d.RunExited(t, "ksdt-dc-exited", 3)
	n.d.RunSleeping(t, "ksdt-dc-sleeping")
	testbed.FillTo(t, src, 86)
	before := n.inventory()
	unitBefore := n.read("/lib/systemd/system/docker.service")

	doc := n.doctor(checks.DiskDockerRootUsage)
	inputs := map[string]string{"to": newRoot}
	cand, err := doc.Prepare(context.Background(), "disk.docker-root-usage/migrate", inputs)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if len(cand.Remediation.Plan.Steps) != 1 {
		t.Fatalf("no plan: %s\n%s", cand.Remediation.Title, cand.Remediation.Preview)
	}
	t.Log(cand.Remediation.Preview)

	// 1. A copy that fails half-way.
	doc.Executor.CopyTree = func(ctx context.Context, from, to string) error {
		out, err := exec.CommandContext(ctx, "rsync", "-aHAXS", "--numeric-ids", "--exclude=image", from+"/", to+"/").CombinedOutput()
		if err != nil {
			t.Errorf("partial rsync: %v %s", err, out)
		}
		return errors.New("injected failure mid-copy")
	}
	res := doc.Apply(context.Background(), cand)
	if !strings.Contains(res.Error, "injected failure mid-copy") || !strings.Contains(res.Error, "everything was put back") {
		t.Fatalf("want the injected failure, put back: %+v", res)
	}
	if got := n.dockerRoot(); got != oldRoot {
		t.Fatalf("docker runs on %s after the failed move, want %s", got, oldRoot)
	}
	if got := n.inventory(); !slices.Equal(got, before) {
		t.Fatalf("images/containers changed after the failed move:\n%q\n%q", got, before)
	}
	if ents, _ := os.ReadDir(newRoot); len(ents) != 0 {
		t.Errorf("%s not cleaned: %d entries", newRoot, len(ents))
	}
	if n.read("/lib/systemd/system/docker.service") != unitBefore {
		t.Error("unit file changed by the failed move")
	}
	n.d.CLI(t, "run", "--rm", "--net=none", testbed.BusyboxTag, "true") // the old data-root works

	// 2. The real move.
	cand, err = doc.Prepare(context.Background(), "disk.docker-root-usage/migrate", inputs)
	if err != nil {
		t.Fatalf("prepare again: %v", err)
	}
	doc.Executor.CopyTree = nil
	res = doc.Apply(context.Background(), cand)
	if res.Error != "" || !res.Verified {
		t.Fatalf("move: %+v\n%s", res, n.d.LogTail(20))
	}
	t.Log(res.Steps[0].Detail)
	if got := n.dockerRoot(); got != newRoot {
		t.Fatalf("docker runs on %s, want %s", got, newRoot)
	}
	if got := n.inventory(); !slices.Equal(got, before) {
		t.Fatalf("images/containers differ after the move:\n%q\n%q", got, before)
	}
	backups, _ := filepath.Glob(oldRoot + ".ksdoctor-*.bak")
	if len(backups) != 1 || !strings.Contains(res.Steps[0].Detail, backups[0]) {
		t.Errorf("backup %v not named in %q", backups, res.Steps[0].Detail)
	}
	if !strings.Contains(n.read("/lib/systemd/system/docker.service"), "--data-root "+newRoot) {
		t.Error("unit does not name the new data-root")
	}
	n.d.CLI(t, "start", "ksdt-dc-sleeping")
	n.d.CLI(t, "run", "--rm", "--net=none", testbed.BusyboxTag, "true")
	var found bool
	for _, r := range mustJournal(t, n.root) {
		found = found || (r.RemediationID == "disk.docker-root-usage/migrate" && r.Outcome == "verified")
	}
	if !found {
		t.Error("migration not journaled as verified")
	}
	_ = diag.StepDataRootMigrate
}

// TestRealDataRootMigrationSymlink: with --symlink the configuration is left alone and
// the old path points at the new directory.
func TestRealDataRootMigrationSymlink(t *testing.T) {
	if testing.Short() {
		t.Skip("real-part test: not with -short")
	}
	testbed.Require(t, "dockerd", "rsync", "mkfs.ext4", "losetup")
	src, dst := testbed.LoopFS(t, 200), testbed.LoopFS(t, 200)
	oldRoot, newRoot := filepath.Join(src, "docker"), filepath.Join(dst, "docker")
	must(t, os.MkdirAll(oldRoot, 0o711))
	n := newNodeOn(t, nil, "", oldRoot)
	n.bind(src)
	n.bind(dst)
	n.d.BusyboxImage(t)
	n.d.RunExited(t, "ksdt-dc-exited", 0)
	testbed.FillTo(t, src, 86)
	before := n.inventory()
	unitBefore := n.read("/lib/systemd/system/docker.service")
	doc := n.doctor(checks.DiskDockerRootUsage)
	cand, err := doc.Prepare(context.Background(), "disk.docker-root-usage/migrate", map[string]string{"to": newRoot, "symlink": "true"})
	if err != nil || len(cand.Remediation.Plan.Steps) != 1 {
		t.Fatalf("prepare: %v %+v", err, cand)
	}
	res := doc.Apply(context.Background(), cand)
	if res.Error != "" || !res.Verified {
		t.Fatalf("move: %+v", res)
	}
	if dest, err := os.Readlink(oldRoot); err != nil || dest != newRoot {
		t.Fatalf("%s is not a symlink to %s: %q %v", oldRoot, newRoot, dest, err)
	}
	if got := n.dockerRoot(); got != newRoot {
		t.Errorf("docker reports data-root %s, want %s", got, newRoot)
	}
	if got := n.inventory(); !slices.Equal(got, before) {
		t.Errorf("images/containers differ:\n%q\n%q", got, before)
	}
	if n.read("/lib/systemd/system/docker.service") != unitBefore {
		t.Error("the unit changed in symlink mode")
	}
}
