package diag

import (
	"fmt"
	"io"
	"os"
)

// Limits on what ksdoctor reads from files the user names: inputs are
// bounded by design, and a file over its limit is refused with a clear
// error, never read in part.
const (
	// MaxConfigFile bounds --config (a few hundred bytes in practice).
	MaxConfigFile = 1 << 20
	// MaxSnapshotFile bounds --from (a node with 2,000 containers and a
	// cluster of 10,000 pods records a few MiB).
	MaxSnapshotFile = 256 << 20
)

// ReadFileLimit reads path whole, refusing it when it is larger than limit
// bytes; what names the file in the error ("configuration file").
func ReadFileLimit(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, tooLarge(path, what, limit, fmt.Sprintf("it is %s", FormatBytes(fi.Size())))
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
	return fmt.Errorf("%s %s is over the %s limit (%s): refused, not read in part", what, path, FormatBytes(limit), is)
}
