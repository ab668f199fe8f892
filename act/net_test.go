package act

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-iptables/iptables"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// TestIPTablesRuleIdempotentInNetns adds a rule twice through the handler
// on the real kernel, inside a namespace the test made (on a thread locked
// into it, so go-iptables' iptables child runs there too), once with the
// executor's default and once with go-iptables passed through the
// Executor.IPTables seam: the first is done, the second a noop, one rule
// exists, and undo removes it.
func TestIPTablesRuleIdempotentInNetns(t *testing.T) {
	for _, seam := range []string{"default", "seam"} {
		t.Run(seam, func(t *testing.T) {
			e := &Executor{}
			if seam == "seam" {
				ipt, err := iptables.New()
				if err != nil {
					t.Fatal(err)
				}
				e.IPTables = ipt
			}
			iptablesRuleIdempotent(t, e)
		})
	}
}

func iptablesRuleIdempotent(t *testing.T, e *Executor) {
	testbed.Require(t, "iptables", "iptables-save")
	ns := testbed.NewNetns(t)
	st := diag.Step{Kind: diag.StepIPTablesRule, IPTablesRule: &diag.IPTablesRule{
		Table: "nat", Chain: "POSTROUTING", Rule: []string{"-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"}}}
	ctx := context.Background()
	var outcomes []diag.StepOutcome
	var undo func(context.Context) error
	err := ns.Do(func() error {
		for range 2 {
			eff, err := addIPTablesRule(ctx, newExecution(e), st)
			if err != nil {
				return err
			}
			outcomes = append(outcomes, eff.outcome)
			if eff.undo != nil {
				undo = eff.undo
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if outcomes[0] != diag.OutcomeDone || outcomes[1] != diag.OutcomeNoop {
		t.Errorf("outcomes %v, want done then noop", outcomes)
	}
	rule := "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"
	if n := strings.Count(ns.Run(t, "iptables-save", "-t", "nat"), rule); n != 1 {
		t.Errorf("%d rules, want 1", n)
	}
	if err := ns.Do(func() error { return undo(ctx) }); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ns.Run(t, "iptables-save", "-t", "nat"), rule) {
		t.Errorf("undo left the rule")
	}
}

// TestSysctlPlanRollsBack: on a fake /proc under a host root, the persist
// step fails (sysctl.d is a file), so the value written by step 1 is put
// back. Applying the working plan twice is done then noop, and an existing
// sysctl.d file is backed up beside it.
func TestSysctlPlanRollsBack(t *testing.T) {
	root := t.TempDir()
	proc := filepath.Join(root, "proc/sys/net/ipv4/ip_forward")
	os.MkdirAll(filepath.Dir(proc), 0o755)
	os.WriteFile(proc, []byte("0\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/sysctl.d"), []byte("not a directory"), 0o644)
	ch := &diag.SysctlChange{Key: "net.ipv4.ip_forward", Value: "1", File: "/etc/sysctl.d/99-zz-ksdoctor-ip-forward.conf"}
	rem := diag.Remediation{ID: "net.ip-forward-disabled/enable", Plan: diag.Plan{Transactional: true, Steps: []diag.Step{
		{Kind: diag.StepSysctlSet, Sysctl: ch}, {Kind: diag.StepSysctlPersist, Sysctl: ch}}}}
	e := &Executor{HostRoot: root}
	res := e.Apply(context.Background(), rem)
	if res.Error == "" || !res.RolledBack {
		t.Fatalf("want a rolled-back failure, got error %q rolledBack %v", res.Error, res.RolledBack)
	}
	if b, _ := os.ReadFile(proc); strings.TrimSpace(string(b)) != "0" {
		t.Errorf("ip_forward %q after rollback, want 0", b)
	}

	os.Remove(filepath.Join(root, "etc/sysctl.d"))
	os.MkdirAll(filepath.Join(root, "etc/sysctl.d"), 0o755)
	file := filepath.Join(root, ch.File)
	os.WriteFile(file, []byte("net.ipv4.ip_forward = 0\n"), 0o600)
	res = e.Apply(context.Background(), rem)
	if res.Error != "" || res.Count(diag.OutcomeDone) != 2 {
		t.Fatalf("apply: %+v", res)
	}
	if b, _ := os.ReadFile(file); string(b) != string(SysctlFileContent(*ch)) {
		t.Errorf("file holds %q", b)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the old file's 0600 kept", fi.Mode().Perm())
	}
	backups, _ := filepath.Glob(file + ".ksdoctor-backup-*")
	if len(backups) != 1 {
		t.Fatalf("backups %v", backups)
	}
	again := e.Apply(context.Background(), rem)
	if again.Count(diag.OutcomeNoop) != 2 {
		t.Errorf("second apply: %+v", again.Steps)
	}
}

// recordingIPTables is an IPTables that keeps rules in memory and records
// the calls, for plans whose rollback is under test.
type recordingIPTables struct {
	rules []string
	calls []string
}

func (r *recordingIPTables) key(table, chain string, spec []string) string {
	return table + " " + chain + " " + strings.Join(spec, " ")
}

func (r *recordingIPTables) Exists(table, chain string, spec ...string) (bool, error) {
	return slices.Contains(r.rules, r.key(table, chain, spec)), nil
}

func (r *recordingIPTables) Insert(table, chain string, pos int, spec ...string) error {
	r.calls = append(r.calls, "insert "+r.key(table, chain, spec))
	r.rules = slices.Insert(r.rules, 0, r.key(table, chain, spec))
	return nil
}

func (r *recordingIPTables) Append(table, chain string, spec ...string) error {
	r.calls = append(r.calls, "append "+r.key(table, chain, spec))
	r.rules = append(r.rules, r.key(table, chain, spec))
	return nil
}

func (r *recordingIPTables) DeleteIfExists(table, chain string, spec ...string) error {
	r.calls = append(r.calls, "delete "+r.key(table, chain, spec))
	r.rules = slices.DeleteFunc(r.rules, func(s string) bool { return s == r.key(table, chain, spec) })
	return nil
}

// TestIPTablesPlanRollsBackThroughSeam applies a transactional plan whose
// second step fails through Executor.Apply: the rule the first step added
// through the IPTables seam is deleted again, and a rule already there is
// neither added twice nor deleted by the rollback.
func TestIPTablesPlanRollsBackThroughSeam(t *testing.T) {
	masq := &diag.IPTablesRule{Table: "nat", Chain: "POSTROUTING", Rule: []string{"-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"}}
	fwd := &diag.IPTablesRule{Table: "filter", Chain: "FORWARD", Position: 1, Rule: []string{"-i", "docker0", "-j", "ACCEPT"}}
	ipt := &recordingIPTables{rules: []string{"filter FORWARD -i docker0 -j ACCEPT"}}
	rem := diag.Remediation{ID: "x.y/z", Plan: diag.Plan{Transactional: true, Steps: []diag.Step{
		{Kind: diag.StepIPTablesRule, IPTablesRule: masq},
		{Kind: diag.StepIPTablesRule, IPTablesRule: fwd},
		{Kind: diag.StepIPTablesRule, IPTablesRule: &diag.IPTablesRule{Table: "nat", Chain: "-F", Rule: []string{"-j", "ACCEPT"}}},
	}}}
	res := (&Executor{IPTables: ipt}).Apply(context.Background(), rem)
	if !res.RolledBack || !strings.Contains(res.Error, "looks like an option") {
		t.Fatalf("result: %+v", res)
	}
	if got := []diag.StepOutcome{res.Steps[0].Outcome, res.Steps[1].Outcome, res.Steps[2].Outcome}; !slices.Equal(got, []diag.StepOutcome{diag.OutcomeDone, diag.OutcomeNoop, diag.OutcomeFailed}) {
		t.Errorf("outcomes %v", got)
	}
	want := []string{
		"append nat POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
		"delete nat POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
	}
	if !slices.Equal(ipt.calls, want) {
		t.Errorf("calls %q, want %q", ipt.calls, want)
	}
	if !slices.Equal(ipt.rules, []string{"filter FORWARD -i docker0 -j ACCEPT"}) {
		t.Errorf("rules after the rollback: %q", ipt.rules)
	}
}
