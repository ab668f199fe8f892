package testbed

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// BenchDocEnv names the file the benchmarks write their sections into
// (`make bench` sets it to docs/bench.md); unset, they only log.
const BenchDocEnv = "KSDOCTOR_BENCH_DOC"

// LoadAvg returns the 1, 5 and 15 minute load averages ("7.15 11.36 11.63").
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// BenchMachine describes this machine for a benchmark report: cores, CPU model,
// memory, kernel, Go version.
func BenchMachine() string {
	model, mem := runtime.GOARCH, "?"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	var u syscall.Utsname
	kernel := "?"
	if syscall.Uname(&u) == nil {
		var sb strings.Builder
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			sb.WriteByte(byte(c))
		}
		kernel = sb.String()
	}
	return fmt.Sprintf("%d cores (%s), %s memory, Linux %s, %s", runtime.NumCPU(), model, mem, kernel, runtime.Version())
}

// Run is one timed run of a command: wall clock, CPU (user+system of the
// process and the children it waited for) and peak RSS (the largest of
// them), with the load average when it started.
type Run struct {
	Wall, CPU time.Duration
	MaxRSSKB  int64
	Load      string
}

// TimeCmd runs cmd to the end and measures it. A failed command is an
// error carrying its output, unless ok accepts its exit code.
//
// The peak RSS comes from GNU time (/usr/bin/time -f %M) wrapped around
// the command: the rusage of a child this (big) process starts directly
// counts this process's own resident memory, which Linux carries over
// into the child's maximum at exec after Go's vfork-style clone.
func TimeCmd(cmd *exec.Cmd, ok func(code int) bool) (Run, []byte, error) {
	r := Run{Load: LoadAvg()}
	rssFile := ""
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		f, err := os.CreateTemp("", "ksdt-rss-")
		if err != nil {
			return r, nil, err
		}
		f.Close()
		rssFile = f.Name()
		defer os.Remove(rssFile)
		cmd.Args = append([]string{"/usr/bin/time", "-f", "%M", "-o", rssFile, cmd.Path}, cmd.Args[1:]...)
		cmd.Path = "/usr/bin/time"
	}
	var out strings.Builder
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &out
	}
	start := time.Now()
	err := cmd.Run()
	r.Wall = time.Since(start)
	if ps := cmd.ProcessState; ps != nil {
		r.CPU = ps.UserTime() + ps.SystemTime()
		if ru, isRU := ps.SysUsage().(*syscall.Rusage); isRU && rssFile == "" {
			r.MaxRSSKB = ru.Maxrss // an upper bound (see above)
		}
	}
	if rssFile != "" {
		if b, err := os.ReadFile(rssFile); err == nil {
			lines := strings.Fields(string(b))
			if len(lines) > 0 {
				r.MaxRSSKB, _ = strconv.ParseInt(lines[len(lines)-1], 10, 64)
			}
		}
	}
	if err != nil {
		code := -1
		if ps := cmd.ProcessState; ps != nil {
			code = ps.ExitCode()
		}
		if ok == nil || !ok(code) {
			return r, []byte(out.String()), fmt.Errorf("%s: %w\n%.2000s", strings.Join(cmd.Args, " "), err, out.String())
		}
	}
	return r, []byte(out.String()), nil
}

// Median returns the median of xs (the mean of the middle two for an even
// count) and the smallest and largest.
func Median(xs []float64) (med, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}

// WriteBenchSection replaces the section name of the bench report (between
// `<!-- bench-NAME: begin -->` and `<!-- bench-NAME: end -->`, appended
// when absent) with body, when BenchDocEnv names the report; other
// sections are left alone. It returns the file written ("" when none).
func WriteBenchSection(name, body string) (string, error) {
	path := os.Getenv(BenchDocEnv)
	if path == "" {
		return "", nil
	}
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%s must be an absolute path, got %q", BenchDocEnv, path)
	}
	// Benchmarks of several packages may finish at once: one writer at a time.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "ksdoctor-bench-doc.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	doc := "# ksdoctor benchmarks\n\nEach section is written by its `make` target; figures are from one run on the machine named in it.\n"
	if b, err := os.ReadFile(path); err == nil {
		doc = string(b)
	} else if !os.IsNotExist(err) {
		return "", err
	}
	begin, end := "<!-- bench-"+name+": begin -->", "<!-- bench-"+name+": end -->"
	block := begin + "\n" + strings.TrimRight(body, "\n") + "\n" + end
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i >= 0 && j > i {
		doc = doc[:i] + block + doc[j+len(end):]
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + block + "\n"
	}
	return path, os.WriteFile(path, []byte(doc), 0o644)
}

// BenchPairs is the number of alternating pairs (or rounds) per size:
// KSDOCTOR_BENCH_PAIRS, else def.
func BenchPairs(def int) int {
	if n, err := strconv.Atoi(os.Getenv("KSDOCTOR_BENCH_PAIRS")); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchSizes picks the sizes to run from all: KSDOCTOR_BENCH_SIZES="1,3"
// runs the first and the third; unset, all of them.
func BenchSizes[T any](all []T) []T {
	v := os.Getenv("KSDOCTOR_BENCH_SIZES")
	if v == "" {
		return all
	}
	var out []T
	for _, f := range strings.Split(v, ",") {
		if i, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && i >= 1 && i <= len(all) {
			out = append(out, all[i-1])
		}
	}
	return out
}

// WallMedian is the median wall time of runs, in seconds.
func WallMedian(runs []Run) float64 {
	xs := make([]float64, 0, len(runs))
	for _, r := range runs {
		xs = append(xs, r.Wall.Seconds())
	}
	m, _, _ := Median(xs)
	return m
}

// MaxRSS is the largest peak RSS of runs, in KiB.
func MaxRSS(runs []Run) int64 {
	var m int64
	for _, r := range runs {
		m = max(m, r.MaxRSSKB)
	}
	return m
}

// MetOrNot words a goal's verdict.
func MetOrNot(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

// ReadReport reads a sweep's JSON report that a benchmark had the binary
// write with -o.
func ReadReport(tb testing.TB, path string) diag.Report {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var rep diag.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		tb.Fatalf("report %s: %v", path, err)
	}
	return rep
}
