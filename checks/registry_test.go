package checks

import (
	"os"
	"regexp"
	"strings"
	"testing"
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
