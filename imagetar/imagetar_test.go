package imagetar_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/imagetar"
	"github.com/ksdoctor/ksdoctor/testbed"
)

func entries(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = b
	}
}

// TestLayout: both layouts point at blobs that exist under their digests,
// the config's diff ID is the layer's digest, the layer holds the files,
// and the output is the same bytes every time.
func TestLayout(t *testing.T) {
	img := imagetar.Image{Ref: "ksdoctor:test", Entrypoint: []string{"/ksdoctor"}, User: "0:0",
		Files: []imagetar.File{{Path: "/ksdoctor", Mode: 0o755, Data: []byte("#!binary")}, {Path: "/etc/x/y", Mode: 0o644, Data: []byte("y")}}}
	var a, b bytes.Buffer
	if err := imagetar.Write(&a, img); err != nil {
		t.Fatal(err)
	}
	if err := imagetar.Write(&b, img); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two writes of one image differ")
	}
	es := entries(t, a.Bytes())
	for name, data := range es {
		if d, ok := strings.CutPrefix(name, "blobs/sha256/"); ok && d != "" {
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != d {
				t.Errorf("blob %s has digest %x", name, sum)
			}
		}
	}
	var dm []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(es["manifest.json"], &dm); err != nil || len(dm) != 1 {
		t.Fatalf("manifest.json: %v %s", err, es["manifest.json"])
	}
	if dm[0].RepoTags[0] != "ksdoctor:test" || es[dm[0].Config] == nil || es[dm[0].Layers[0]] == nil {
		t.Fatalf("manifest.json points at missing blobs: %+v", dm[0])
	}
	var cfg struct {
		Config struct {
			Entrypoint []string
			User       string
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(es[dm[0].Config], &cfg); err != nil {
		t.Fatal(err)
	}
	if "blobs/sha256/"+strings.TrimPrefix(cfg.RootFS.DiffIDs[0], "sha256:") != dm[0].Layers[0] || cfg.Config.User != "0:0" || cfg.Config.Entrypoint[0] != "/ksdoctor" {
		t.Errorf("config %+v", cfg)
	}
	layer := entries(t, es[dm[0].Layers[0]])
	if string(layer["ksdoctor"]) != "#!binary" || string(layer["etc/x/y"]) != "y" {
		t.Errorf("layer holds %v", keys(layer))
	}
	if _, ok := layer["etc/x/"]; !ok {
		t.Errorf("layer lacks the parent directories: %v", keys(layer))
	}
	var idx struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	if err := json.Unmarshal(es["index.json"], &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json: %v", err)
	}
	if idx.Manifests[0].Annotations["io.containerd.image.name"] != "docker.io/library/ksdoctor:test" || es["blobs/sha256/"+strings.TrimPrefix(idx.Manifests[0].Digest, "sha256:")] == nil {
		t.Errorf("index.json: %s", es["index.json"])
	}
	for _, bad := range []string{"ksdoctor", "KsDoctor:1", "reg:5000/x", ":1"} {
		if err := imagetar.Write(io.Discard, imagetar.Image{Ref: bad}); err == nil {
			t.Errorf("ref %q accepted", bad)
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestMakeImageOnRealDocker runs `make image-tar` and `make image` (the
// Dockerfile) against a real dockerd in a namespace: the tar loads with
// `docker load`, both images run the binary as root with the same
// entrypoint and labels and print the same version.
func TestMakeImageOnRealDocker(t *testing.T) {
	testbed.Require(t, "make", "docker")
	d := testbed.StartDockerd(t, testbed.DockerdOptions{})
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	mk := func(args ...string) {
		t.Helper()
		cmd := exec.Command("make", append([]string{"-C", repo, "VERSION=imagetest"}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host, "DOCKER_CONFIG="+t.TempDir(), "DOCKER_CLI_HINTS=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %v: %v\n%s", args, err, out)
		}
	}
	mk("image-tar", "IMAGE=ksdoctor:fromtar", "IMAGE_TAR="+tarPath)
	d.CLI(t, "load", "-i", tarPath)
	mk("image", "IMAGE=ksdoctor:built")
	want := ""
	for _, ref := range []string{"ksdoctor:fromtar", "ksdoctor:built"} {
		conf := d.CLI(t, "image", "inspect", "-f", "{{json .Config.Entrypoint}} {{.Config.User}} {{json .Config.Labels}} {{.Os}}", ref)
		if want == "" {
			want = conf
		} else if conf != want {
			t.Errorf("%s: %s, the tar's image: %s", ref, conf, want)
		}
		if !strings.Contains(conf, `["/ksdoctor"] 0:0`) {
			t.Errorf("%s config: %s", ref, conf)
		}
		out := d.CLI(t, "run", "--rm", "--network", "none", ref, "--version")
		if !strings.Contains(out, "imagetest") {
			t.Errorf("%s --version: %s", ref, out)
		}
	}
}
