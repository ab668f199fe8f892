// Package load reads the files a user names into the model: the
// configuration (--config) and a recorded snapshot (--from). Package diag
// parses and validates their bytes and touches nothing; this package opens
// the paths, bounded so that a file over its limit is refused with a clear
// error, never read in part.
package load

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Limits on what ksdoctor reads from the files the user names.
const (
	// MaxConfigFile bounds --config (a few hundred bytes in practice).
	MaxConfigFile = 1 << 20
	// MaxSnapshotFile bounds --from (a node with 2,000 containers and a
	// cluster of 10,000 pods records a few MiB).
	MaxSnapshotFile = 256 << 20
)

// Config reads the configuration file at path; "" gives the defaults.
func Config(path string) (*diag.Config, error) {
	if path == "" {
		return diag.DefaultConfig(), nil
	}
	data, err := FileLimit(path, MaxConfigFile, "configuration file")
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := diag.ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Snapshot reads a recorded snapshot from path.
func Snapshot(path string) (*diag.Snapshot, error) {
	data, err := FileLimit(path, MaxSnapshotFile, "snapshot")
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	s, err := diag.ReadSnapshot(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// FileLimit reads path whole, refusing it when it is larger than limit
// bytes; what names the file in the error ("configuration file").
func FileLimit(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, tooLarge(path, what, limit, fmt.Sprintf("it is %s", diag.FormatBytes(fi.Size())))
	}
	// Pipes and /dev/stdin have no size: read one byte past the limit.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(path, what, limit, "it is larger")
	}
	return data, nil
}

func tooLarge(path, what string, limit int64, is string) error {
	return fmt.Errorf("%s %s is over the %s limit (%s): refused, not read in part", what, path, diag.FormatBytes(limit), is)
}
