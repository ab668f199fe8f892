package dockerconf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// applyUnified applies a unified diff made by UnifiedDiff to old. It is the
// oracle of the diff tests: whatever the diff looks like, it must turn old
// into new.
func applyUnified(old, diff string) (string, error) {
	a := splitLines(old)
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		return "", fmt.Errorf("no header")
	}
	var out []string
	ai := 0
	for k := 2; k < len(lines); {
		var as, al, bs, bl int
		h := lines[k]
		if !strings.HasPrefix(h, "@@ -") {
			return "", fmt.Errorf("line %d: want a hunk header, got %q", k, h)
		}
		f := strings.Fields(h)
		as, al = parseRange(strings.TrimPrefix(f[1], "-"))
		bs, bl = parseRange(strings.TrimPrefix(f[2], "+"))
		_ = bs
		start := as - 1
		if al == 0 {
			start = as
		}
		if start < ai || start > len(a) {
			return "", fmt.Errorf("hunk %q starts at %d, after %d of %d", h, start, ai, len(a))
		}
		out = append(out, a[ai:start]...)
		ai = start
		k++
		gotA, gotB := 0, 0
		for k < len(lines) && !strings.HasPrefix(lines[k], "@@ ") {
			l := lines[k]
			if l == "" {
				return "", fmt.Errorf("empty diff line %d", k)
			}
			switch l[0] {
			case ' ', '-':
				if ai >= len(a) || a[ai] != l[1:] {
					return "", fmt.Errorf("line %d: %q does not match old line %d", k, l, ai+1)
				}
				if l[0] == ' ' {
					out = append(out, l[1:])
					gotB++
				}
				ai++
				gotA++
			case '+':
				out = append(out, l[1:])
				gotB++
			default:
				return "", fmt.Errorf("line %d: %q", k, l)
			}
			k++
		}
		if gotA != al || gotB != bl {
			return "", fmt.Errorf("hunk %q has %d/%d lines", h, gotA, gotB)
		}
	}
	out = append(out, a[ai:]...)
	if len(out) == 0 {
		return "", nil
	}
	return strings.Join(out, "\n") + "\n", nil
}

func parseRange(s string) (int, int) {
	start, n, ok := strings.Cut(s, ",")
	a, _ := strconv.Atoi(start)
	if !ok {
		return a, 1
	}
	b, _ := strconv.Atoi(n)
	return a, b
}

func TestUnifiedDiffApplies(t *testing.T) {
	for _, tt := range []struct{ old, new string }{
		{"a\nb\nc\n", "a\nB\nc\n"},
		{"", "a\n"},
		{"a\n", ""},
		{"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "a\nb\nX\nd\ne\nf\ng\nh\nY\nj\nk\n"},
		{"x\nx\nx\n", "x\nx\n"},
		{"{\n  \"a\": 1\n}\n", "{\n  \"a\": 1,\n  \"log-opts\": {}\n}\n"},
	} {
		d := UnifiedDiff("f", tt.old, tt.new)
		got, err := applyUnified(tt.old, d)
		if err != nil || got != tt.new {
			t.Errorf("diff of %q → %q does not apply (%v): got %q\n%s", tt.old, tt.new, err, got, d)
		}
	}
}

// TestUnifiedDiffMatchesDiffU: on small edits the hunks are those of GNU
// diff -u (the real thing, when installed).
func TestUnifiedDiffMatchesDiffU(t *testing.T) {
	if _, err := exec.LookPath("diff"); err != nil {
		t.Skip("no diff")
	}
	dir := t.TempDir()
	old := "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3,\n  \"d\": 4,\n  \"e\": 5\n}\n"
	new := "{\n  \"a\": 1,\n  \"b\": 20,\n  \"c\": 3,\n  \"d\": 4,\n  \"e\": 5,\n  \"f\": 6\n}\n"
	os.WriteFile(filepath.Join(dir, "old"), []byte(old), 0o600)
	os.WriteFile(filepath.Join(dir, "new"), []byte(new), 0o600)
	out, _ := exec.Command("diff", "-u", filepath.Join(dir, "old"), filepath.Join(dir, "new")).Output()
	want := hunks(string(out))
	if got := hunks(UnifiedDiff("f", old, new)); got != want {
		t.Errorf("hunks differ from diff -u:\n%s\nwant:\n%s", got, want)
	}
}

// hunks drops the two header lines.
func hunks(d string) string {
	lines := strings.SplitN(d, "\n", 3)
	if len(lines) < 3 {
		return ""
	}
	return lines[2]
}

// TestUnifiedDiffLinear: a key added to a 40,000-line daemon.json makes a
// small diff quickly (the old full table needed 40,000² cells).
func TestUnifiedDiffLinear(t *testing.T) {
	old := string(bigDaemonJSON(40000))
	d, err := ParseDaemonJSON([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	edited, err := d.Set("log-opts", map[string]string{"max-size": "100m"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	diff := UnifiedDiff("/etc/docker/daemon.json", old, string(edited))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("diff took %s", took)
	}
	if n := strings.Count(diff, "\n"); n > 15 {
		t.Errorf("diff of one added key has %d lines:\n%s", n, diff)
	}
	if got, err := applyUnified(old, diff); err != nil || got != string(edited) {
		t.Errorf("diff does not apply: %v", err)
	}
	// A middle too big for the table is still a correct diff.
	a := strings.Repeat("a\nb\n", 3000)
	b := strings.Repeat("b\na\n", 3000)
	if got, err := applyUnified(a, UnifiedDiff("f", a, b)); err != nil || got != b {
		t.Errorf("large middle: %v", err)
	}
}

// FuzzUnifiedDiff: every diff applies to its old text and gives the new.
func FuzzUnifiedDiff(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nB\nc\n")
	f.Add("{\n  \"a\": 1\n}\n", "{\n  \"a\": 1,\n  \"b\": 2\n}\n")
	f.Add("", "x\n")
	f.Fuzz(func(t *testing.T, old, new string) {
		// Lines are newline-terminated in the files ksdoctor edits.
		if old != "" && !strings.HasSuffix(old, "\n") || new != "" && !strings.HasSuffix(new, "\n") {
			return
		}
		if strings.Contains(old, "\n\n") || strings.Contains(new, "\n\n") || strings.HasPrefix(old, "\n") || strings.HasPrefix(new, "\n") {
			// An empty line is written as a lone space of context: fine for
			// patch, ambiguous for this simple oracle.
			return
		}
		d := UnifiedDiff("f", old, new)
		if old == new {
			if d != "" {
				t.Fatalf("diff of equal texts: %q", d)
			}
			return
		}
		got, err := applyUnified(old, d)
		if err != nil || got != new {
			t.Fatalf("diff does not apply (%v): got %q want %q\n%s", err, got, new, d)
		}
	})
}
