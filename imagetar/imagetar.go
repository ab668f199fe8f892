// Package imagetar writes a one-layer container image as a tar that both
// `docker load` and `ctr images import` (containerd) read: Docker's
// image-archive layout (manifest.json, repositories, the config and the
// layer by digest under blobs/sha256/) beside the OCI image layout
// (oci-layout, index.json and an OCI manifest over the same blobs), the
// shape `docker save` has written since Docker 25. No daemon and no
// registry are needed, so `make image-tar` works on a machine without
// Docker and the result can be carried to air-gapped nodes.
//
// The output is reproducible: every entry has the same modification time
// (Image.Created) and owner 0:0, and the entries are written in order.
package imagetar

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// File is one regular file of the image's only layer.
type File struct {
	Path string // absolute in the image, e.g. "/ksdoctor"
	Mode int64  // permission bits, e.g. 0o755
	Data []byte
}

// Image is what goes into the tar.
type Image struct {
	// Ref is the image's name with its tag, e.g. "ksdoctor:v1.2.3". A name
	// without a registry is Docker Hub's library (docker.io/library/...),
	// as both Docker and containerd read it.
	Ref   string
	Files []File
	// Entrypoint, Cmd, Env, User and Labels go into the image config.
	Entrypoint, Cmd, Env []string
	User                 string
	Labels               map[string]string
	Created              time.Time // default: the Unix epoch
	Arch                 string    // default amd64
}

type blob struct {
	digest string // sha256:hex
	data   []byte
}

func newBlob(data []byte) blob {
	sum := sha256.Sum256(data)
	return blob{digest: "sha256:" + hex.EncodeToString(sum[:]), data: data}
}

func (b blob) path() string { return "blobs/sha256/" + strings.TrimPrefix(b.digest, "sha256:") }

// Write writes img to w as an image archive.
func Write(w io.Writer, img Image) error {
	repo, tag, err := splitRef(img.Ref)
	if err != nil {
		return err
	}
	if img.Arch == "" {
		img.Arch = "amd64"
	}
	created := img.Created.UTC()
	if img.Created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	layerData, err := layerTar(img.Files, created)
	if err != nil {
		return err
	}
	layer := newBlob(layerData)
	cfgData, err := json.Marshal(imageConfig(img, created, layer.digest))
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	cfg := newBlob(cfgData)
	manData, err := json.Marshal(ociManifest{
		SchemaVersion: 2,
		MediaType:     "application/vnd.oci.image.manifest.v1+json",
		Config:        descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cfg.digest, Size: int64(len(cfg.data))},
		Layers:        []descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: layer.digest, Size: int64(len(layer.data))}},
	})
	if err != nil {
		return fmt.Errorf("image manifest: %w", err)
	}
	man := newBlob(manData)
	full := fullName(repo) + ":" + tag
	index, err := json.Marshal(ociIndex{
		SchemaVersion: 2,
		MediaType:     "application/vnd.oci.image.index.v1+json",
		Manifests: []descriptor{{
			MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: man.digest, Size: int64(len(man.data)),
			Annotations: map[string]string{"io.containerd.image.name": full, "org.opencontainers.image.ref.name": tag},
		}},
	})
	if err != nil {
		return fmt.Errorf("image index: %w", err)
	}
	dockerManifest, err := json.Marshal([]map[string]any{{
		"Config": cfg.path(), "RepoTags": []string{repo + ":" + tag}, "Layers": []string{layer.path()},
	}})
	if err != nil {
		return fmt.Errorf("docker manifest: %w", err)
	}
	repositories, err := json.Marshal(map[string]map[string]string{repo: {tag: strings.TrimPrefix(layer.digest, "sha256:")}})
	if err != nil {
		return fmt.Errorf("repositories: %w", err)
	}
	tw := tar.NewWriter(w)
	entries := []struct {
		name string
		data []byte
	}{
		{"blobs/", nil}, {"blobs/sha256/", nil},
		{layer.path(), layer.data}, {cfg.path(), cfg.data}, {man.path(), man.data},
		{"index.json", index},
		{"manifest.json", dockerManifest},
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"repositories", repositories},
	}
	for _, e := range entries {
		if err := writeEntry(tw, e.name, 0o644, e.data, created); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("image tar: %w", err)
	}
	return nil
}

// splitRef splits "name:tag" (a registry port before the last "/" is not
// a tag).
func splitRef(ref string) (repo, tag string, err error) {
	i := strings.LastIndex(ref, ":")
	if i <= strings.LastIndex(ref, "/") || i == len(ref)-1 || i == 0 {
		return "", "", fmt.Errorf("image reference %q: want NAME:TAG", ref)
	}
	repo, tag = ref[:i], ref[i+1:]
	if strings.ToLower(repo) != repo {
		return "", "", fmt.Errorf("image reference %q: the name must be lower case", ref)
	}
	return repo, tag, nil
}

// fullName is the name as containerd stores it: docker.io/library/NAME for
// a bare Docker Hub name.
func fullName(repo string) string {
	first, _, hasSlash := strings.Cut(repo, "/")
	switch {
	case !hasSlash:
		return "docker.io/library/" + repo
	case strings.ContainsAny(first, ".:") || first == "localhost":
		return repo
	}
	return "docker.io/" + repo
}

// layerTar is the layer: the files' parent directories (0755), then the
// files, sorted by path.
func layerTar(files []File, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, f := range sorted {
		p := strings.TrimPrefix(path.Clean("/"+f.Path), "/")
		if p == "" || p == "." {
			return nil, fmt.Errorf("image file %q: not a file path", f.Path)
		}
		var parents []string
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if !dirs[d] {
				dirs[d] = true
				if err := writeEntry(tw, d+"/", 0o755, nil, mtime); err != nil {
					return nil, err
				}
			}
		}
		if err := writeEntry(tw, p, f.Mode, f.Data, mtime); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer tar: %w", err)
	}
	return buf.Bytes(), nil
}

// writeEntry writes a directory (name ends in "/") or a regular file.
func writeEntry(tw *tar.Writer, name string, mode int64, data []byte, mtime time.Time) error {
	h := &tar.Header{Name: name, Mode: mode, ModTime: mtime, Format: tar.FormatPAX, Typeflag: tar.TypeReg, Size: int64(len(data))}
	if strings.HasSuffix(name, "/") {
		h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("tar %s: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("tar %s: %w", name, err)
	}
	return nil
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type ociIndex struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

// imageConfig is the OCI image config (which Docker reads as its own).
func imageConfig(img Image, created time.Time, layerDigest string) map[string]any {
	c := map[string]any{}
	if len(img.Entrypoint) > 0 {
		c["Entrypoint"] = img.Entrypoint
	}
	if len(img.Cmd) > 0 {
		c["Cmd"] = img.Cmd
	}
	if len(img.Env) > 0 {
		c["Env"] = img.Env
	}
	if img.User != "" {
		c["User"] = img.User
	}
	if len(img.Labels) > 0 {
		c["Labels"] = img.Labels
	}
	return map[string]any{
		"architecture": img.Arch,
		"os":           "linux",
		"created":      created.Format(time.RFC3339),
		"config":       c,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
		"history":      []map[string]any{{"created": created.Format(time.RFC3339), "created_by": "ksdoctor imagetar"}},
	}
}
