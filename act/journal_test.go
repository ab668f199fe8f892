package act

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/testbed"
)

func journalRecord(i int, pad int) JournalRecord {
	return JournalRecord{
		Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), RemediationID: fmt.Sprintf("x.check/fix-%d", i), Title: "t",
		Outcome: "verified", Files: []JournalFileChange{{Path: "/etc/x", AfterSHA256: "00", Diff: strings.Repeat("+line\n", pad)}},
	}
}

// TestJournalSurvivesFullDisk appends records to a journal on a 256 KiB
// tmpfs until the disk is full, then frees space and appends again: every
// record that was acknowledged, and the one after, must read back, with
// no unreadable line. Without the truncate of a failed append, the torn
// record left by ENOSPC would show up as an unreadable line.
func TestJournalSurvivesFullDisk(t *testing.T) {
	root := testbed.Tmpfs(t, "256k")
	e := &Executor{HostRoot: root}
	// Something to delete later, so the disk can be freed.
	filler := filepath.Join(root, "filler")
	if err := os.WriteFile(filler, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	acked, failed := 0, 0
	for i := 0; failed < 3 && i < 1000; i++ {
		// Records of varying size, so one is cut in the middle.
		err := e.Record(journalRecord(i, 500+i*37%900))
		switch {
		case err == nil:
			acked++
		case errors.Is(err, syscall.ENOSPC):
			failed++
		default:
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if failed == 0 || acked == 0 {
		t.Fatalf("the disk never filled (%d acknowledged, %d failed)", acked, failed)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := e.Record(journalRecord(9999, 10)); err != nil {
		t.Fatalf("append after freeing space: %v", err)
	}
	recs, err := ReadJournal(root)
	if err != nil {
		t.Fatalf("journal has unreadable lines: %v", err)
	}
	if len(recs) != acked+1 || recs[len(recs)-1].RemediationID != "x.check/fix-9999" {
		t.Fatalf("read %d records, want the %d acknowledged and the last one", len(recs), acked)
	}
}

// TestJournalTornLineIsReportedAndSkipped: a torn line in the middle (an
// older writer, a crash) is reported by number, the records after it are
// kept, and an append after a torn last line starts a new line.
func TestJournalTornLineIsReportedAndSkipped(t *testing.T) {
	root := t.TempDir()
	e := &Executor{HostRoot: root}
	if err := e.Record(journalRecord(1, 1)); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(root, JournalPath), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2026-01-01T00:00:00Z","remediationId":"torn`)
	f.Close()
	for i := 2; i <= 3; i++ {
		if err := e.Record(journalRecord(i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := ReadJournal(root)
	if err == nil || !strings.Contains(err.Error(), "line 2 unreadable") {
		t.Errorf("want line 2 reported unreadable, got %v", err)
	}
	if len(recs) != 3 || recs[2].RemediationID != "x.check/fix-3" {
		t.Fatalf("got %d records, want 3", len(recs))
	}
}

// TestJournalMasksSecrets: what the journal keeps is masked.
func TestJournalMasksSecrets(t *testing.T) {
	root := t.TempDir()
	e := &Executor{HostRoot: root}
	// An older journal left world-readable.
	jp := filepath.Join(root, JournalPath)
	os.MkdirAll(filepath.Dir(jp), 0o755)
	os.WriteFile(jp, nil, 0o644)
	os.Chmod(jp, 0o644)
	rec := journalRecord(1, 0)
	rec.Files[0].Diff = "+Environment=\"HTTP_PROXY=http://ops:s3cr3t-pw@proxy:3128\"\n"
	rec.Error = "dial tcp://u:hunter2-pw@10.0.0.1:2376: refused"
	if err := e.Record(rec); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(root, JournalPath))
	if strings.Contains(string(data), "s3cr3t-pw") || strings.Contains(string(data), "hunter2-pw") {
		t.Fatalf("journal keeps a secret: %s", data)
	}
	if fi, _ := os.Stat(filepath.Join(root, JournalPath)); fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v", fi.Mode().Perm())
	}
}
