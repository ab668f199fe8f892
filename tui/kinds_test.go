package tui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

// stepKinds reads every StepKind constant declared in package diag, so
// kinds added later are covered without editing this test.
func stepKinds(t *testing.T) []diag.StepKind {
	t.Helper()
	files, err := filepath.Glob("../diag/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []diag.StepKind
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "StepKind" {
					continue
				}
				for _, v := range vs.Values {
					if lit, ok := v.(*ast.BasicLit); ok {
						s, err := strconv.Unquote(lit.Value)
						if err == nil {
							kinds = append(kinds, diag.StepKind(s))
						}
					}
				}
			}
		}
	}
	if !slices.Contains(kinds, diag.StepRemoveContainer) {
		t.Fatalf("found kinds %v, not %s", kinds, diag.StepRemoveContainer)
	}
	return kinds
}

// TestConfirmEveryStepKind offers one remediation per StepKind of package
// diag at every risk, and checks the confirmation key by key: y applies a
// low or medium risk plan and nothing else does; a high-risk plan applies
// only with the exact hostname.
func TestConfirmEveryStepKind(t *testing.T) {
	for _, kind := range stepKinds(t) {
		for _, risk := range []diag.Risk{diag.RiskLow, diag.RiskMedium, diag.RiskHigh} {
			rem := diag.Remediation{
				ID: "test.kind/" + string(kind), Title: "Do " + string(kind), Risk: risk,
				Preview: "exactly this",
				Plan:    diag.Plan{Steps: []diag.Step{{Kind: kind, Description: "one step of " + string(kind)}}},
			}
			open := func(t *testing.T) (Model, *fakeEngine) {
				f := newFake()
				f.rep.Findings[0].Remediations = []diag.Remediation{rem}
				m := swept(t, f, Options{})
				m = selectFinding(t, m, f.rep.Findings[0].ID)
				m = keys(t, m, "f")
				if m.fix.stage != stagePreview {
					t.Fatalf("no preview for %s", kind)
				}
				mustContain(t, m.View(), string(kind), "one step of")
				return m, f
			}
			t.Run(string(kind)+"/"+string(risk), func(t *testing.T) {
				refuse := [][]string{{"n"}, {"esc"}, {"enter"}, {"x"}}
				accept := []string{"y"}
				if risk == diag.RiskHigh {
					refuse = [][]string{{"y", "enter"}, {"esc"}, {"enter"}, {"n", "o", "d", "e", "enter"}, {"Y", "E", "S", "enter"}}
					accept = []string{"n", "o", "d", "e", "-", "1", "enter"}
				}
				for _, presses := range refuse {
					m, f := open(t)
					keys(t, m, presses...)
					if _, a := f.calls(); len(a) != 0 {
						t.Errorf("%v applied %v", presses, a)
					}
				}
				m, f := open(t)
				m = keys(t, m, accept...)
				if _, a := f.calls(); !slices.Equal(a, []string{rem.ID}) {
					t.Errorf("%v applied %v, want [%s]", accept, a, rem.ID)
				}
				if m.fix.stage != stageResult {
					t.Errorf("stage %d after apply", m.fix.stage)
				}
			})
		}
	}
}
