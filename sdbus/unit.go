package sdbus

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// UnitState is a service unit as systemd holds it (its D-Bus properties).
type UnitState struct {
	Name        string
	LoadState   string
	ActiveState string
	SubState    string
	// Result is the service's last result: success, exit-code, signal,
	// start-limit-hit, …
	Result         string
	FragmentPath   string
	DropInPaths    []string
	ExecMainPID    uint32
	ExecMainStatus int32
	NRestarts      uint32
	// StartLimitBurst starts are allowed per StartLimitInterval.
	StartLimitBurst    uint32
	StartLimitInterval time.Duration
	NeedDaemonReload   bool
	Environment        []string
	EnvironmentFiles   []string
	// ExecStart holds each command line systemd will run, argv[0] first.
	ExecStart [][]string
	// ReadError says why the properties could not be read.
	ReadError string
	// Journal holds the unit's last journal lines, when read.
	Journal []string
}

// InStartLimit reports whether systemd refuses to start the unit until
// reset-failed ("start of the service was attempted too often").
func (u *UnitState) InStartLimit() bool { return u != nil && u.Result == "start-limit-hit" }

// Summary is one line for results and journals.
func (u *UnitState) Summary() string {
	if u == nil {
		return "unit state unknown"
	}
	if u.ReadError != "" {
		return "unit state unreadable: " + u.ReadError
	}
	s := fmt.Sprintf("%s is %s (%s), result %s", u.Name, u.ActiveState, u.SubState, u.Result)
	if u.ExecMainStatus != 0 {
		s += fmt.Sprintf(", main process exited with status %d", u.ExecMainStatus)
	}
	if u.NRestarts > 0 {
		s += fmt.Sprintf(", restarted %d times by systemd", u.NRestarts)
	}
	if u.InStartLimit() {
		s += fmt.Sprintf(", start limit hit (%d starts per %s)", u.StartLimitBurst, u.StartLimitInterval)
	}
	return s
}

func unitStateFrom(name string, unit, svc map[string]any) *UnitState {
	u := &UnitState{Name: name}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	u.LoadState = str(unit, "LoadState")
	u.ActiveState = str(unit, "ActiveState")
	u.SubState = str(unit, "SubState")
	u.FragmentPath = str(unit, "FragmentPath")
	u.DropInPaths, _ = unit["DropInPaths"].([]string)
	u.StartLimitBurst, _ = unit["StartLimitBurst"].(uint32)
	if us, ok := unit["StartLimitIntervalUSec"].(uint64); ok {
		u.StartLimitInterval = time.Duration(us) * time.Microsecond
	}
	u.NeedDaemonReload, _ = unit["NeedDaemonReload"].(bool)
	u.Result = str(svc, "Result")
	u.ExecMainPID, _ = svc["ExecMainPID"].(uint32)
	u.ExecMainStatus, _ = svc["ExecMainStatus"].(int32)
	u.NRestarts, _ = svc["NRestarts"].(uint32)
	u.Environment, _ = svc["Environment"].([]string)
	if files, ok := svc["EnvironmentFiles"].([][]any); ok {
		for _, f := range files {
			if len(f) == 2 {
				p, _ := f[0].(string)
				if opt, _ := f[1].(bool); opt {
					p = "-" + p
				}
				u.EnvironmentFiles = append(u.EnvironmentFiles, p)
			}
		}
	}
	if cmds, ok := svc["ExecStart"].([][]any); ok {
		for _, c := range cmds {
			if len(c) >= 2 {
				if argv, ok := c[1].([]string); ok {
					u.ExecStart = append(u.ExecStart, argv)
				}
			}
		}
	}
	return u
}

// UnitError is a service job that did not end "done", with what systemd
// said about the unit afterwards.
type UnitError struct {
	Verb, Unit string
	// Result is the job's result (failed, timeout, dependency, …) when it ran.
	Result string
	// Err is why the job could not be queued or awaited.
	Err   error
	State *UnitState
}

func (e *UnitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Verb, e.Unit)
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		fmt.Fprintf(&b, "job %s", e.Result)
	}
	if e.State != nil {
		b.WriteString("; " + e.State.Summary())
		if len(e.State.Journal) > 0 {
			b.WriteString("; last journal lines:\n  " + strings.Join(e.State.Journal, "\n  "))
		}
	}
	return b.String()
}

func (e *UnitError) Unwrap() error { return e.Err }

// JournalTail returns the last n journal lines of unit, read from the journal
// files under hostRoot with journalctl (argv only; empty when unavailable).
func JournalTail(ctx context.Context, hostRoot, unit string, n int) []string {
	args := []string{"--no-pager", "--quiet", "-o", "short-iso", "-n", fmt.Sprint(n), "-u", unit}
	if root := filepath.Clean(hostRoot); root != "/" {
		args = append([]string{"--root", root}, args...)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "journalctl", args...).Output()
	if err != nil && len(out) == 0 {
		return nil
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
