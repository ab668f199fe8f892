package act

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ksdoctor/ksdoctor/atomicfile"
	"github.com/ksdoctor/ksdoctor/diag"
)

// HostPath maps a path as the node sees it to the path this process opens.
func (e *Executor) HostPath(p string) string {
	root := e.HostRoot
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, p)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// backupName is the timestamped backup beside path.
func backupName(path string, now time.Time) string {
	return fmt.Sprintf("%s.ksdoctor-%s.bak", path, now.UTC().Format("20060102T150405.000000000Z"))
}

// editFile replaces a file's content when it still holds what the preview was made from.
// The old content is copied to a timestamped backup beside the file first (mode and owner
// kept), the new content is written atomically with the file's mode and owner, and the
// undo writes the backup back (or removes a file the step created).
func editFile(_ context.Context, e *Executor, st diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	fe := st.File
	if fe == nil {
		return "", "", nil, errors.New("step has no file")
	}
	p := e.HostPath(fe.Path)
	cur, err := os.ReadFile(p)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", nil, fmt.Errorf("read %s: %w", fe.Path, err)
	}
	want := []byte(fe.Content)
	if exists && sha256Hex(cur) == sha256Hex(want) {
		return diag.OutcomeNoop, fe.Path + " already has the new content", nil, nil
	}
	switch {
	case fe.BeforeSHA256 == "" && exists:
		return "", "", nil, fmt.Errorf("%s exists now but did not when the change was previewed: refusing to overwrite it", fe.Path)
	case fe.BeforeSHA256 != "" && !exists:
		return "", "", nil, fmt.Errorf("%s was removed since the change was previewed: refusing", fe.Path)
	case fe.BeforeSHA256 != "" && sha256Hex(cur) != fe.BeforeSHA256:
		return "", "", nil, fmt.Errorf("%s changed since the change was previewed: refusing (sweep again to see it)", fe.Path)
	}
	if !exists {
		mode := os.FileMode(fe.Mode)
		if mode == 0 {
			mode = 0o644
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", "", nil, fmt.Errorf("create directory of %s: %w", fe.Path, err)
		}
		if err := atomicfile.Write(p, want, mode); err != nil {
			return "", "", nil, err
		}
		undo := func(context.Context) error {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", fe.Path, err)
			}
			return nil
		}
		return diag.OutcomeDone, "created " + fe.Path, undo, nil
	}
	backup := backupName(p, time.Now())
	if err := atomicfile.Write(backup, cur, 0o600); err != nil {
		return "", "", nil, fmt.Errorf("back up %s: %w", fe.Path, err)
	}
	if err := copyOwnerMode(p, backup); err != nil {
		return "", "", nil, err
	}
	if err := atomicfile.Write(p, want, 0o644); err != nil {
		return "", "", nil, err
	}
	nodeBackup := backupName(fe.Path, time.Time{})
	if rel, err := filepath.Rel(e.HostPath("/"), backup); err == nil {
		nodeBackup = "/" + rel
	}
	undo := func(context.Context) error {
		old, err := os.ReadFile(backup)
		if err != nil {
			return fmt.Errorf("read backup of %s: %w", fe.Path, err)
		}
		if err := atomicfile.Write(p, old, 0o644); err != nil {
			return fmt.Errorf("restore %s: %w", fe.Path, err)
		}
		return nil
	}
	return diag.OutcomeDone, fmt.Sprintf("edited %s (backup %s)", fe.Path, nodeBackup), undo, nil
}

// copyOwnerMode gives dst the mode and owner of src.
func copyOwnerMode(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if err := os.Chmod(dst, fi.Mode().Perm()); err != nil {
		return fmt.Errorf("chmod backup: %w", err)
	}
	chownLike(dst, fi)
	return nil
}
