package act

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
)

// root is the host root every host path of a step is opened under.
func (e *Executor) root() hostfs.Root {
	return hostfs.New(e.HostRoot)
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
// A file that is a symlink is edited at its target inside the host root and the link stays
// (configuration management often links /etc/docker/daemon.json). The old content is
// copied to a timestamped 0600 backup beside the target first, the new content is written
// atomically with the target's mode and owner, and the undo writes the backup back to the
// target (or removes a file the step created).
func editFile(_ context.Context, e *execution, st diag.Step) (effect, error) {
	fe := st.File
	if fe == nil {
		return effect{}, errors.New("step has no file")
	}
	root := e.root()
	target, err := root.Resolve(fe.Path)
	if errors.Is(err, fs.ErrNotExist) {
		target, err = path.Clean("/"+fe.Path), nil // its directory does not exist yet
	}
	if err != nil {
		return effect{}, fmt.Errorf("read %s: %w", fe.Path, err)
	}
	cur, err := root.ReadFile(target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return effect{}, fmt.Errorf("read %s: %w", fe.Path, err)
	}
	want := []byte(fe.Content)
	if exists && sha256Hex(cur) == sha256Hex(want) {
		return noop(fe.Path + " already has the new content"), nil
	}
	switch {
	case fe.BeforeSHA256 == "" && exists:
		return effect{}, fmt.Errorf("%s exists now but did not when the change was previewed: refusing to overwrite it", fe.Path)
	case fe.BeforeSHA256 != "" && !exists:
		return effect{}, fmt.Errorf("%s was removed since the change was previewed: refusing", fe.Path)
	case fe.BeforeSHA256 != "" && sha256Hex(cur) != fe.BeforeSHA256:
		return effect{}, fmt.Errorf("%s changed since the change was previewed: refusing (sweep again to see it)", fe.Path)
	}
	where := fe.Path
	if target != path.Clean("/"+fe.Path) {
		where = fmt.Sprintf("%s (at its link target %s)", fe.Path, target)
	}
	if !exists {
		mode := os.FileMode(fe.Mode)
		if mode == 0 {
			mode = 0o644
		}
		if err := root.MkdirAll(path.Dir(target), 0o755); err != nil {
			return effect{}, fmt.Errorf("create directory of %s: %w", fe.Path, err)
		}
		if _, err := root.WriteFile(target, want, mode); err != nil {
			return effect{}, err
		}
		undo := func(context.Context) error {
			if err := root.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", target, err)
			}
			return nil
		}
		return done("created "+where, undo), nil
	}
	backup := backupName(target, time.Now())
	if err := root.WriteNew(backup, cur, 0o600); err != nil {
		return effect{}, fmt.Errorf("back up %s: %w", fe.Path, err)
	}
	if _, err := root.WriteFile(target, want, 0o644); err != nil {
		return effect{}, err
	}
	undo := func(context.Context) error {
		old, err := root.ReadFile(backup)
		if err != nil {
			return fmt.Errorf("read backup of %s: %w", fe.Path, err)
		}
		if _, err := root.WriteFile(target, old, 0o644); err != nil {
			return fmt.Errorf("restore %s: %w", target, err)
		}
		return nil
	}
	return done(fmt.Sprintf("edited %s (backup %s)", where, backup), undo), nil
}
