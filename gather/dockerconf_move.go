package gather

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

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
	// Walking a big data-root can take longer than the source may: past the budget the
	// filesystem's used space stands in for the data-root's size.
	deadline := time.Now().Add(moveWalkBudget)
	err := filepath.WalkDir(hostFrom, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if m.FromFiles%1024 == 0 && time.Now().After(deadline) {
			return errWalkBudget
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
	if errors.Is(err, errWalkBudget) && fromSt.Blocks == 0 {
		err = fmt.Errorf("too big to count in time and its filesystem cannot be measured")
	}
	if errors.Is(err, errWalkBudget) {
		m.FromBytes = int64(fromSt.Blocks-fromSt.Bfree) * fromSt.Bsize
		m.FromFiles = int64(fromSt.Files - fromSt.Ffree)
		m.Estimated = true
		err = nil
	}
	if err != nil {
		m.Error = fmt.Sprintf("measure %s: %v", from, err)
	}
	return m
}

// moveWalkBudget bounds the walk that measures a data-root, below the source timeout.
var moveWalkBudget = 2 * time.Second

var errWalkBudget = errors.New("walk budget spent")
