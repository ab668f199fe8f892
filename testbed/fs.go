package testbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Tmpfs mounts a tmpfs of the given size ("16m", "1g") on a new directory,
// returns the directory, and unmounts and removes it when the test ends.
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	Require(t)
	dir := newDir(t, "tmpfs")
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		_ = os.Remove(dir)
		t.Fatalf("testbed: mount tmpfs size=%s on %s: %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := removeAll(dir); err != nil {
			t.Errorf("testbed: %v", err)
		}
	})
	return dir
}

// LoopFS makes an ext4 image file of sizeMB megabytes, loop-mounts it on a
// new directory and returns the directory; when the test ends it unmounts
// it, detaches the loop device and removes the image. overlay2 works on it.
func LoopFS(t testing.TB, sizeMB int) string {
	t.Helper()
	Require(t, "mkfs.ext4", "losetup")
	dir := newDir(t, "loop")
	img := dir + ".img"
	mnt := filepath.Join(dir, "m")
	t.Cleanup(func() {
		var errs []error
		errs = append(errs, unmountUnder(mnt), detachLoops(func(back string) bool { return back == img }))
		if left, _ := mountsUnder(dir); len(left) == 0 {
			errs = append(errs, os.RemoveAll(dir))
		}
		errs = append(errs, os.Remove(img))
		if err := errors.Join(errs...); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("testbed: remove loop file system: %v", err)
		}
	})
	f, err := os.Create(img)
	if err == nil {
		err = errors.Join(f.Truncate(int64(sizeMB)<<20), f.Close())
	}
	if err != nil {
		t.Fatalf("testbed: create image: %v", err)
	}
	if _, err := run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", img); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	if _, err := run("mount", "-t", "ext4", "-o", "loop", img, mnt); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	// Keep lost+found out of the way of tests that list the directory.
	_ = os.Remove(filepath.Join(mnt, "lost+found"))
	return mnt
}

// UsedPercent returns the file system usage of dir as df computes it:
// used / (used + available to unprivileged users) * 100.
func UsedPercent(dir string) (float64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	used := float64(st.Blocks-st.Bfree) * float64(st.Bsize)
	avail := float64(st.Bavail) * float64(st.Bsize)
	if used+avail == 0 {
		return 0, fmt.Errorf("statfs %s: no blocks", dir)
	}
	return used / (used + avail) * 100, nil
}

// FillTo writes a filler file (.ksdt-filler-N) into dir until the file
// system's usage, as df reports it (see UsedPercent), is at least percent.
// It fails the test when the file system fills up first (percent 100 is
// reached by filling it completely).
func FillTo(t testing.TB, dir string, percent float64) {
	t.Helper()
	if err := fillTo(dir, percent); err != nil {
		t.Fatalf("testbed: fill %s to %.1f%%: %v", dir, percent, err)
	}
}

func fillTo(dir string, percent float64) error {
	f, err := os.CreateTemp(dir, ".ksdt-filler-")
	if err != nil {
		return fmt.Errorf("create filler: %w", err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for range 1 << 20 {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return fmt.Errorf("statfs: %w", err)
		}
		bs := float64(st.Bsize)
		used := float64(st.Blocks-st.Bfree) * bs
		avail := float64(st.Bavail) * bs
		if used+avail > 0 && used/(used+avail)*100 >= percent {
			return nil
		}
		// Bytes still needed, plus one block for rounding.
		need := int64((percent/100)*(used+avail)-used) + int64(st.Bsize)
		if need > int64(avail) {
			need = int64(avail)
		}
		if need <= 0 {
			if percent >= 100 {
				return nil
			}
			return errors.New("file system is full")
		}
		off, err := f.Seek(0, 2)
		if err != nil {
			return fmt.Errorf("seek filler: %w", err)
		}
		if err := unix.Fallocate(int(f.Fd()), 0, off, need); err != nil {
			if errors.Is(err, unix.ENOSPC) && percent >= 100 {
				return nil
			}
			if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSPC) {
				return fmt.Errorf("fallocate filler: %w", err)
			}
			// Write instead, one chunk at a time.
			n := min(need, int64(len(chunk)))
			if _, err := f.Write(chunk[:n]); err != nil {
				if errors.Is(err, unix.ENOSPC) && percent >= 100 {
					return nil
				}
				if errors.Is(err, unix.ENOSPC) {
					return errors.New("file system is full")
				}
				return fmt.Errorf("write filler: %w", err)
			}
			if err := f.Sync(); err != nil && !strings.Contains(err.Error(), "no space") {
				return fmt.Errorf("sync filler: %w", err)
			}
		}
	}
	return errors.New("gave up")
}

// Bind bind-mounts the directory src on dst (created if missing) and detaches it when the
// test ends, before the test's directories are removed: a host root for a test shows a
// real directory (/proc, a daemon's run directory) without a symlink leaving the root,
// which ksdoctor never follows out.
func Bind(t testing.TB, src, dst string) {
	t.Helper()
	Require(t)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("testbed: bind %s on %s: %v", src, dst, err)
	}
	t.Cleanup(func() {
		// Detached at once even when busy, so nothing ever removes files through it.
		if err := unix.Unmount(dst, unix.MNT_DETACH); err != nil {
			t.Errorf("testbed: unmount %s: %v", dst, err)
		}
	})
}
