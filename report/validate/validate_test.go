package validate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/load"
	"github.com/ksdoctor/ksdoctor/report"
	"github.com/ksdoctor/ksdoctor/report/schemacheck"
	"github.com/ksdoctor/ksdoctor/report/validate"
)

// reportDocs are the JSON reports of every fixture, with suppressions
// (used, unused, expired) and baseline marks so every field is present.
func reportDocs(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("../../fixtures/*/snapshot.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		snap, err := load.Snapshot(p)
		if err != nil {
			t.Fatal(err)
		}
		rep := diag.Run(checks.All(), snap, diag.DefaultConfig(), diag.RunOptions{})
		diag.Suppress(rep, []diag.Suppression{
			{Check: "docker.*", Reason: "r", Until: "2999-01-01"},
			{Check: "no.such-check", Reason: "typo"},
			{Finding: "*", Reason: "old", Until: "2000-01-01"},
		}, snap.Now())
		report.MarkNew(rep, &diag.Report{})
		var b bytes.Buffer
		if err := report.WriteJSON(&b, rep); err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(filepath.Dir(p))] = b.Bytes()
	}
	return out
}

// mutate returns doc with the value at path replaced by v (deleted when
// del).
func mutate(doc any, path []any, v any, del bool) any {
	if len(path) == 0 {
		return v
	}
	switch n := doc.(type) {
	case map[string]any:
		cp := make(map[string]any, len(n))
		for k, x := range n {
			cp[k] = x
		}
		k := path[0].(string)
		if len(path) == 1 && del {
			delete(cp, k)
			return cp
		}
		cp[k] = mutate(n[k], path[1:], v, del)
		return cp
	case []any:
		cp := slices.Clone(n)
		i := path[0].(int)
		cp[i] = mutate(n[i], path[1:], v, del)
		return cp
	}
	return doc
}

func paths(doc any, at []any, out *[][]any) {
	*out = append(*out, slices.Clone(at))
	switch n := doc.(type) {
	case map[string]any:
		for k, x := range n {
			paths(x, append(at, k), out)
		}
	case []any:
		for i, x := range n {
			paths(x, append(at, i), out)
		}
	}
}

// TestAgreesWithJSONSchema: the binary's validator and a full JSON Schema
// implementation (santhosh-tekuri/jsonschema, draft 2020-12) give the same
// verdict on every fixture's report and on thousands of mutations of them
// (a value deleted or replaced by null, a number, a negative, a fraction,
// an empty or odd string, a boolean, an empty list or object).
func TestAgreesWithJSONSchema(t *testing.T) {
	replacements := []any{nil, 7.0, -1.0, 1.5, "", "x", "2026-13-01", true, []any{}, map[string]any{}}
	rng := rand.New(rand.NewPCG(1, 2))
	tried, invalid := 0, 0
	for name, data := range reportDocs(t) {
		if err := validate.Report(data); err != nil {
			t.Fatalf("%s: valid report refused: %v", name, err)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		var ps [][]any
		paths(doc, nil, &ps)
		rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		for _, p := range ps[:min(len(ps), 60)] {
			for i := -1; i < len(replacements); i++ {
				var m any
				if i < 0 {
					if len(p) == 0 {
						continue
					}
					if _, isKey := p[len(p)-1].(string); !isKey {
						continue
					}
					m = mutate(doc, p, nil, true)
				} else {
					m = mutate(doc, p, replacements[i], false)
				}
				b, _ := json.Marshal(m)
				got, want := validate.Report(b), schemacheck.ValidateJSON(b)
				tried++
				if want != nil {
					invalid++
				}
				if (got == nil) != (want == nil) {
					t.Errorf("%s: %v set to %s: validate says %v, JSON Schema says %v", name, p, describe(i, replacements), got, want)
				}
			}
		}
	}
	if invalid < tried/4 {
		t.Errorf("only %d of %d mutations were invalid: the mutations test little", invalid, tried)
	}
	t.Logf("%d mutations, %d invalid", tried, invalid)
}

func describe(i int, r []any) string {
	if i < 0 {
		return "(deleted)"
	}
	return fmt.Sprintf("%#v", r[i])
}

func TestRefusesUnknownKeywordAndBadJSON(t *testing.T) {
	for _, doc := range []string{``, `{`, `[]`, `{"schemaVersion":1} {}`, `null`} {
		if err := validate.Report([]byte(doc)); err == nil {
			t.Errorf("%q accepted", doc)
		}
	}
}

// FuzzReport: the validator never panics, and what it accepts the JSON
// Schema accepts too.
func FuzzReport(f *testing.F) {
	for _, d := range reportDocs(f) {
		if len(d) < 20000 {
			f.Add(d)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if validate.Report(data) == nil {
			if serr := schemacheck.ValidateJSON(data); serr != nil {
				t.Fatalf("accepted a report the JSON Schema refuses: %v", serr)
			}
		}
	})
}

// TestDateTimeShape: RFC 3339 digit for digit, as the JSON Schema's
// date-time format; time.Parse alone took "T9:02:06.8Z" (found by
// FuzzReport, kept in testdata/fuzz).
func TestDateTimeShape(t *testing.T) {
	for s, want := range map[string]bool{
		"2026-11-26T09:02:06Z":          true,
		"2026-11-26T09:02:06.8Z":        true,
		"2026-11-26T09:02:06.123+08:00": true,
		"2026-11-26T09:02:06-05:30":     true,
		"2026-11-26T9:02:06.8Z":         false,
		"2026-11-26T09:02:06,8Z":        false,
		"2026-11-26T09:02:06.Z":         false,
		"2026-11-26T09:02:06+0800":      false,
		"2026-11-26t09:02:06Z":          false,
		"2026-11-26T09:02:06":           false,
	} {
		var rep map[string]any
		for _, d := range reportDocs(t) {
			if err := json.Unmarshal(d, &rep); err != nil {
				t.Fatal(err)
			}
			break
		}
		rep["startedAt"] = s
		doc, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Report(doc); (err == nil) != want {
			t.Errorf("startedAt %q: error %v, want accepted=%v", s, err, want)
		}
		if serr := schemacheck.ValidateJSON(doc); want && serr != nil {
			t.Errorf("startedAt %q: the JSON Schema refuses it too: %v", s, serr)
		}
	}
}
