package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestTimeCmdPeakRSS: a big test process does not inflate the peak RSS of
// the small command it times.
func TestTimeCmdPeakRSS(t *testing.T) {
	ballast := make([]byte, 200<<20)
	for i := range ballast {
		ballast[i] = byte(i)
	}
	r, _, err := TimeCmd(exec.Command("true"), nil)
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(ballast)
	if r.MaxRSSKB <= 0 || r.MaxRSSKB > 50<<10 {
		t.Fatalf("peak RSS of true: %d KiB (the test process holds 200 MiB)", r.MaxRSSKB)
	}
	if _, _, err := TimeCmd(exec.Command("false"), nil); err == nil {
		t.Fatal("a failing command is no error")
	}
	if _, _, err := TimeCmd(exec.Command("false"), func(code int) bool { return code == 1 }); err != nil {
		t.Fatalf("exit code 1 accepted: %v", err)
	}
}

func TestWriteBenchSection(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "bench.md")
	t.Setenv(BenchDocEnv, doc)
	for _, body := range []string{"alpha\n", "omega\n"} {
		if _, err := WriteBenchSection("a", body); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := WriteBenchSection("b", "bee"); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, doc)
	if strings.Contains(got, "alpha") || strings.Count(got, "omega") != 1 || !strings.Contains(got, "bee") {
		t.Fatalf("bench doc:\n%s", got)
	}
	if m, lo, hi := Median([]float64{3, 1, 2, 10}); m != 2.5 || lo != 1 || hi != 10 {
		t.Fatalf("Median = %v %v %v", m, lo, hi)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
