package gather

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ksdoctor/ksdoctor/diag"
)

// measureMove measures the data-root and the directory the user asked to move it to.
func measureMove(ctx context.Context, g *Gatherer, from, to string) *diag.DataRootMoveFacts {
	m := &diag.DataRootMoveFacts{From: from, To: filepath.Clean(to)}
	if !filepath.IsAbs(to) {
		m.Error = fmt.Sprintf("%s is not an absolute path", to)
		return m
	}
	hostTo := g.HostPath(m.To)
	if ents, err := os.ReadDir(hostTo); err == nil {
		m.ToExists, m.ToEmpty = true, len(ents) == 0
	} else if !os.IsNotExist(err) {
		m.Error = fmt.Sprintf("read %s: %v", m.To, err)
		return m
	} else {
		m.ToEmpty = true
	}
	// The filesystem of To, or of its nearest existing parent.
	probe := hostTo
	for {
		if _, err := os.Stat(probe); err == nil {
			break
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			break
		}
		probe = parent
	}
	var st, fromSt syscall.Statfs_t
	if err := syscall.Statfs(probe, &st); err != nil {
		m.Error = fmt.Sprintf("statfs %s: %v", probe, err)
		return m
	}
	m.ToFreeBytes = st.Bavail * uint64(st.Bsize)
	hostFrom := g.HostPath(from)
	if err := syscall.Statfs(hostFrom, &fromSt); err == nil {
		var a, b syscall.Stat_t
		if syscall.Stat(hostFrom, &a) == nil && syscall.Stat(probe, &b) == nil {
			m.SameFilesystem = a.Dev == b.Dev
		}
	}
	err := filepath.WalkDir(hostFrom, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		m.FromFiles++
		if d.Type().IsRegular() || d.IsDir() {
			if fi, err := d.Info(); err == nil {
				if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
					m.FromBytes += sys.Blocks * 512
				}
			}
		}
		return nil
	})
	if err != nil {
		m.Error = fmt.Sprintf("measure %s: %v", from, err)
	}
	return m
}
