package main

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/testbed"
)

// TestDist runs 'make dist' (without the image: image-tar writes under
// bin/, which other tests build at the same time) and checks what it
// made with the tools a user has: sha256sum -c, the ELF headers and build
// settings, the arm64 binary under qemu-user replaying every fixture to
// the amd64 binary's output, dpkg-deb on the .debs, rpm on the .rpms, and
// the krew manifest against its archives.
func TestDist(t *testing.T) {
	testbed.Require(t, "make", "sha256sum", "qemu-aarch64-static", "dpkg-deb", "rpm", "kubectl")
	dist := t.TempDir()
	mk := exec.Command("make", "-C", "../..", "dist", "DIST="+dist, "DIST_IMAGE=")
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make dist: %v\n%s", err, out)
	}
	if out, err := cmdIn(dist, "sha256sum", "-c", "SHA256SUMS"); err != nil || strings.Count(out, ": OK") < 9 {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	amd, arm := filepath.Join(dist, "ksdoctor-linux-amd64"), filepath.Join(dist, "ksdoctor-linux-arm64")
	checkStaticELF(t, amd, elf.EM_X86_64, "amd64")
	checkStaticELF(t, arm, elf.EM_AARCH64, "arm64")
	t.Run("arm64 under qemu replays every fixture as amd64", func(t *testing.T) { replayBoth(t, amd, arm) })
	t.Run("deb", func(t *testing.T) { checkDebs(t, dist) })
	t.Run("rpm", func(t *testing.T) { checkRPMs(t, dist) })
	t.Run("krew", func(t *testing.T) { checkKrewRelease(t, dist) })
}

func cmdIn(dir, name string, args ...string) (string, error) {
	c := exec.Command(name, args...)
	c.Dir = dir
	out, err := c.CombinedOutput()
	return string(out), err
}

// checkStaticELF: the right machine, no interpreter (static), no symbol
// table (-s), built with CGO_ENABLED=0, -trimpath and -s -w.
func checkStaticELF(t *testing.T, path string, machine elf.Machine, goarch string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s: machine %v, want %v", path, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has an interpreter: not static", path)
		}
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s keeps its symbol table", path)
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOARCH": goarch, "GOOS": "linux"}
	for _, s := range bi.Settings {
		if v, ok := want[s.Key]; ok && v == s.Value {
			delete(want, s.Key)
		}
		if s.Key == "-ldflags" && !strings.Contains(s.Value, "-s -w") {
			t.Errorf("%s: -ldflags %q", path, s.Value)
		}
	}
	if len(want) > 0 {
		t.Errorf("%s: build settings missing %v", path, want)
	}
}

// measured drops what a replay measures (the sweep's and each check's
// duration, in JSON and text, and the padding that follows a duration's
// width): it differs between two runs of one binary too.
func measured(report string) string {
	report = regexp.MustCompile(`"durationMs": [0-9.e-]+|[0-9]+(\.[0-9]+)? ms\b`).ReplaceAllString(report, "")
	return regexp.MustCompile(` +`).ReplaceAllString(report, " ")
}

// replayBoth replays every fixture with both binaries, the arm64 one under
// qemu-user: same exit code, same text and JSON reports, what is measured
// aside.
func replayBoth(t *testing.T, amd, arm string) {
	snaps, err := filepath.Glob("../../fixtures/*/snapshot.json")
	if err != nil || len(snaps) == 0 {
		t.Fatalf("fixtures: %v", err)
	}
	for _, s := range snaps {
		for _, format := range []string{"text", "json"} {
			a := runArgv(t, []string{amd, "sweep", "--from", s, "--format", format})
			b := runArgv(t, []string{"qemu-aarch64-static", arm, "sweep", "--from", s, "--format", format})
			if a.code != b.code || a.stderr != b.stderr || measured(a.stdout) != measured(b.stdout) {
				t.Errorf("%s --format %s: amd64 code %d, arm64 code %d\n--- amd64\n%s%s\n--- arm64\n%s%s", s, format, a.code, b.code, a.stdout, a.stderr, b.stdout, b.stderr)
			}
			if format == "text" && a.stdout == "" {
				t.Errorf("%s: empty report", s)
			}
		}
	}
}

// packageFiles are the paths every package installs.
var packageFiles = []string{"/usr/bin/ksdoctor", "/usr/bin/kubectl-ksdoctor", "/usr/share/man/man1/ksdoctor.1.gz",
	"/usr/share/man/man1/ksdoctor-sweep.1.gz", "/usr/share/bash-completion/completions/ksdoctor",
	"/usr/share/zsh/vendor-completions/_ksdoctor", "/usr/share/fish/vendor_completions.d/ksdoctor.fish"}

func checkDebs(t *testing.T, dist string) {
	for arch, bin := range map[string]string{"amd64": "ksdoctor-linux-amd64", "arm64": "ksdoctor-linux-arm64"} {
		debs, _ := filepath.Glob(filepath.Join(dist, "ksdoctor_*_"+arch+".deb"))
		if len(debs) != 1 {
			t.Fatalf("%s: debs %v", arch, debs)
		}
		for field, want := range map[string]string{"Package": "ksdoctor", "Architecture": arch, "Section": "admin", "Homepage": "https://github.com/ksdoctor/ksdoctor"} {
			out, err := exec.Command("dpkg-deb", "--field", debs[0], field).Output()
			if err != nil || strings.TrimSpace(string(out)) != want {
				t.Errorf("%s: %s %q, want %q (%v)", debs[0], field, out, want, err)
			}
		}
		if out, _ := exec.Command("dpkg-deb", "--field", debs[0], "Version").Output(); !regexp.MustCompile(`^\d+\.\d+\.\d+`).Match(out) {
			t.Errorf("%s: Version %q", debs[0], out)
		}
		list, err := exec.Command("dpkg-deb", "--contents", debs[0]).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range packageFiles {
			if !bytes.Contains(list, []byte(" ."+p)) {
				t.Errorf("%s does not install %s:\n%s", debs[0], p, list)
			}
		}
		if !regexp.MustCompile(`-rwxr-xr-x root/root .* ./usr/bin/ksdoctor\n`).Match(list) || !bytes.Contains(list, []byte("./usr/bin/kubectl-ksdoctor -> /usr/bin/ksdoctor")) {
			t.Errorf("%s: modes or link:\n%s", debs[0], list)
		}
		x := t.TempDir()
		if out, err := exec.Command("dpkg-deb", "--extract", debs[0], x).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb -x: %v %s", err, out)
		}
		sameFile(t, filepath.Join(x, "usr/bin/ksdoctor"), filepath.Join(dist, bin))
	}
}

func checkRPMs(t *testing.T, dist string) {
	for arch, rpmArch := range map[string]string{"amd64": "x86_64", "arm64": "aarch64"} {
		rpms, _ := filepath.Glob(filepath.Join(dist, "ksdoctor-*."+rpmArch+".rpm"))
		if len(rpms) != 1 {
			t.Fatalf("%s: rpms %v", arch, rpms)
		}
		// The digests inside the package (there is no signature to check).
		if out, err := exec.Command("rpm", "--checksig", "--nosignature", rpms[0]).CombinedOutput(); err != nil || !strings.Contains(string(out), "digests OK") {
			t.Errorf("rpm -K %s: %v %s", rpms[0], err, out)
		}
		out, err := exec.Command("rpm", "-qp", "--queryformat", "%{NAME} %{ARCH} %{OS} %{URL}", rpms[0]).Output()
		if err != nil || string(out) != "ksdoctor "+rpmArch+" linux https://github.com/ksdoctor/ksdoctor" {
			t.Errorf("rpm -qp %s: %q %v", rpms[0], out, err)
		}
		list, err := exec.Command("rpm", "-qplv", rpms[0]).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range packageFiles {
			if !bytes.Contains(list, []byte(" "+p)) {
				t.Errorf("%s does not install %s:\n%s", rpms[0], p, list)
			}
		}
		if !regexp.MustCompile(`-rwxr-xr-x .*root +root .* /usr/bin/ksdoctor\n`).Match(list) || !bytes.Contains(list, []byte("/usr/bin/kubectl-ksdoctor -> /usr/bin/ksdoctor")) {
			t.Errorf("%s: modes or link:\n%s", rpms[0], list)
		}
	}
}

// checkKrewRelease: the filled manifest passes krew's rules, names each
// archive by its sha256, and the amd64 archive, unpacked as krew does and
// linked as kubectl-ksdoctor, runs under the real kubectl.
func checkKrewRelease(t *testing.T, dist string) {
	data, err := os.ReadFile(filepath.Join(dist, "ksdoctor.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validateKrew("ksdoctor", data); err != nil {
		t.Fatalf("dist/ksdoctor.yaml: %v\n%s", err, data)
	}
	sums, _ := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	for _, arch := range []string{"amd64", "arm64"} {
		m := regexp.MustCompile(`([0-9a-f]{64})  ksdoctor_linux_` + arch + `\.tar\.gz`).FindSubmatch(sums)
		if m == nil || !bytes.Contains(data, []byte("sha256: "+string(m[1]))) {
			t.Errorf("%s: the manifest does not carry the archive's sum", arch)
		}
	}
	x := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", filepath.Join(dist, "ksdoctor_linux_amd64.tar.gz"), "-C", x).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	sameFile(t, filepath.Join(x, "ksdoctor"), filepath.Join(dist, "ksdoctor-linux-amd64"))
	binDir := t.TempDir()
	if err := os.Symlink(filepath.Join(x, "ksdoctor"), filepath.Join(binDir, pluginName)); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("kubectl", "ksdoctor", "explain", "docker.exited-containers")
	c.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := c.CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "docker.exited-containers: ") {
		t.Errorf("kubectl ksdoctor from the krew archive: %v\n%s", err, out)
	}
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	da, errA := os.ReadFile(a)
	db, errB := os.ReadFile(b)
	if errA != nil || errB != nil || !bytes.Equal(da, db) {
		t.Errorf("%s differs from %s (%v %v)", a, b, errA, errB)
	}
}
