package act

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func editStep(path, before, content string) diag.Step {
	sum := ""
	if before != "" {
		sum = sha256Hex([]byte(before))
	}
	return diag.Step{Kind: diag.StepFileEdit, File: &diag.FileEdit{Path: path, BeforeSHA256: sum, Content: content}}
}

func TestEditFile(t *testing.T) {
	root := t.TempDir()
	e := &Executor{HostRoot: root}
	p := "/etc/docker/daemon.json"
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte("{}\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Changed since the preview: refused, nothing touched.
	if _, _, _, err := try(ctx, editFile, e, editStep(p, "{\"debug\":true}\n", "{}")); err == nil || !strings.Contains(err.Error(), "changed since") {
		t.Fatalf("want a refusal, got %v", err)
	}
	// Applied: backup beside it with the old content, mode kept.
	out, detail, undo, err := try(ctx, editFile, e, editStep(p, "{}\n", "{\"debug\": true}\n"))
	if err != nil || out != diag.OutcomeDone || undo == nil {
		t.Fatalf("apply: %v %v", out, err)
	}
	backups, _ := filepath.Glob(full + ".ksdoctor-*.bak")
	if len(backups) != 1 || !strings.Contains(detail, strings.TrimPrefix(backups[0], root)) {
		t.Fatalf("backups %v, detail %q", backups, detail)
	}
	if b, _ := os.ReadFile(backups[0]); string(b) != "{}\n" {
		t.Errorf("backup holds %q", b)
	}
	if fi, _ := os.Stat(full); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	// Applied twice: no-op.
	if out, _, _, err := try(ctx, editFile, e, editStep(p, "{}\n", "{\"debug\": true}\n")); err != nil || out != diag.OutcomeNoop {
		t.Errorf("second apply: %v %v", out, err)
	}
	// Undo restores the backup.
	if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(full); string(b) != "{}\n" {
		t.Errorf("after undo %q", b)
	}
	// A file that must not exist yet.
	np := "/etc/docker/new.json"
	if _, _, undo, err := try(ctx, editFile, e, editStep(np, "", "{}\n")); err != nil {
		t.Fatal(err)
	} else if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, np)); !os.IsNotExist(err) {
		t.Errorf("undo of a create left the file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, np), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := try(ctx, editFile, e, editStep(np, "", "{}\n")); err == nil {
		t.Error("overwrote a file that appeared since the preview")
	}
}

func TestJournalRoundTrip(t *testing.T) {
	root := t.TempDir()
	e := &Executor{HostRoot: root}
	rem := diag.Remediation{ID: "docker.log-rotation-missing/set", Title: "Rotate", Risk: diag.RiskHigh}
	res := &diag.ApplyResult{RemediationID: rem.ID, Verified: true, Steps: []diag.StepResult{
		{Step: editStep("/etc/docker/daemon.json", "{}\n", "{\"log-opts\":{}}\n"), Outcome: diag.OutcomeDone, Detail: "edited"},
	}}
	for range 2 {
		if err := e.Record(NewJournalRecord("docker.log-rotation-missing", rem, res)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := ReadJournal(root)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %v", recs, err)
	}
	r := recs[1]
	if r.Outcome != "verified" || len(r.Files) != 1 || r.Files[0].BeforeSHA256 != sha256Hex([]byte("{}\n")) || r.Files[0].AfterSHA256 != sha256Hex([]byte("{\"log-opts\":{}}\n")) {
		t.Errorf("record %+v", r)
	}
	if fi, _ := os.Stat(filepath.Join(root, JournalPath)); fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v", fi.Mode().Perm())
	}
}

func TestServicesRefusedUnderHostRoot(t *testing.T) {
	e := &Executor{HostRoot: "/host"}
	if _, _, _, err := try(context.Background(), restartService, e, diag.Step{}); err == nil || !strings.Contains(err.Error(), "host root") {
		t.Errorf("want a refusal to run systemctl for another root, got %v", err)
	}
}

type countingServices struct{ reloads, restarts int }

func (c *countingServices) DaemonReload(context.Context) error { c.reloads++; return nil }
func (c *countingServices) Restart(context.Context, string) error {
	c.restarts++
	return nil
}
func (c *countingServices) Stop(context.Context, string) error  { return nil }
func (c *countingServices) Start(context.Context, string) error { return nil }

// A plan that fails before its restart restores the files without restarting docker.
func TestRollbackBeforeRestartDoesNotRestart(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "etc/docker/daemon.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	svc := &countingServices{}
	e := &Executor{HostRoot: root, Services: svc}
	guard := diag.Step{Kind: diag.StepServiceRestartOnRollback, Service: &diag.ServiceTarget{Unit: "docker.service"}}
	// The edit makes daemon.json invalid: validation fails before the restart.
	plan := diag.Plan{Transactional: true, Steps: []diag.Step{guard, editStep("/etc/docker/daemon.json", "{}\n", "{ bad"),
		{Kind: diag.StepDockerConfigValidate}, {Kind: diag.StepServiceRestart, Service: &diag.ServiceTarget{Unit: "docker.service"}}}}
	res := e.Apply(context.Background(), diag.Remediation{ID: "x/y", Plan: plan})
	if res.Error == "" || !res.RolledBack {
		t.Fatalf("want a rolled-back failure: %+v", res)
	}
	if b, _ := os.ReadFile(p); string(b) != "{}\n" {
		t.Errorf("not restored: %q", b)
	}
	if svc.restarts != 0 {
		t.Errorf("docker restarted %d times for a plan that never reached the restart", svc.restarts)
	}
	// A failure after the restart: restored and restarted again.
	plan.Steps = []diag.Step{guard, editStep("/etc/docker/daemon.json", "{}\n", "{\"debug\": true}\n"),
		{Kind: diag.StepServiceRestart, Service: &diag.ServiceTarget{Unit: "docker.service"}}, {Kind: diag.StepDockerWaitReady}}
	res = e.Apply(context.Background(), diag.Remediation{ID: "x/y", Plan: plan})
	if res.Error == "" || !res.RolledBack || svc.restarts != 2 {
		t.Fatalf("want restart then rollback restart: restarts=%d %+v", svc.restarts, res)
	}
}
