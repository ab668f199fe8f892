package act

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
	"github.com/ksdoctor/ksdoctor/sdbus"
)

// unitReader is a service manager that can say how it resolved a unit.
type unitReader interface {
	Unit(ctx context.Context, unit string) (*sdbus.UnitState, error)
}

// failedResetter is a service manager that can clear a unit's start limit.
type failedResetter interface {
	ResetFailed(ctx context.Context, unit string) error
}

// checkUnitAgrees asks systemd how it resolved unit and compares that with
// ksdoctor's own resolution of the files on disk: the fragment, the drop-ins
// (by file identity, so /lib and /usr/lib are one place on merged-/usr
// systems) and the Environment= assignments. Before a restart, a difference
// means ksdoctor's plan rests on a model systemd does not share: refuse.
func checkUnitAgrees(ctx context.Context, e *Executor, sm ServiceManager, unit string) error {
	r, ok := sm.(unitReader)
	if !ok || unit != dockerconf.UnitName {
		return nil
	}
	u, err := r.Unit(ctx, unit)
	if err != nil {
		return fmt.Errorf("ask systemd how it resolved %s: %w", unit, err)
	}
	facts := dockerconf.Resolve(e.root().FS(), nil)
	if diffs := unitDifferences(e, u, facts.Unit); len(diffs) > 0 {
		return fmt.Errorf("systemd and ksdoctor resolve %s differently, refusing to restart on a model systemd does not share: %s", unit, strings.Join(diffs, "; "))
	}
	return nil
}

// unitDifferences lists where systemd's view u and ksdoctor's ours differ.
func unitDifferences(e *Executor, u *sdbus.UnitState, ours *diag.DockerUnit) []string {
	if ours == nil {
		if u.LoadState == "loaded" {
			return []string{fmt.Sprintf("systemd loaded %s, ksdoctor found no unit file", u.FragmentPath)}
		}
		return nil
	}
	var diffs []string
	if !e.sameFile(u.FragmentPath, ours.Path) {
		diffs = append(diffs, fmt.Sprintf("unit file: systemd %s, ksdoctor %s", u.FragmentPath, ours.Path))
	}
	sd := e.fileIDs(u.DropInPaths)
	ks := e.fileIDs(ours.DropIns)
	if !slices.Equal(sd, ks) {
		diffs = append(diffs, fmt.Sprintf("drop-ins: systemd [%s], ksdoctor [%s]", strings.Join(u.DropInPaths, " "), strings.Join(ours.DropIns, " ")))
	}
	var env []string
	for _, v := range ours.Env {
		if v.At.File == ours.Path || slices.Contains(ours.DropIns, v.At.File) {
			env = append(env, v.Name+"="+v.Value)
		}
	}
	if !sameAssignments(u.Environment, env) {
		diffs = append(diffs, fmt.Sprintf("Environment=: systemd %q, ksdoctor %q", u.Environment, env))
	}
	return diffs
}

// sameAssignments compares two lists of NAME=value as systemd applies them:
// the last assignment of a name wins.
func sameAssignments(a, b []string) bool {
	last := func(l []string) map[string]string {
		m := map[string]string{}
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		return m
	}
	ma, mb := last(a), last(b)
	if len(ma) != len(mb) {
		return false
	}
	for k, v := range ma {
		if w, ok := mb[k]; !ok || w != v {
			return false
		}
	}
	return true
}

type fileID struct{ dev, ino uint64 }

// fileIDs identifies each node path under the host root (unreadable ones by name).
func (e *Executor) fileIDs(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if id, ok := e.fileID(p); ok {
			out = append(out, fmt.Sprint(id))
		} else {
			out = append(out, p)
		}
	}
	return out
}

func (e *Executor) sameFile(a, b string) bool {
	if a == b {
		return true
	}
	ia, oka := e.fileID(a)
	ib, okb := e.fileID(b)
	return oka && okb && ia == ib
}

func (e *Executor) fileID(p string) (fileID, bool) {
	if p == "" {
		return fileID{}, false
	}
	fi, err := e.root().Stat(p)
	if err != nil {
		return fileID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), st.Ino}, true
}
