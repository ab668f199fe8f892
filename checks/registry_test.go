package checks

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/load"
)

var idPattern = regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9]+(-[a-z0-9]+)*)+$`)

func TestRegistry(t *testing.T) {
	docs, err := os.ReadFile("../docs/checks.md")
	if err != nil {
		t.Fatalf("user docs: %v", err)
	}
	seen := map[string]bool{}
	for _, c := range All() {
		if seen[c.ID] {
			t.Errorf("duplicate check ID %s", c.ID)
		}
		seen[c.ID] = true
		if !idPattern.MatchString(c.ID) {
			t.Errorf("check ID %q is not area.lower-kebab", c.ID)
		}
		if c.Title == "" || len(strings.TrimSpace(c.Doc)) < 80 {
			t.Errorf("%s: needs a title and a real doc", c.ID)
		}
		if c.Run == nil {
			t.Errorf("%s: no Run", c.ID)
		}
		if len(c.Sources()) == 0 {
			t.Errorf("%s: declares no sources", c.ID)
		}
		if !strings.Contains(string(docs), "`"+c.ID+"`") {
			t.Errorf("%s: no entry in docs/checks.md (run 'make docs')", c.ID)
		}
		if got, ok := ByID(c.ID); !ok || got.ID != c.ID {
			t.Errorf("ByID(%s) failed", c.ID)
		}
	}
}

// TestLinksNameRegisteredChecks: every check a CausedBy names is registered,
// so a link cannot point at nothing.
func TestLinksNameRegisteredChecks(t *testing.T) {
	for _, c := range All() {
		for _, cause := range c.CausedBy {
			if cause == nil {
				t.Errorf("%s: nil in CausedBy", c.ID)
				continue
			}
			if got, ok := ByID(cause.ID); !ok || got.Title != cause.Title {
				t.Errorf("%s: CausedBy names %q, which is not a registered check", c.ID, cause.ID)
			}
			if cause.ID == c.ID {
				t.Errorf("%s: caused by itself", c.ID)
			}
		}
	}
}

// judgedSnapshots are every snapshot the tests judge: the fixtures and the
// real-world cases.
func judgedSnapshots(t *testing.T) map[string]*diag.Snapshot {
	t.Helper()
	out := map[string]*diag.Snapshot{}
	paths, _ := filepath.Glob("../fixtures/*/snapshot.json")
	for _, p := range paths {
		s, err := load.Snapshot(p)
		if err != nil {
			t.Fatal(err)
		}
		out["fixture "+filepath.Base(filepath.Dir(p))] = s
	}
	cases, _ := filepath.Glob("../testdata/realworld/*/expected.json")
	for _, p := range cases {
		dir := filepath.Dir(p)
		out["realworld "+filepath.Base(dir)] = loadRealWorldCase(t, dir)
	}
	if len(out) == 0 {
		t.Fatal("no snapshot to judge")
	}
	return out
}

// TestDeclaredSourcesAreRead runs every check over every fixture and
// real-world case through a Pass and holds what it read to what it
// declares: a source read must be declared (Needs, Uses, or Expensive, the
// sources Wants may ask for), and a source declared in Needs or Uses must be
// read somewhere, or the declaration says more than the check does.
func TestDeclaredSourcesAreRead(t *testing.T) {
	snaps := judgedSnapshots(t)
	cfg := diag.DefaultConfig()
	for _, c := range All() {
		declared := map[diag.Source]bool{}
		for _, s := range append(c.Sources(), c.Expensive...) {
			declared[s] = true
		}
		if c.Wants != nil {
			for name, snap := range snaps {
				for _, s := range c.Wants(snap, cfg) {
					if !slices.Contains(c.Expensive, s) {
						t.Errorf("%s wants source %s on %s but does not list it in Expensive", c.ID, s, name)
					}
				}
			}
		}
		undeclared := map[diag.Source]string{}
		read := map[diag.Source]bool{}
		for name, snap := range snaps {
			if !needsMet(c, snap) {
				continue
			}
			p := diag.NewPass(&c, snap, cfg)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s on %s panicked: %v", c.ID, name, r)
					}
				}()
				_, _ = c.Run(p)
			}()
			for _, s := range p.Read() {
				read[s] = true
				if !declared[s] {
					undeclared[s] = name
				}
			}
		}
		for s, name := range undeclared {
			t.Errorf("%s reads source %s (on %s among others) but does not declare it", c.ID, s, name)
		}
		for _, s := range c.Sources() {
			if !read[s] {
				t.Errorf("%s declares source %s but reads it on no fixture or real-world case", c.ID, s)
			}
		}
	}
}

// needsMet is the engine's gate: every needed source gathered.
func needsMet(c diag.Check, snap *diag.Snapshot) bool {
	for _, s := range c.Needs {
		if !snap.Has(s) {
			return false
		}
	}
	return true
}

// TestOneCheckOneFile: every check lives in checks/<area>_<name>.go with
// its direct test beside it, so a check's room is found from its ID.
func TestOneCheckOneFile(t *testing.T) {
	base := strings.NewReplacer(".", "_", "-", "_")
	for _, c := range All() {
		name := base.Replace(c.ID)
		for _, f := range []string{name + ".go", name + "_test.go"} {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%s: %v", c.ID, err)
			}
		}
	}
}
