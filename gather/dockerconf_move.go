package gather

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
)

// measureMove measures the data-root and the directory the user asked to move it to.
func measureMove(ctx context.Context, g *Gatherer, from, to string) *diag.DataRootMoveFacts {
	m := &diag.DataRootMoveFacts{From: from, To: filepath.Clean(to)}
	if !filepath.IsAbs(to) {
		m.Error = fmt.Sprintf("%s is not an absolute path", to)
		return m
	}
	root := g.Root()
	if ents, err := root.ReadDir(m.To); err == nil {
		m.ToExists, m.ToEmpty = true, len(ents) == 0
	} else if !errors.Is(err, fs.ErrNotExist) {
		m.Error = fmt.Sprintf("read %s: %v", m.To, err)
		return m
	} else {
		m.ToEmpty = true
	}
	// The filesystem of To, or of its nearest existing parent.
	probe := m.To
	for {
		if _, err := root.Stat(probe); err == nil {
			break
		}
		parent := path.Dir(probe)
		if parent == probe {
			break
		}
		probe = parent
	}
	st, err := root.Statfs(probe)
	if err != nil {
		m.Error = err.Error()
		return m
	}
	m.ToFreeBytes = st.Bavail * uint64(st.Bsize)
	fromSt, fromErr := root.Statfs(from)
	if fromErr == nil {
		a, aerr := root.Stat(from)
		b, berr := root.Stat(probe)
		if aerr == nil && berr == nil {
			m.SameFilesystem = a.Sys().(*syscall.Stat_t).Dev == b.Sys().(*syscall.Stat_t).Dev
		}
	}
	// Walking a big data-root can take longer than the source may: past the budget the
	// filesystem's used space stands in for the data-root's size.
	deadline := time.Now().Add(moveWalkBudget)
	err = fs.WalkDir(root.FS(), hostfs.FSName(from), func(p string, d fs.DirEntry, err error) error {
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
