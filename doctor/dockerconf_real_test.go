package doctor_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/act"
	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
	"github.com/ksdoctor/ksdoctor/doctor"
)

func (n *node) doctor(cs ...diag.Check) *doctor.Doctor {
	return &doctor.Doctor{Tool: diag.Tool{Name: "test"}, Checks: cs, Config: diag.DefaultConfig(), Gatherer: n.gatherer(), Executor: n.executor()}
}

// TestRealResolveMatchesRunningDockerd: the files resolve to exactly the argv the real
// dockerd runs with; an edit without restart is drift; the restart remediation applies it
// and is verified and journaled.
func TestRealResolveMatchesRunningDockerd(t *testing.T) {
	opts := []string{"--bip=10.123.0.1/24", "--log-opt", "max-size=10m", "--log-opt", "max-file=3", "--insecure-registry=harbor.devops.kubesphere.local:30280"}
	n := newNode(t, opts, "{\n  \"debug\": true\n}\n")
	s := n.snapshot()
	f := s.DockerConf
	if f.Unit == nil || !slices.Equal(f.Unit.Argv[1:], n.d.Args[1:]) {
		t.Fatalf("resolved argv\n%q\nrunning argv\n%q", f.Unit.Argv, n.d.Args)
	}
	if !slices.Equal(f.RunningArgs, n.d.Args) {
		t.Errorf("running args %q, want %q", f.RunningArgs, n.d.Args)
	}
	if o, _ := diag.Option(f.OnDisk, "bip"); o.At.File != dropIn || o.At.Line != 2 || o.At.Via != "DOCKER_OPTS" {
		t.Errorf("bip provenance %+v", o.At)
	}
	if o, _ := diag.Option(f.OnDisk, "debug"); o.At.File != n.daemonJSON || o.At.Line != 2 {
		t.Errorf("debug provenance %+v", o.At)
	}
	if f.DockerdStartedAt.IsZero() {
		t.Error("no dockerd start time")
	}
	fs, err := checks.DockerOptionsDrift.Judge(s, nil)
	if err != nil || len(fs) != 0 {
		t.Fatalf("drift right after start: %+v %v", fs, err)
	}
	if fs, _ := checks.DockerLogRotationMissing.Judge(s, nil); len(fs) != 0 {
		t.Errorf("log rotation is set: %+v", fs)
	}

	// Edit the drop-in without restarting: drift.
	n.write(dropIn, strings.Replace(n.read(dropIn), "10.123.0.1/24", "10.124.0.1/24", 1))
	doc := n.doctor(checks.DockerOptionsDrift)
	cand, err := doc.Prepare(context.Background(), "docker.options-drift/restart", nil)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	rows := cand.Finding.Evidence[0].Table.Rows
	if len(rows) != 1 || rows[0][0] != "--bip" || rows[0][1] != "10.124.0.1/24" || rows[0][3] != "10.123.0.1/24" {
		t.Fatalf("drift rows %q", rows)
	}
	if !strings.Contains(cand.Remediation.Preview, "Blast radius: 0 running containers") {
		t.Errorf("preview:\n%s", cand.Remediation.Preview)
	}
	res := doc.Apply(context.Background(), cand)
	if res.Error != "" || !res.Verified {
		t.Fatalf("apply: %+v", res)
	}
	if !slices.Contains(n.d.Args, "--bip=10.124.0.1/24") {
		t.Errorf("dockerd restarted with %q", n.d.Args)
	}
	recs, err := act.ReadJournal(n.root)
	if err != nil || len(recs) != 1 || recs[0].RemediationID != "docker.options-drift/restart" || recs[0].Outcome != "verified" {
		t.Fatalf("journal %+v %v", recs, err)
	}
}

// TestRealConflictRefusesToStart: ksdoctor predicts the exact error of the real dockerd
// for directives given as flags and in daemon.json, and the dedupe remediation makes it
// start again.
func TestRealConflictRefusesToStart(t *testing.T) {
	opts := []string{"--debug", "--insecure-registry=h.local:30280", "--log-opt", "max-size=10m", "--iptables=false",
		"--registry-mirror=https://mirror.local", "--log-driver=json-file", "--bip=10.126.0.1/24"}
	n := newNode(t, opts, "{}\n")
	// Before the next restart someone adds the same directives to daemon.json, as
	// KubeKey does; hosts, data-root and storage-driver are flags of the unit itself.
	n.write(n.daemonJSON, `{
  "hosts": ["unix:///var/run/ksdt-dockerconf-unused.sock"],
  "data-root": "/var/lib/docker",
  "storage-driver": "overlay2",
  "debug": true,
  "insecure-registries": ["h.local:30280"],
  "registry-mirrors": ["https://mirror.local"],
  "log-driver": "json-file",
  "log-opts": {"max-size": "100m", "max-file": "3"},
  "iptables": false,
  "bip": "10.127.0.1/24",
  "exec-opts": ["native.cgroupdriver=cgroupfs"]
}
`)
	s := n.snapshot(checks.DockerConfigConflict)
	f := s.DockerConf
	if len(f.Conflicts) != 10 {
		t.Fatalf("conflicts %+v", f.Conflicts)
	}
	fs, err := checks.DockerConfigConflict.Judge(s, nil)
	if err != nil || len(fs) != 1 || fs[0].Severity != diag.Critical {
		t.Fatalf("findings %+v %v", fs, err)
	}
	// The real dockerd with exactly these files.
	extra, err := n.svc.resolvedExtra()
	must(t, err)
	err = n.d.TryRestart(extra...)
	n.refreshProc()
	if err == nil {
		t.Fatal("dockerd started despite the conflicts")
	}
	want := f.StartError[strings.Index(f.StartError, "the following directives"):]
	if !strings.Contains(n.d.LogTail(60), want) {
		t.Fatalf("dockerd's error does not match the prediction\npredicted: %s\ndockerd log:\n%s", want, n.d.LogTail(20))
	}
	// Dedupe: with no running dockerd, the directives stay as flags.
	doc := n.doctor(checks.DockerConfigConflict)
	cand, err := doc.Prepare(context.Background(), "docker.config-conflict/dedupe", nil)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	t.Log(cand.Remediation.Preview)
	res := doc.Apply(context.Background(), cand)
	if res.Error != "" || !res.Verified {
		t.Fatalf("apply: %+v\n%s", res, n.d.LogTail(20))
	}
	if !n.d.Running() {
		t.Fatal("dockerd is not running after dedupe")
	}
	after := dockerconf.Resolve(dirFS(n.root), nil)
	if len(after.Conflicts) != 0 {
		t.Errorf("conflicts remain: %+v", after.Conflicts)
	}
	if o, _ := diag.Option(after.OnDisk, "exec-opts"); o.At.Origin != "daemon.json" {
		t.Errorf("unrelated directive lost: %+v", after.OnDisk)
	}
}

// TestRealIPTablesEnable runs docker.iptables-disabled/enable against a real dockerd in a
// network namespace: the docker0 MASQUERADE rule is back after the restart.
func TestRealIPTablesEnable(t *testing.T) {
	opts := []string{"--iptables=false", "--bip=10.125.0.1/24"}
	n := newNode(t, opts, "")
	masq := "-A POSTROUTING -s 10.125.0.0/24 ! -o docker0 -j MASQUERADE"
	if out := n.d.Netns.Run(t, "iptables-save", "-t", "nat"); strings.Contains(out, masq) {
		t.Fatalf("MASQUERADE present with --iptables=false:\n%s", out)
	}
	fd, rem, ok := iptablesEnable(t, n.snapshot(checks.DockerIPTablesDisabled))
	if !ok {
		t.Fatal("no remediation")
	}
	if where := fd.Evidence[0].Table; where == nil || !slices.ContainsFunc(where.Rows, func(r []string) bool { return strings.HasPrefix(r[2], dropIn+":2") }) {
		t.Fatalf("where set: %+v", where)
	}
	ex := n.executor()
	res := ex.Apply(context.Background(), rem)
	if res.Error != "" {
		t.Fatalf("apply: %+v", res)
	}
	must(t, ex.Record(act.NewJournalRecord("docker.iptables-disabled", rem, res)))
	if out := n.d.Netns.Run(t, "iptables-save", "-t", "nat"); !strings.Contains(out, masq) {
		t.Fatalf("no MASQUERADE after the fix:\n%s", out)
	}
	if slices.Contains(n.d.Args, "--iptables=false") {
		t.Errorf("dockerd still runs with --iptables=false: %q", n.d.Args)
	}
	// Applied twice: the file edit is a no-op.
	res2 := ex.Apply(context.Background(), rem)
	for _, st := range res2.Steps {
		if st.Step.Kind == diag.StepFileEdit && st.Outcome != diag.OutcomeNoop {
			t.Errorf("second apply edited again: %+v", st)
		}
	}
	if _, _, ok := iptablesEnable(t, n.snapshot(checks.DockerIPTablesDisabled)); ok {
		t.Error("remediation still offered after the fix")
	}
}

// TestRealRestartFailureRollsBack: a restart that fails puts the files back and restarts
// docker with them.
func TestRealRestartFailureRollsBack(t *testing.T) {
	opts := []string{"--iptables=false"}
	n := newNode(t, opts, "")
	_, rem, ok := iptablesEnable(t, n.snapshot(checks.DockerIPTablesDisabled))
	if !ok {
		t.Fatal("no remediation")
	}
	before := n.read(dropIn)
	// An invalid flag sneaks in behind the validation: dockerd will refuse to start.
	for i, st := range rem.Plan.Steps {
		if st.File != nil {
			c := *st.File
			c.Content = strings.Replace(c.Content, "DOCKER_OPTS=", "DOCKER_OPTS=--bip=not-an-ip ", 1)
			rem.Plan.Steps[i].File = &c
		}
	}
	res := n.executor().Apply(context.Background(), rem)
	if res.Error == "" || !res.RolledBack {
		t.Fatalf("want a rolled-back failure: %+v", res)
	}
	if got := n.read(dropIn); got != before {
		t.Errorf("drop-in not restored:\n%s", got)
	}
	if !n.d.Running() || !slices.Contains(n.d.Args, "--iptables=false") {
		t.Errorf("dockerd not back with the old flags: running=%v %q", n.d.Running(), n.d.Args)
	}
}

// iptablesEnable judges s with docker.iptables-disabled and returns its
// finding and the enable remediation it offers.
func iptablesEnable(t *testing.T, s *diag.Snapshot) (diag.Finding, diag.Remediation, bool) {
	t.Helper()
	fs, err := checks.DockerIPTablesDisabled.Judge(s, nil)
	if err != nil {
		t.Fatalf("docker.iptables-disabled: %v", err)
	}
	for _, f := range fs {
		if r, ok := f.Remediation("docker.iptables-disabled/enable"); ok {
			return f, r, true
		}
	}
	return diag.Finding{}, diag.Remediation{}, false
}
