package act

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/coreos/go-iptables/iptables"

	"github.com/ksdoctor/ksdoctor/diag"
)

// IPTables is the part of iptables the executor uses. go-iptables'
// *iptables.IPTables (the iptables binary run with argv, never a shell, in
// the calling thread's network namespace) is the implementation for nodes.
type IPTables interface {
	Exists(table, chain string, rulespec ...string) (bool, error)
	Insert(table, chain string, pos int, rulespec ...string) error
	Append(table, chain string, rulespec ...string) error
	DeleteIfExists(table, chain string, rulespec ...string) error
}

// iptables returns the executor's IPTables, or go-iptables for IPv4.
func (e *Executor) iptables() (IPTables, error) {
	if e.IPTables != nil {
		return e.IPTables, nil
	}
	ipt, err := iptables.New()
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	return ipt, nil
}

// addIPTablesRule adds one rule unless "iptables -C" finds it already:
// applying twice adds one rule. Undo deletes the rule it added.
func addIPTablesRule(_ context.Context, e *execution, st diag.Step) (effect, error) {
	r := st.IPTablesRule
	if r == nil || r.Table == "" || r.Chain == "" || len(r.Rule) == 0 {
		return effect{}, errors.New("step has no iptables rule")
	}
	if err := validRule(r); err != nil {
		return effect{}, err
	}
	ipt, err := e.iptables()
	if err != nil {
		return effect{}, err
	}
	show := fmt.Sprintf("-t %s %s %s", r.Table, r.Chain, strings.Join(r.Rule, " "))
	ok, err := ipt.Exists(r.Table, r.Chain, r.Rule...)
	if err != nil {
		return effect{}, fmt.Errorf("check rule %s: %w", show, err)
	}
	if ok {
		return noop("rule already present: " + show), nil
	}
	if r.Position > 0 {
		err = ipt.Insert(r.Table, r.Chain, r.Position, r.Rule...)
	} else {
		err = ipt.Append(r.Table, r.Chain, r.Rule...)
	}
	if err != nil {
		return effect{}, fmt.Errorf("add rule %s: %w", show, err)
	}
	undo := func(context.Context) error {
		if err := ipt.DeleteIfExists(r.Table, r.Chain, r.Rule...); err != nil {
			return fmt.Errorf("delete rule %s: %w", show, err)
		}
		return nil
	}
	return done("added "+show, undo), nil
}

// ruleTables are the tables a rule may name.
var ruleTables = map[string]bool{"filter": true, "nat": true, "mangle": true, "raw": true, "security": true}

// valueOptions are the rule options that take a value.
var valueOptions = map[string]bool{
	"-s": true, "--source": true, "-d": true, "--destination": true, "-i": true, "--in-interface": true,
	"-o": true, "--out-interface": true, "-p": true, "--protocol": true, "-j": true, "--jump": true,
	"-g": true, "--goto": true, "-m": true, "--match": true, "--comment": true, "--to-source": true,
	"--to-destination": true, "--to-ports": true, "--src-type": true, "--dst-type": true, "--ctstate": true,
	"--state": true, "--dport": true, "--sport": true, "--set-mark": true, "--mark": true,
}

// validRule refuses a rule whose table is unknown, whose chain or option
// values look like options (a chain or interface named "-F" or
// "--flush"), or that holds control characters: what iptables receives is
// argv, and no value may be read as a flag.
func validRule(r *diag.IPTablesRule) error {
	if !ruleTables[r.Table] {
		return fmt.Errorf("iptables rule: unknown table %q", r.Table)
	}
	bad := func(v string) bool {
		return v == "" || strings.HasPrefix(v, "-") || strings.ContainsAny(v, "\x00\n\r\t ")
	}
	if bad(r.Chain) {
		return fmt.Errorf("iptables rule: chain %q looks like an option or is not a name", r.Chain)
	}
	for i, tok := range r.Rule {
		if strings.ContainsAny(tok, "\x00\n\r") {
			return fmt.Errorf("iptables rule: argument %d holds control characters", i+1)
		}
		if i > 0 && valueOptions[r.Rule[i-1]] && strings.HasPrefix(tok, "-") {
			return fmt.Errorf("iptables rule: the value of %s, %q, looks like an option", r.Rule[i-1], tok)
		}
	}
	return nil
}

// setSysctl writes a value under the host root's /proc/sys, which is the
// network namespace of this process for net.* keys. Undo writes the old
// value back.
func setSysctl(_ context.Context, e *execution, st diag.Step) (effect, error) {
	c := st.Sysctl
	if c == nil || c.Key == "" || strings.Contains(c.Key, "..") {
		return effect{}, errors.New("step has no valid sysctl")
	}
	// In place, never created, never through a symlink: /proc/sys holds none.
	root, p := e.root(), c.ProcPath()
	old, err := root.ReadExisting(p, maxSysctl)
	if err != nil {
		return effect{}, fmt.Errorf("read %s: %w", c.Key, err)
	}
	prev := strings.TrimSpace(string(old))
	if prev == c.Value {
		return noop(fmt.Sprintf("%s is already %s", c.Key, c.Value)), nil
	}
	if err := root.WriteExisting(p, []byte(c.Value+"\n")); err != nil {
		return effect{}, fmt.Errorf("set %s=%s: %w", c.Key, c.Value, err)
	}
	now, err := root.ReadExisting(p, maxSysctl)
	if err != nil || strings.TrimSpace(string(now)) != c.Value {
		return effect{}, fmt.Errorf("set %s=%s: the kernel kept %q", c.Key, c.Value, strings.TrimSpace(string(now)))
	}
	undo := func(context.Context) error {
		if err := root.WriteExisting(p, []byte(prev+"\n")); err != nil {
			return fmt.Errorf("restore %s=%s: %w", c.Key, prev, err)
		}
		return nil
	}
	return done(fmt.Sprintf("%s: %s → %s", c.Key, prev, c.Value), undo), nil
}

// maxSysctl bounds what is read of one /proc/sys file.
const maxSysctl = 64 << 10

// SysctlFileContent is what the persist step writes.
func SysctlFileContent(c diag.SysctlChange) []byte {
	return []byte(fmt.Sprintf("# Written by ksdoctor (remediation of %s).\n%s = %s\n", c.Key, c.Key, c.Value))
}

// persistSysctl writes the sysctl.d file atomically. A different existing
// file is first copied to FILE.ksdoctor-backup-TIMESTAMP beside it; undo
// puts the old content back (or removes the new file).
func persistSysctl(_ context.Context, e *execution, st diag.Step) (effect, error) {
	c := st.Sysctl
	if c == nil || c.File == "" || !strings.HasPrefix(c.File, "/etc/sysctl.d/") || strings.Contains(c.File, "..") {
		return effect{}, errors.New("step has no sysctl.d file to write")
	}
	root := e.root()
	want := SysctlFileContent(*c)
	old, err := root.ReadFile(c.File)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return effect{}, fmt.Errorf("read %s: %w", c.File, err)
	}
	if existed && bytes.Equal(old, want) {
		return noop(c.File + " already sets " + c.Key + " = " + c.Value), nil
	}
	if err := root.MkdirAll(path.Dir(c.File), 0o755); err != nil {
		return effect{}, fmt.Errorf("create %s: %w", path.Dir(c.File), err)
	}
	// A link is written at its target inside the host root; the backup goes beside it.
	target, err := root.Resolve(c.File)
	if err != nil {
		return effect{}, fmt.Errorf("write %s: %w", c.File, err)
	}
	detail := "wrote " + c.File
	if target != c.File {
		detail += " (at its link target " + target + ")"
	}
	if existed {
		backup := target + ".ksdoctor-backup-" + time.Now().UTC().Format("20060102T150405.000000000Z")
		if err := root.WriteNew(backup, old, 0o600); err != nil {
			return effect{}, fmt.Errorf("back up %s: %w", c.File, err)
		}
		detail += " (old content backed up to " + backup + ")"
	}
	if _, err := root.WriteFile(target, want, 0o644); err != nil {
		return effect{}, fmt.Errorf("write %s: %w", c.File, err)
	}
	undo := func(context.Context) error {
		if existed {
			_, err := root.WriteFile(target, old, 0o644)
			return err
		}
		if err := root.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", target, err)
		}
		return nil
	}
	return done(detail, undo), nil
}
