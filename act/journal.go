package act

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/hostfs"
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

// Record appends rec to the journal under the host root, as one line written with one
// write on a file opened for appending, then fsynced.
func (e *Executor) Record(rec JournalRecord) error {
	p, root := JournalPath, e.root()
	if err := root.MkdirAll(path.Dir(p), 0o700); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("journal: encode: %w", err)
	}
	f, err := root.OpenAppend(p, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("journal: write %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("journal: fsync %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
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
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r JournalRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			errs = append(errs, fmt.Errorf("%s line %d: %w", p, n, err))
			continue
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read journal: %w", err))
	}
	return out, errors.Join(errs...)
}
