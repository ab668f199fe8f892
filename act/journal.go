package act

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
	"github.com/ksdoctor/ksdoctor/redact"
)

// JournalPath is where applied remediations are recorded, as the node sees it.
const JournalPath = "/var/lib/ksdoctor/journal.jsonl"

// JournalRecord is one applied remediation: one JSON line of the journal.
type JournalRecord struct {
	Time          time.Time `json:"time"`
	RemediationID string    `json:"remediationId"`
	Title         string    `json:"title"`
	FindingID     string    `json:"findingId,omitempty"`
	Risk          diag.Risk `json:"risk,omitempty"`
	// Outcome is "verified", "unverified", "rolled back", "failed", "timed out"
	// (the fix's deadline passed: Steps say which were unknown or not started,
	// Error whether the rollback finished) or "nothing to do".
	Outcome      string              `json:"outcome"`
	Error        string              `json:"error,omitempty"`
	VerifyDetail string              `json:"verifyDetail,omitempty"`
	DurationMs   float64             `json:"durationMs"`
	Steps        []JournalStep       `json:"steps"`
	Files        []JournalFileChange `json:"files,omitempty"`
}

// JournalStep is one step as applied.
type JournalStep struct {
	Kind        diag.StepKind    `json:"kind"`
	Description string           `json:"description"`
	Outcome     diag.StepOutcome `json:"outcome"`
	Detail      string           `json:"detail,omitempty"`
}

// JournalFileChange is a file a remediation edited: before and after by hash, the diff,
// and where the backup is (in the step detail).
type JournalFileChange struct {
	Path         string `json:"path"`
	BeforeSHA256 string `json:"beforeSha256,omitempty"`
	AfterSHA256  string `json:"afterSha256"`
	Diff         string `json:"diff,omitempty"`
	Outcome      string `json:"outcome"`
	Detail       string `json:"detail,omitempty"`
}

// NewJournalRecord builds the record of an applied remediation.
func NewJournalRecord(findingID string, rem diag.Remediation, res *diag.ApplyResult) JournalRecord {
	rec := JournalRecord{
		Time: res.StartedAt, RemediationID: rem.ID, Title: rem.Title, FindingID: findingID, Risk: rem.Risk,
		Error: res.Error, VerifyDetail: res.VerifyDetail, DurationMs: res.DurationMs,
	}
	switch {
	case res.TimedOut:
		rec.Outcome = "timed out"
	case res.RolledBack && res.Count(diag.OutcomeDone) > 0:
		rec.Outcome = "rolled back"
	case res.Error != "":
		rec.Outcome = "failed"
	case res.Count(diag.OutcomeDone) == 0:
		rec.Outcome = "nothing to do"
	case res.Verified:
		rec.Outcome = "verified"
	default:
		rec.Outcome = "unverified"
	}
	for _, s := range res.Steps {
		rec.Steps = append(rec.Steps, JournalStep{Kind: s.Step.Kind, Description: s.Step.Description, Outcome: s.Outcome, Detail: s.Detail})
		if f := s.Step.File; f != nil {
			rec.Files = append(rec.Files, JournalFileChange{
				Path: f.Path, BeforeSHA256: f.BeforeSHA256, AfterSHA256: sha256Hex([]byte(f.Content)),
				Diff: f.Diff, Outcome: string(s.Outcome), Detail: s.Detail,
			})
		}
	}
	return rec
}

// Record appends rec to the journal under the host root: secrets masked,
// one line appended whole and fsynced, or nothing (see appendRecord).
func (e *Executor) Record(rec JournalRecord) error {
	p, root := JournalPath, e.root()
	if err := root.MkdirAll(path.Dir(p), 0o700); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	line, err := json.Marshal(redact.Report(rec))
	if err != nil {
		return fmt.Errorf("journal: encode: %w", err)
	}
	f, err := root.OpenAppend(p, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	// 0600 whatever mode an older journal had: it holds diffs of node
	// configuration.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	if err := appendRecord(f, line); err != nil {
		f.Close()
		return fmt.Errorf("journal: %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// appendRecord appends line and a newline to the journal f (opened for
// appending) whole or not at all: under an exclusive lock, it
// notes where the file ends, closes a torn last line left by a crash,
// writes and fsyncs; when the write or the fsync fails (ENOSPC), it
// truncates the file back to where it ended, so no partial record is left
// to eat the next one.
func appendRecord(f *os.File, line []byte) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	end := fi.Size()
	buf := make([]byte, 0, len(line)+2)
	if end > 0 && lastByte(f, end) != '\n' {
		buf = append(buf, '\n') // close the torn line; readers skip it
	}
	buf = append(append(buf, line...), '\n')
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		if terr := f.Truncate(end); terr != nil {
			return fmt.Errorf("%w; and taking the partial record back failed: %v", err, terr)
		}
		_ = f.Sync()
		return fmt.Errorf("append (the journal is as it was): %w", err)
	}
	return nil
}

// lastByte reads the byte before end through a read-only view of f (which
// is open for writing only); when it cannot, it answers 0, and the record
// starts on a new line anyway (readers skip blank lines).
func lastByte(f *os.File, end int64) byte {
	r, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return 0
	}
	defer r.Close()
	b := make([]byte, 1)
	if _, err := r.ReadAt(b, end-1); err != nil {
		return 0
	}
	return b[0]
}

// maxJournal bounds what is read of the journal.
const maxJournal = 1 << 30

// ReadJournal reads the journal under hostRoot; a missing journal is empty. A line that
// does not parse (a torn last line after a crash) is reported, the others are kept.
func ReadJournal(hostRoot string) ([]JournalRecord, error) {
	p := JournalPath
	data, err := hostfs.New(hostRoot).ReadFileLimit(p, maxJournal)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	var out []JournalRecord
	var errs []error
	// Line by line with no length limit: a bad line, however long, is
	// reported and every later record kept.
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r JournalRecord
		if err := json.Unmarshal(line, &r); err != nil {
			errs = append(errs, fmt.Errorf("%s: line %d unreadable: %w", p, n, err))
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}
