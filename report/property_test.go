package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/load"
	"github.com/ksdoctor/ksdoctor/redact"
	"github.com/ksdoctor/ksdoctor/redact/redacttest"
)

// fixtureReports replays every fixture and adds an applied result for
// each remediation, so plans, steps and results carry strings too.
func fixtureReports(t *testing.T) (map[string]*diag.Report, map[string]*diag.Snapshot) {
	t.Helper()
	paths, err := filepath.Glob("../fixtures/*/snapshot.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	reps, snaps := map[string]*diag.Report{}, map[string]*diag.Snapshot{}
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p))
		snap, err := load.Snapshot(p)
		if err != nil {
			t.Fatal(err)
		}
		rep := diag.Run(checks.All(), snap, diag.DefaultConfig(), diag.RunOptions{})
		for _, f := range rep.Findings {
			for _, rem := range f.Remediations {
				res := diag.ApplyResult{RemediationID: rem.ID, Title: rem.Title, Error: "e", VerifyDetail: "v"}
				for _, st := range rem.Plan.Steps {
					res.Steps = append(res.Steps, diag.StepResult{Step: st, Outcome: diag.OutcomeDone, Detail: "d"})
				}
				rep.Applied = append(rep.Applied, res)
			}
		}
		reps[name], snaps[name] = rep, snap
	}
	return reps, snaps
}

// TestNoPlantedSecretSurvivesAnyFormat plants generated secrets of every
// kind (random values with '/', '@', '!', '$', '%', ';', '?' and blanks)
// into every string field of every fixture's report, found by
// reflection, and renders text, Markdown and JSON: no planted secret may
// survive. Each field gets every kind over the rounds. The oracle judges
// only what it planted.
func TestNoPlantedSecretSurvivesAnyFormat(t *testing.T) {
	reps, _ := fixtureReports(t)
	kinds := redacttest.Kinds()
	fields, rounds := 0, len(kinds)
	if testing.Short() {
		rounds = 4
	}
	for name, base := range reps {
		for round := range rounds {
			rep := redact.Copy(base, func(s string) string { return s })
			plants := redacttest.PlantEvery(rep, rand.New(rand.NewPCG(uint64(round), 7)), round)
			fields += len(plants)
			for _, format := range []Format{FormatText, FormatMarkdown, FormatJSON} {
				var b bytes.Buffer
				if err := Write(&b, rep, format, Options{Color: format == FormatText}); err != nil {
					t.Fatal(err)
				}
				if pl, s, leak := redacttest.FirstLeak(plants, b.String()); leak {
					t.Fatalf("%s round %d, %s: %s secret %q survived", name, round, format, pl.Kind, s)
				}
			}
		}
	}
	t.Logf("%d secrets planted", fields)
}

// TestRedactedSnapshotHoldsNoPlantedSecretAndLoads plants secrets into
// every string of every fixture snapshot: `snapshot --redact` (redact.Report
// then JSON) must hold none of them and must still load for --from, and
// the report judged from the raw planted snapshot must show none.
func TestRedactedSnapshotHoldsNoPlantedSecretAndLoads(t *testing.T) {
	_, snaps := fixtureReports(t)
	for name, base := range snaps {
		for round := range 3 {
			snap := redact.Copy(base, func(s string) string { return s })
			plants := redacttest.PlantEvery(snap, rand.New(rand.NewPCG(uint64(round), 11)), round)
			snap.Tool = base.Tool // what marks the file as a snapshot
			data, err := json.Marshal(redact.Report(snap))
			if err != nil {
				t.Fatal(err)
			}
			if pl, s, leak := redacttest.FirstLeak(plants, string(data)); leak {
				t.Fatalf("%s: redacted snapshot keeps a %s secret %q", name, pl.Kind, s)
			}
			if _, err := diag.ReadSnapshot(bytes.NewReader(data)); err != nil {
				t.Fatalf("%s: the redacted snapshot does not load: %v", name, err)
			}
			rep := diag.Run(checks.All(), snap, diag.DefaultConfig(), diag.RunOptions{})
			for _, format := range []Format{FormatText, FormatMarkdown, FormatJSON} {
				var b bytes.Buffer
				if err := Write(&b, rep, format, Options{}); err != nil {
					t.Fatal(err)
				}
				if pl, s, leak := redacttest.FirstLeak(plants, b.String()); leak {
					t.Fatalf("%s: %s report of a planted snapshot shows a %s secret %q", name, format, pl.Kind, s)
				}
			}
		}
	}
}
