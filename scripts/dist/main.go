// Command dist packages a ksdoctor release (make dist). From the static
// binaries DIR/ksdoctor-linux-{amd64,arm64} and the man pages in
// DIR/.stage/man1 it writes, per architecture, a tar.gz (also the krew
// archive), a .deb and an .rpm (nfpm), then the krew manifest filled in
// for the release (DIR/ksdoctor.yaml) and DIR/SHA256SUMS over every file.
//
// It is a module of its own so that neither nfpm nor krew (whose module
// requires k8s.io/client-go v11.0.0+incompatible) is a dependency of
// ksdoctor.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
	"sigs.k8s.io/krew/pkg/index"
	"sigs.k8s.io/yaml"
)

// arches are the release's architectures (KubeSphere runs on Kunpeng and
// Phytium arm64 nodes as well as amd64).
var arches = []string{"amd64", "arm64"}

type options struct {
	dir, version, krew, nfpmConfig string
	mtime                          time.Time
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "dist: error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("dist", flag.ContinueOnError)
	o := options{}
	fs.StringVar(&o.dir, "dir", "dist", "directory holding ksdoctor-linux-ARCH and .stage/man1; the release is written there")
	fs.StringVar(&o.version, "version", "", "the release version (git describe); not semver: 0.0.0-git.VERSION")
	fs.StringVar(&o.krew, "krew", "deploy/krew/ksdoctor.yaml", "the krew manifest template")
	fs.StringVar(&o.nfpmConfig, "nfpm", "scripts/dist/nfpm.yaml", "the nfpm configuration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.mtime = time.Now().UTC().Truncate(time.Second)
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", epoch, err)
		}
		o.mtime = time.Unix(sec, 0).UTC()
	}
	version := semver(o.version)
	stage := filepath.Join(o.dir, ".stage")
	if err := stageDocs(stage, filepath.Join(o.dir, "ksdoctor-linux-"+runtime.GOARCH)); err != nil {
		return err
	}
	tarballs := map[string]string{}
	for _, arch := range arches {
		bin := filepath.Join(o.dir, "ksdoctor-linux-"+arch)
		tb, err := writeTarball(o, arch, bin, stage)
		if err != nil {
			return err
		}
		tarballs[arch] = tb
		for _, format := range []string{"deb", "rpm"} {
			if err := writePackage(o, format, arch, version, bin, stage); err != nil {
				return err
			}
		}
	}
	if err := writeKrew(o, "v"+version, tarballs); err != nil {
		return err
	}
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	return writeSums(o.dir)
}

var semverRE = regexp.MustCompile(`^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$`)

// semver is the release version without its "v": git describe's tag when
// it is one, else 0.0.0-git.DESCRIBE (a pre-release sorting before 0.0.0).
func semver(describe string) string {
	if m := semverRE.FindStringSubmatch(describe); m != nil {
		return m[1]
	}
	clean := regexp.MustCompile(`[^0-9A-Za-z.-]+`).ReplaceAllString(describe, ".")
	if clean == "" {
		clean = "dev"
	}
	return "0.0.0-git." + strings.Trim(clean, ".-")
}

// stageDocs gzips the man pages (as Debian ships them) and writes the
// shell completion scripts with the build host's binary.
func stageDocs(stage, hostBin string) error {
	pages, err := filepath.Glob(filepath.Join(stage, "man1", "*.1"))
	if err != nil || len(pages) == 0 {
		return fmt.Errorf("no man pages in %s/man1 (make dist writes them): %v", stage, err)
	}
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return err
		}
		if err := os.WriteFile(p+".gz", b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	dir := filepath.Join(stage, "completion")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for shell, name := range map[string]string{"bash": "ksdoctor.bash", "zsh": "_ksdoctor", "fish": "ksdoctor.fish"} {
		out, err := exec.Command(hostBin, "completion", shell).Output()
		if err != nil {
			return fmt.Errorf("%s completion %s: %w", hostBin, shell, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeTarball writes ksdoctor_linux_ARCH.tar.gz: the binary at the top
// (krew's bin), the completion scripts and the man pages.
func writeTarball(o options, arch, bin, stage string) (string, error) {
	files := [][2]string{{bin, "ksdoctor"}}
	for _, pat := range []string{"completion/*", "man1/*.1.gz"} {
		m, _ := filepath.Glob(filepath.Join(stage, pat))
		slices.Sort(m)
		for _, p := range m {
			rel, _ := filepath.Rel(stage, p)
			files = append(files, [2]string{p, rel})
		}
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		data, err := os.ReadFile(f[0])
		if err != nil {
			return "", err
		}
		mode := int64(0o644)
		if f[1] == "ksdoctor" {
			mode = 0o755
		}
		hdr := &tar.Header{Name: f[1], Mode: mode, Size: int64(len(data)), ModTime: o.mtime, Typeflag: tar.TypeReg, Uname: "root", Gname: "root", Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", err
		}
		if _, err := tw.Write(data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	name := filepath.Join(o.dir, "ksdoctor_linux_"+arch+".tar.gz")
	return name, os.WriteFile(name, b.Bytes(), 0o644)
}

// writePackage builds one .deb or .rpm with nfpm from the configuration,
// its ${ARCH}, ${VERSION}, ${BIN} and ${STAGE} filled in.
func writePackage(o options, format, arch, version, bin, stage string) error {
	absBin, _ := filepath.Abs(bin)
	absStage, _ := filepath.Abs(stage)
	env := map[string]string{"ARCH": arch, "VERSION": version, "BIN": absBin, "STAGE": absStage}
	cfg, err := nfpm.ParseFileWithEnvMapping(o.nfpmConfig, func(k string) string { return env[k] })
	if err != nil {
		return fmt.Errorf("%s: %w", o.nfpmConfig, err)
	}
	info, err := cfg.Get(format)
	if err != nil {
		return err
	}
	info.MTime = o.mtime
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return fmt.Errorf("%s %s: %w", format, arch, err)
	}
	pkg, err := nfpm.Get(format)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := pkg.Package(info, &b); err != nil {
		return fmt.Errorf("%s %s: %w", format, arch, err)
	}
	return os.WriteFile(filepath.Join(o.dir, pkg.ConventionalFileName(info)), b.Bytes(), 0o644)
}

// writeKrew fills the krew manifest template in for the release: its
// version, each platform's archive URL (the template's, at this version)
// and sha256. It is read and written with krew's own types.
func writeKrew(o options, version string, tarballs map[string]string) error {
	data, err := os.ReadFile(o.krew)
	if err != nil {
		return err
	}
	var p index.Plugin
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return fmt.Errorf("%s: %w", o.krew, err)
	}
	old := p.Spec.Version
	p.Spec.Version = version
	for i, pl := range p.Spec.Platforms {
		arch := pl.Selector.MatchLabels["arch"]
		tb, ok := tarballs[arch]
		if !ok || pl.Selector.MatchLabels["os"] != "linux" {
			return fmt.Errorf("%s: platform %v has no archive", o.krew, pl.Selector.MatchLabels)
		}
		sum, err := fileSum(tb)
		if err != nil {
			return err
		}
		p.Spec.Platforms[i].URI = strings.Replace(pl.URI, "/"+old+"/", "/"+version+"/", 1)
		p.Spec.Platforms[i].Sha256 = sum
	}
	out, err := cleanManifest(p)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.dir, "ksdoctor.yaml"), out, 0o644)
}

// cleanManifest marshals p without the null fields krew's types write
// (metadata.creationTimestamp, platforms[].files), as a hand-written
// manifest in krew-index has them.
func cleanManifest(p index.Plugin) ([]byte, error) {
	raw, err := yaml.Marshal(p)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	spec, _ := m["spec"].(map[string]any)
	platforms, _ := spec["platforms"].([]any)
	for _, pl := range platforms {
		if pm, ok := pl.(map[string]any); ok && pm["files"] == nil {
			delete(pm, "files")
		}
	}
	return yaml.Marshal(m)
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeSums writes SHA256SUMS (sha256sum -c's format) over every file of dir.
func writeSums(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == "SHA256SUMS" {
			continue
		}
		sum, err := fileSum(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, e.Name())
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}
