// Package outfile writes ksdoctor's outputs (reports, snapshots, TUI
// exports) to a path the user named, without destroying what is there:
//
//   - a missing path or a regular file is replaced atomically (temporary
//     file, fsync, rename, directory fsync) and ends mode 0600 whatever
//     mode was there before: reports and snapshots hold node data;
//   - a character device (/dev/null, a terminal) or a FIFO, and any path
//     under /dev or /proc (/dev/stdout, /proc/self/fd/1), is opened and
//     written to as a stream, never created, truncated or replaced;
//   - a symbolic link is followed on purpose (configuration management
//     and users link output paths); what it points to decides as above,
//     and a regular target is replaced in place, keeping the link;
//   - a directory, a socket, a block device or a dangling link is refused
//     with an error that says so.
package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ksdoctor/ksdoctor/atomicfile"
)

// Mode is the mode of every file Write creates or replaces.
const Mode os.FileMode = 0o600

// ErrRefused marks a path Write will not write to.
var ErrRefused = errors.New("refused")

// Write writes data to path as the package documentation describes.
func Write(path string, data []byte) error {
	if path == "" {
		return fmt.Errorf("output path is empty: %w", ErrRefused)
	}
	if streamOnly(path) {
		return stream(path, data)
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return replace(path, data)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	target := path
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err = filepath.EvalSymlinks(path)
		if err != nil {
			return fmt.Errorf("write %s: the symbolic link leads nowhere (%v): %w", path, err, ErrRefused)
		}
		if streamOnly(target) {
			return stream(target, data)
		}
		if fi, err = os.Stat(target); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		return replace(target, data)
	case m&fs.ModeNamedPipe != 0, m&fs.ModeCharDevice != 0:
		return stream(target, data)
	default:
		return fmt.Errorf("write %s: it is %s, not a file: %w", path, kind(m), ErrRefused)
	}
}

// streamOnly tells whether path is under /dev or /proc, where nothing is
// ever created or replaced.
func streamOnly(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	return abs == "/dev" || abs == "/proc" || strings.HasPrefix(abs, "/dev/") || strings.HasPrefix(abs, "/proc/")
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	}
	return "a special file (" + m.Type().String() + ")"
}

// stream writes data to an existing FIFO, character device or /dev,
// /proc path without creating, truncating or replacing it. A FIFO with
// no reader is refused instead of blocking forever.
func stream(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write %s: nothing is there, and nothing is created under /dev or /proc: %w", path, ErrRefused)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	m := fi.Mode()
	flags := os.O_WRONLY | syscall.O_NOCTTY
	switch {
	case m.IsRegular():
		flags |= os.O_APPEND // /dev/stdout redirected to a file
	case m&fs.ModeNamedPipe != 0:
		flags |= syscall.O_NONBLOCK // fail at once when no one reads
	case m&fs.ModeCharDevice != 0:
	default:
		return fmt.Errorf("write %s: it is %s: %w", path, kind(m), ErrRefused)
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		if errors.Is(err, syscall.ENXIO) && m&fs.ModeNamedPipe != 0 {
			return fmt.Errorf("write %s: the FIFO has no reader: %w", path, ErrRefused)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// replace writes data to a temporary file beside path, mode 0600, and
// renames it over path (atomicfile: fsync, rename, directory fsync).
func replace(path string, data []byte) error {
	return atomicfile.WriteMode(path, data, Mode)
}
