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

// migrateDataRoot moves Docker's data-root in named phases: preflight
// (nothing touched yet), stop, copy, verify, switch, start. Each phase
// returns its own undo, also when it fails half-way; a failure undoes every
// phase done so far, newest first, which puts everything back as it was and
// starts docker on the old data-root. The backup is kept.
func migrateDataRoot(ctx context.Context, e *execution, st diag.Step) (effect, error) {
	mg, already, err := newMigration(ctx, e, st.Migration)
	if err != nil || already != "" {
		return noop(already), err
	}
	phases := []struct {
		name string
		run  func(context.Context) (undoFunc, error)
	}{
		{"stop", mg.stop},
		{"copy", mg.copy},
		{"verify", mg.verify},
		{"switch", mg.switchOver},
		{"start", mg.start},
	}
	var undos undoStack
	for _, p := range phases {
		undo, err := p.run(ctx)
		undos.push(undo)
		if err != nil {
			return effect{}, mg.putBack(ctx, fmt.Errorf("%s: %w", p.name, err), undos)
		}
	}
	m := mg.m
	kept := m.Backup
	if kept == "" {
		kept = m.From + " (a mount point, left in place)"
	}
	return done(fmt.Sprintf("moved %d entries (%s) to %s; same %d images and containers; old data-root kept at %s (%s): remove it when satisfied",
		mg.copied.files, diag.FormatBytes(mg.copied.bytes), m.To, len(mg.before), kept, diag.FormatBytes(mg.source.bytes)), nil), nil
}

// migration is one data-root move in progress.
type migration struct {
	e        *execution
	m        *diag.DataRootMove
	root     hostfs.Root
	sm       ServiceManager
	l        lister
	copyTree func(ctx context.Context, from, to string) error
	// before is what Docker held before the move (images and containers).
	before []string
	// source and copied count the old tree and the copy (verify).
	source, copied tree
	// socketStopped: docker.socket was running and stop stopped it.
	socketStopped bool
}

// tree counts the entries of a directory tree and its regular files' bytes.
type tree struct{ files, bytes int64 }

// newMigration is the preflight: it checks, before anything is touched,
// that the move is needed (already is the detail when it was done before),
// that the target is empty, and that the Docker API, the service manager
// and a copy tool are there; it takes Docker's inventory.
func newMigration(ctx context.Context, e *execution, m *diag.DataRootMove) (mg *migration, already string, err error) {
	if m == nil {
		return nil, "", errors.New("step has no migration")
	}
	root := e.root()
	if _, err := root.Stat(m.Backup); err == nil {
		if cur := dockerconf.Resolve(root.FS(), nil); m.Symlink || dataRoot(cur) == m.To {
			return nil, fmt.Sprintf("already moved to %s (backup %s)", m.To, m.Backup), nil
		}
	}
	if ents, err := root.ReadDir(m.To); err == nil && len(ents) > 0 {
		return nil, "", fmt.Errorf("%s is not empty: refusing to copy into it", m.To)
	}
	l, ok := e.Docker.(lister)
	if !ok || e.Docker == nil {
		return nil, "", errors.New("the Docker API is needed to compare images and containers before and after")
	}
	sm, err := e.services(ctx)
	if err != nil {
		return nil, "", err
	}
	copyTree := e.CopyTree
	if copyTree == nil {
		if _, err := exec.LookPath("rsync"); err != nil {
			return nil, "", errors.New("rsync is not installed: it copies the data-root preserving hard links, xattrs and sparse files")
		}
		if link := root.ProcLink(); link != "" {
			return nil, "", fmt.Errorf("the host root %s goes through %s, a link of /proc into a mount namespace: rsync would resolve the link's text itself, in this process's own mount namespace, not the node's; give the node's / as a plain mount (a pod's hostPath / at /host)", root.Dir(), link)
		}
		copyTree = RsyncCopy
	}
	before, err := inventory(ctx, l)
	if err != nil {
		return nil, "", err
	}
	return &migration{e: e, m: m, root: root, sm: sm, l: l, copyTree: copyTree, before: before}, "", nil
}

// stop stops docker.socket and docker.service: the socket would start
// dockerd again at the first API call (kubelet makes many) in the middle of
// the copy (a node without the socket is fine). Undo reloads the units and
// starts docker (and its socket) again, and waits for the API.
func (mg *migration) stop(ctx context.Context) (undoFunc, error) {
	mg.socketStopped = mg.sm.Stop(ctx, dockerSocket) == nil
	undo := func(ctx context.Context) error {
		var errs []error
		if err := mg.sm.DaemonReload(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := mg.sm.Start(ctx, dockerconf.UnitName); err != nil {
			errs = append(errs, fmt.Errorf("start docker on the old data-root: %w", err))
		} else if err := waitReady(ctx, mg.e); err != nil {
			errs = append(errs, err)
		}
		if mg.socketStopped {
			if err := mg.sm.Start(ctx, dockerSocket); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	if err := mg.sm.Stop(ctx, dockerconf.UnitName); err != nil {
		return undo, fmt.Errorf("stop docker: %w", err)
	}
	return undo, nil
}

// copy creates the target if needed and copies the tree into it (rsync
// takes paths: both are resolved inside the host root first). Undo empties
// the target and removes it when the copy created it.
func (mg *migration) copy(ctx context.Context) (undoFunc, error) {
	m, root := mg.m, mg.root
	createdTo := false
	if _, err := root.Stat(m.To); errors.Is(err, fs.ErrNotExist) {
		if err := root.MkdirAll(m.To, 0o711); err != nil {
			return nil, fmt.Errorf("create %s: %w", m.To, err)
		}
		createdTo = true
	}
	undo := func(context.Context) error {
		if err := emptyDir(root, m.To); err != nil {
			return err
		}
		if createdTo {
			_ = root.Remove(m.To)
		}
		return nil
	}
	hostFrom, err := root.HostPath(m.From)
	if err != nil {
		return undo, err
	}
	hostTo, err := root.HostPath(m.To)
	if err != nil {
		return undo, err
	}
	return undo, mg.copyTree(ctx, hostFrom, hostTo)
}

// verify compares the copy with the source: entries and bytes. It changes
// nothing, so it has nothing to undo.
func (mg *migration) verify(context.Context) (undoFunc, error) {
	m := mg.m
	var err error
	if mg.source.files, mg.source.bytes, err = treeStats(mg.root, m.From); err != nil {
		return nil, fmt.Errorf("count %s: %w", m.From, err)
	}
	if mg.copied.files, mg.copied.bytes, err = treeStats(mg.root, m.To); err != nil {
		return nil, fmt.Errorf("count %s: %w", m.To, err)
	}
	if mg.source != mg.copied {
		return nil, fmt.Errorf("copy differs: %s has %d entries, %d bytes; %s has %d entries, %d bytes",
			m.From, mg.source.files, mg.source.bytes, m.To, mg.copied.files, mg.copied.bytes)
	}
	return nil, nil
}

// switchOver moves the old directory to the backup name and points dockerd
// at the new one: a symlink in the old place, or the configuration edited
// (and checked to give the new data-root). A data-root that is a mount
// point cannot be renamed: it stays where it is, holding the old data as
// the backup (Backup is empty then). Undo points back and moves the old
// directory back.
func (mg *migration) switchOver(ctx context.Context) (undoFunc, error) {
	m, root := mg.m, mg.root
	var undos undoStack
	if m.Backup != "" {
		if err := root.Rename(m.From, m.Backup); err != nil {
			return nil, fmt.Errorf("move %s to %s: %w", m.From, m.Backup, err)
		}
		undos.push(func(context.Context) error {
			if err := root.Rename(m.Backup, m.From); err != nil {
				return fmt.Errorf("move %s back to %s: %w", m.Backup, m.From, err)
			}
			return nil
		})
	}
	switch {
	case m.Symlink:
		if err := root.Symlink(m.To, m.From); err != nil {
			return undos.run, fmt.Errorf("symlink %s to %s: %w", m.From, m.To, err)
		}
		undos.push(func(context.Context) error {
			if err := root.Remove(m.From); err != nil {
				return fmt.Errorf("remove symlink %s: %w", m.From, err)
			}
			return nil
		})
	case m.Edit != nil:
		eff, err := editFile(ctx, mg.e, diag.Step{File: m.Edit})
		undos.push(eff.undo)
		if err != nil {
			return undos.run, err
		}
		if f := dockerconf.Resolve(root.FS(), nil); f.StartError != "" || dataRoot(f) != m.To {
			return undos.run, fmt.Errorf("the edited configuration does not give data-root %s: %s", m.To, f.StartError)
		}
	}
	return undos.run, nil
}

// start reloads the units, starts docker on the new data-root, waits for
// its API, starts its socket, and checks that Docker lists the same images
// and containers as before. Undo stops docker (the stop phase's undo starts
// it again on the old data-root).
func (mg *migration) start(ctx context.Context) (undoFunc, error) {
	if err := mg.sm.DaemonReload(ctx); err != nil {
		return nil, err
	}
	undo := func(ctx context.Context) error { return mg.sm.Stop(ctx, dockerconf.UnitName) }
	if err := mg.sm.Start(ctx, dockerconf.UnitName); err != nil {
		return undo, fmt.Errorf("start docker on %s: %w", mg.m.To, err)
	}
	if err := waitReady(ctx, mg.e); err != nil {
		return undo, err
	}
	if mg.socketStopped {
		if err := mg.sm.Start(ctx, dockerSocket); err != nil {
			return undo, fmt.Errorf("start %s: %w", dockerSocket, err)
		}
	}
	after, err := inventory(ctx, mg.l)
	if err != nil {
		return undo, err
	}
	if !slices.Equal(mg.before, after) {
		return undo, fmt.Errorf("docker on %s lists other images or containers than before (%d before, %d after)", mg.m.To, len(mg.before), len(after))
	}
	return undo, nil
}

// putBack undoes the phases done, newest first, even when the plan's
// deadline passed, and says whether docker runs on the old data-root again.
func (mg *migration) putBack(ctx context.Context, cause error, undos undoStack) error {
	if err := undos.run(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("%w; putting things back also failed: %v", cause, err)
	}
	return fmt.Errorf("%w (everything was put back: docker runs on %s)", cause, mg.m.From)
}

// undoStack collects undo functions; run calls them newest first, all of
// them even when one fails, and joins their errors.
type undoStack []undoFunc

func (u *undoStack) push(f undoFunc) {
	if f != nil {
		*u = append(*u, f)
	}
}

func (u undoStack) run(ctx context.Context) error {
	var errs []error
	for i := len(u) - 1; i >= 0; i-- {
		if err := u[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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

func waitReady(ctx context.Context, e *execution) error {
	_, err := waitDockerReady(ctx, e, diag.Step{})
	return err
}
