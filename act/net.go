package act

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coreos/go-iptables/iptables"

	"github.com/ksdoctor/ksdoctor/atomicfile"
	"github.com/ksdoctor/ksdoctor/diag"
)

// addIPTablesRule adds one rule through go-iptables (argv, never a shell)
// unless "iptables -C" finds it already: applying twice adds one rule.
// Undo deletes the rule it added.
func addIPTablesRule(_ context.Context, _ *Executor, st diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	r := st.IPTablesRule
	if r == nil || r.Table == "" || r.Chain == "" || len(r.Rule) == 0 {
		return "", "", nil, errors.New("step has no iptables rule")
	}
	ipt, err := iptables.New()
	if err != nil {
		return "", "", nil, fmt.Errorf("iptables: %w", err)
	}
	show := fmt.Sprintf("-t %s %s %s", r.Table, r.Chain, strings.Join(r.Rule, " "))
	ok, err := ipt.Exists(r.Table, r.Chain, r.Rule...)
	if err != nil {
		return "", "", nil, fmt.Errorf("check rule %s: %w", show, err)
	}
	if ok {
		return diag.OutcomeNoop, "rule already present: " + show, nil, nil
	}
	if r.Position > 0 {
		err = ipt.Insert(r.Table, r.Chain, r.Position, r.Rule...)
	} else {
		err = ipt.Append(r.Table, r.Chain, r.Rule...)
	}
	if err != nil {
		return "", "", nil, fmt.Errorf("add rule %s: %w", show, err)
	}
	undo := func(context.Context) error {
		if err := ipt.DeleteIfExists(r.Table, r.Chain, r.Rule...); err != nil {
			return fmt.Errorf("delete rule %s: %w", show, err)
		}
		return nil
	}
	return diag.OutcomeDone, "added " + show, undo, nil
}

// setSysctl writes a value under the host root's /proc/sys, which is the
// network namespace of this process for net.* keys. Undo writes the old
// value back.
func setSysctl(_ context.Context, e *Executor, st diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	c := st.Sysctl
	if c == nil || c.Key == "" || strings.Contains(c.Key, "..") {
		return "", "", nil, errors.New("step has no valid sysctl")
	}
	path := filepath.Join(hostRoot(e), c.ProcPath())
	old, err := os.ReadFile(path)
	if err != nil {
		return "", "", nil, fmt.Errorf("read %s: %w", c.Key, err)
	}
	prev := strings.TrimSpace(string(old))
	if prev == c.Value {
		return diag.OutcomeNoop, fmt.Sprintf("%s is already %s", c.Key, c.Value), nil, nil
	}
	if err := os.WriteFile(path, []byte(c.Value+"\n"), 0o644); err != nil {
		return "", "", nil, fmt.Errorf("set %s=%s: %w", c.Key, c.Value, err)
	}
	now, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(now)) != c.Value {
		return "", "", nil, fmt.Errorf("set %s=%s: the kernel kept %q", c.Key, c.Value, strings.TrimSpace(string(now)))
	}
	undo := func(context.Context) error {
		if err := os.WriteFile(path, []byte(prev+"\n"), 0o644); err != nil {
			return fmt.Errorf("restore %s=%s: %w", c.Key, prev, err)
		}
		return nil
	}
	return diag.OutcomeDone, fmt.Sprintf("%s: %s → %s", c.Key, prev, c.Value), undo, nil
}

// SysctlFileContent is what the persist step writes.
func SysctlFileContent(c diag.SysctlChange) []byte {
	return []byte(fmt.Sprintf("# Written by ksdoctor (remediation of %s).\n%s = %s\n", c.Key, c.Key, c.Value))
}

// persistSysctl writes the sysctl.d file atomically. A different existing
// file is first copied to FILE.ksdoctor-backup-TIMESTAMP beside it; undo
// puts the old content back (or removes the new file).
func persistSysctl(_ context.Context, e *Executor, st diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	c := st.Sysctl
	if c == nil || c.File == "" || !strings.HasPrefix(c.File, "/etc/sysctl.d/") || strings.Contains(c.File, "..") {
		return "", "", nil, errors.New("step has no sysctl.d file to write")
	}
	path := filepath.Join(hostRoot(e), c.File)
	want := SysctlFileContent(*c)
	old, err := os.ReadFile(path)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", nil, fmt.Errorf("read %s: %w", c.File, err)
	}
	if existed && bytes.Equal(old, want) {
		return diag.OutcomeNoop, c.File + " already sets " + c.Key + " = " + c.Value, nil, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", "", nil, fmt.Errorf("create %s: %w", filepath.Dir(c.File), err)
	}
	detail := "wrote " + c.File
	if existed {
		backup := path + ".ksdoctor-backup-" + time.Now().UTC().Format("20060102T150405Z")
		if err := atomicfile.Write(backup, old, 0o644); err != nil {
			return "", "", nil, fmt.Errorf("back up %s: %w", c.File, err)
		}
		detail += " (old content backed up to " + strings.TrimPrefix(backup, strings.TrimSuffix(hostRoot(e), "/")) + ")"
	}
	if err := atomicfile.Write(path, want, 0o644); err != nil {
		return "", "", nil, fmt.Errorf("write %s: %w", c.File, err)
	}
	undo := func(context.Context) error {
		if existed {
			return atomicfile.Write(path, old, 0o644)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", c.File, err)
		}
		return nil
	}
	return diag.OutcomeDone, detail, undo, nil
}

func hostRoot(e *Executor) string {
	if e.HostRoot == "" {
		return "/"
	}
	return e.HostRoot
}
