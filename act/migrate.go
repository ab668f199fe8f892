package act

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
	"github.com/ksdoctor/ksdoctor/hostfs"
)

// lister is the part of the Docker client the migration uses to compare what Docker
// holds before and after.
type lister interface {
	ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error)
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
}

// RsyncCopy copies a directory tree preserving hard links, ACLs, xattrs, sparse files,
// ownership and permissions: rsync -aHAXS --numeric-ids -- FROM/ TO/ (a path is never an option).
func RsyncCopy(ctx context.Context, from, to string) error {
	out, err := exec.CommandContext(ctx, "rsync", "-aHAXS", "--numeric-ids", "--", from+"/", to+"/").CombinedOutput()
	if err != nil {
		return fmt.Errorf("rsync %s to %s: %w: %s", from, to, err, strings.TrimSpace(tail(string(out), 600)))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// treeStats counts the entries of a tree under the host root and the apparent bytes of
// its regular files.
func treeStats(root hostfs.Root, dir string) (files, bytes int64, err error) {
	top := hostfs.FSName(dir)
	err = fs.WalkDir(root.FS(), top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == top {
			return nil
		}
		files++
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			bytes += fi.Size()
		}
		return nil
	})
	return files, bytes, err
}

func inventory(ctx context.Context, l lister) ([]string, error) {
	ims, err := l.ImageList(ctx, image.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	cs, err := l.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []string
	for _, im := range ims {
		out = append(out, "image "+im.ID)
	}
	for _, c := range cs {
		out = append(out, "container "+c.ID)
	}
	slices.Sort(out)
	return out, nil
}

// migrateDataRoot moves Docker's data-root: stop docker; copy; verify file count and
// bytes; move the old directory to the backup name; point dockerd at the new one (edit or
// symlink); start docker; verify the same images and containers are there. Any failure
// puts everything back as it was and starts docker on the old data-root. The backup is
// kept.
func migrateDataRoot(ctx context.Context, e *Executor, st diag.Step) (diag.StepOutcome, string, func(context.Context) error, error) {
	m := st.Migration
	if m == nil {
		return "", "", nil, errors.New("step has no migration")
	}
	root := e.root()
	from, to, backup := m.From, m.To, m.Backup
	if _, err := root.Stat(backup); err == nil {
		if cur := dockerconf.Resolve(root.FS(), nil); m.Symlink || dataRoot(cur) == m.To {
			return diag.OutcomeNoop, fmt.Sprintf("already moved to %s (backup %s)", m.To, m.Backup), nil, nil
		}
	}
	if ents, err := root.ReadDir(to); err == nil && len(ents) > 0 {
		return "", "", nil, fmt.Errorf("%s is not empty: refusing to copy into it", m.To)
	}
	l, ok := e.Docker.(lister)
	if !ok || e.Docker == nil {
		return "", "", nil, errors.New("the Docker API is needed to compare images and containers before and after")
	}
	sm, err := e.services(ctx)
	if err != nil {
		return "", "", nil, err
	}
	copyTree := e.CopyTree
	if copyTree == nil {
		if _, err := exec.LookPath("rsync"); err != nil {
			return "", "", nil, errors.New("rsync is not installed: it copies the data-root preserving hard links, xattrs and sparse files")
		}
		copyTree = RsyncCopy
	}
	before, err := inventory(ctx, l)
	if err != nil {
		return "", "", nil, err
	}
	unit := dockerconf.UnitName

	// Progress, for putting things back.
	var (
		createdTo, copied, moved, pointed, started bool
		socketStopped                              bool
		editUndo                                   func(context.Context) error
	)
	revert := func(cause error) error {
		ctx := context.WithoutCancel(ctx)
		var errs []error
		if started {
			if err := sm.Stop(ctx, unit); err != nil {
				errs = append(errs, err)
			}
		}
		if pointed {
			if m.Symlink {
				if err := root.Remove(from); err != nil {
					errs = append(errs, fmt.Errorf("remove symlink %s: %w", m.From, err))
				}
			} else if editUndo != nil {
				if err := editUndo(ctx); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if moved {
			if err := root.Rename(backup, from); err != nil {
				errs = append(errs, fmt.Errorf("move %s back to %s: %w", m.Backup, m.From, err))
			}
		}
		if copied || createdTo {
			if err := emptyDir(root, to); err != nil {
				errs = append(errs, err)
			}
			if createdTo {
				_ = root.Remove(to)
			}
		}
		if err := sm.DaemonReload(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := sm.Start(ctx, unit); err != nil {
			errs = append(errs, fmt.Errorf("start docker on the old data-root: %w", err))
		} else if err := waitReady(ctx, e); err != nil {
			errs = append(errs, err)
		}
		if socketStopped {
			if err := sm.Start(ctx, dockerSocket); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%w; putting things back also failed: %v", cause, errors.Join(errs...))
		}
		return fmt.Errorf("%w (everything was put back: docker runs on %s)", cause, m.From)
	}

	// docker.socket would start dockerd again at the first API call (kubelet makes
	// many) in the middle of the copy: stop it too (a node without it is fine).
	socketStopped = sm.Stop(ctx, dockerSocket) == nil
	if err := sm.Stop(ctx, unit); err != nil {
		if socketStopped {
			_ = sm.Start(context.WithoutCancel(ctx), dockerSocket)
		}
		return "", "", nil, fmt.Errorf("stop docker: %w", err)
	}
	if _, err := root.Stat(to); errors.Is(err, fs.ErrNotExist) {
		if err := root.MkdirAll(to, 0o711); err != nil {
			return "", "", nil, revert(fmt.Errorf("create %s: %w", m.To, err))
		}
		createdTo = true
	}
	copied = true
	// rsync takes paths: both resolved inside the host root first.
	hostFrom, err := root.HostPath(from)
	if err != nil {
		return "", "", nil, revert(err)
	}
	hostTo, err := root.HostPath(to)
	if err != nil {
		return "", "", nil, revert(err)
	}
	if err := copyTree(ctx, hostFrom, hostTo); err != nil {
		return "", "", nil, revert(err)
	}
	fFiles, fBytes, err := treeStats(root, from)
	if err != nil {
		return "", "", nil, revert(fmt.Errorf("count %s: %w", m.From, err))
	}
	tFiles, tBytes, err := treeStats(root, to)
	if err != nil {
		return "", "", nil, revert(fmt.Errorf("count %s: %w", m.To, err))
	}
	if fFiles != tFiles || fBytes != tBytes {
		return "", "", nil, revert(fmt.Errorf("copy differs: %s has %d entries, %d bytes; %s has %d entries, %d bytes", m.From, fFiles, fBytes, m.To, tFiles, tBytes))
	}
	// A data-root that is a mount point cannot be renamed: it stays where it
	// is, holding the old data as the backup (Backup is empty then).
	if m.Backup != "" {
		if err := root.Rename(from, backup); err != nil {
			return "", "", nil, revert(fmt.Errorf("move %s to %s: %w", m.From, m.Backup, err))
		}
		moved = true
	}
	if m.Symlink {
		if err := root.Symlink(m.To, from); err != nil {
			return "", "", nil, revert(fmt.Errorf("symlink %s to %s: %w", m.From, m.To, err))
		}
		pointed = true
	} else if m.Edit != nil {
		_, _, undo, err := editFile(ctx, e, diag.Step{File: m.Edit})
		pointed, editUndo = true, undo
		if err != nil {
			return "", "", nil, revert(err)
		}
		if f := dockerconf.Resolve(root.FS(), nil); f.StartError != "" || dataRoot(f) != m.To {
			return "", "", nil, revert(fmt.Errorf("the edited configuration does not give data-root %s: %s", m.To, f.StartError))
		}
	}
	if err := sm.DaemonReload(ctx); err != nil {
		return "", "", nil, revert(err)
	}
	started = true
	if err := sm.Start(ctx, unit); err != nil {
		return "", "", nil, revert(fmt.Errorf("start docker on %s: %w", m.To, err))
	}
	if err := waitReady(ctx, e); err != nil {
		return "", "", nil, revert(err)
	}
	if socketStopped {
		if err := sm.Start(ctx, dockerSocket); err != nil {
			return "", "", nil, revert(fmt.Errorf("start %s: %w", dockerSocket, err))
		}
	}
	after, err := inventory(ctx, l)
	if err != nil {
		return "", "", nil, revert(err)
	}
	if !slices.Equal(before, after) {
		return "", "", nil, revert(fmt.Errorf("docker on %s lists other images or containers than before (%d before, %d after)", m.To, len(before), len(after)))
	}
	kept := m.Backup
	if kept == "" {
		kept = m.From + " (a mount point, left in place)"
	}
	return diag.OutcomeDone, fmt.Sprintf("moved %d entries (%s) to %s; same %d images and containers; old data-root kept at %s (%s): remove it when satisfied",
		tFiles, diag.FormatBytes(tBytes), m.To, len(after), kept, diag.FormatBytes(fBytes)), nil, nil
}

// dockerSocket is the socket unit that activates docker.service.
const dockerSocket = "docker.socket"

func dataRoot(f *diag.DockerConfFacts) string {
	if o, ok := diag.Option(f.OnDisk, "data-root"); ok {
		return o.Value
	}
	return "/var/lib/docker"
}

// emptyDir removes everything inside dir, under the host root.
func emptyDir(root hostfs.Root, dir string) error {
	ents, err := root.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	for _, en := range ents {
		if err := root.RemoveAll(path.Join(dir, en.Name())); err != nil {
			return fmt.Errorf("clean %s: %w", dir, err)
		}
	}
	return nil
}

func waitReady(ctx context.Context, e *Executor) error {
	_, _, _, err := waitDockerReady(ctx, e, diag.Step{})
	return err
}
