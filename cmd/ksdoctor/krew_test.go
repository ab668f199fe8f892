package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// krewPlugin mirrors sigs.k8s.io/krew/pkg/index.Plugin (v0.4.3) field for
// field. The krew module cannot be required here: it requires
// k8s.io/client-go v11.0.0+incompatible, which would replace the project's
// client-go. The dist tool (scripts/dist, a module of its own) parses the
// same file with krew's own types when it fills in a release.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Homepage         string `json:"homepage"`
		Platforms        []struct {
			URI      string `json:"uri"`
			Sha256   string `json:"sha256"`
			Selector *struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			Files []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
			Bin string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// validateKrew applies krew's ValidatePlugin and validate-krew-manifest
// rules (internal/index/validation/validate.go, cmd/validate-krew-manifest
// of krew v0.4.3) to a manifest named name.
func validateKrew(name string, data []byte) error {
	var p krewPlugin
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return err
	}
	switch {
	case p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2":
		return fmt.Errorf("apiVersion %q", p.APIVersion)
	case p.Kind != "Plugin":
		return fmt.Errorf("kind %q", p.Kind)
	case !regexp.MustCompile(`^[\w-]+$`).MatchString(name) || p.Metadata.Name != name:
		return fmt.Errorf("plugin name %q in file %s", p.Metadata.Name, name)
	case p.Spec.ShortDescription == "" || strings.ContainsAny(p.Spec.ShortDescription, "\r\n"):
		return fmt.Errorf("shortDescription %q", p.Spec.ShortDescription)
	case len(p.Spec.Platforms) == 0:
		return fmt.Errorf("no platform")
	case !regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(p.Spec.Version):
		return fmt.Errorf("version %q is not v-prefixed semver", p.Spec.Version)
	}
	seen := map[string]bool{}
	for i, pl := range p.Spec.Platforms {
		if pl.URI == "" || !regexp.MustCompile(`^[a-f0-9]{64}$`).MatchString(pl.Sha256) || pl.Bin == "" {
			return fmt.Errorf("platform %d: uri %q sha256 %q bin %q", i, pl.URI, pl.Sha256, pl.Bin)
		}
		if pl.Files != nil && len(pl.Files) == 0 {
			return fmt.Errorf("platform %d: files given but empty", i)
		}
		if pl.Selector == nil || len(pl.Selector.MatchLabels) == 0 {
			return fmt.Errorf("platform %d: empty selector", i)
		}
		for k := range pl.Selector.MatchLabels {
			if k != "os" && k != "arch" {
				return fmt.Errorf("platform %d: selector key %q", i, k)
			}
		}
		key := pl.Selector.MatchLabels["os"] + "/" + pl.Selector.MatchLabels["arch"]
		if seen[key] {
			return fmt.Errorf("platform %d: overlapping selector %s", i, key)
		}
		seen[key] = true
	}
	return nil
}

func TestKrewManifest(t *testing.T) {
	data, err := os.ReadFile("../../deploy/krew/ksdoctor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := validateKrew("ksdoctor", data); err != nil {
		t.Fatalf("deploy/krew/ksdoctor.yaml: %v", err)
	}
	var p krewPlugin
	_ = yaml.Unmarshal(data, &p)
	want := map[string]bool{"linux/amd64": false, "linux/arm64": false}
	for _, pl := range p.Spec.Platforms {
		key := pl.Selector.MatchLabels["os"] + "/" + pl.Selector.MatchLabels["arch"]
		want[key] = true
		if pl.Bin != "ksdoctor" || !strings.HasSuffix(pl.URI, "ksdoctor_"+strings.ReplaceAll(key, "/", "_")+".tar.gz") {
			t.Errorf("%s: bin %q uri %q", key, pl.Bin, pl.URI)
		}
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("no platform for %s", k)
		}
	}
	// The checker refuses what krew refuses.
	for _, bad := range []string{
		strings.Replace(string(data), "version: v0.0.0", "version: 0.0.0", 1),
		strings.Replace(string(data), "arch: arm64", "arch: amd64", 1),
		strings.Replace(string(data), "name: ksdoctor", "name: ks_doctor!", 1),
		strings.Replace(string(data), "    bin: ksdoctor\n", "", 1),
		strings.Replace(string(data), "homepage:", "website:", 1),
	} {
		if validateKrew("ksdoctor", []byte(bad)) == nil {
			t.Errorf("accepted a manifest krew refuses:\n%s", bad)
		}
	}
}
