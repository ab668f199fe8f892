package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// formatReports are the fixtures' reports with a suppression, an expired
// and an unused entry, and a baseline mark, so every kind of result and
// test case appears.
func formatReports(t *testing.T) map[string]*diag.Report {
	t.Helper()
	reps, snaps := fixtureReports(t)
	for name, rep := range reps {
		diag.Suppress(rep, []diag.Suppression{
			{Check: "docker.exited-containers", Reason: "CI agents <leave> them & \"more\""},
			{Check: "disk.*", Reason: "old", Until: "2000-01-01"},
			{Finding: "no.such/*", Reason: "typo"},
		}, snaps[name].Now())
		MarkNew(rep, &diag.Report{})
	}
	return reps
}

func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(filepath.Join("testdata", "sarif", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatalf("compile the official SARIF schema: %v", err)
	}
	return s
}

// TestSARIFValidatesAgainstOfficialSchema: every fixture's report as SARIF
// validates against the OASIS SARIF 2.1.0 JSON Schema (draft-04, formats
// asserted); rules are the registry's with help text; levels follow the
// severities; provenance in the evidence becomes file:line locations.
func TestSARIFValidatesAgainstOfficialSchema(t *testing.T) {
	schema := sarifSchema(t)
	for name, rep := range formatReports(t) {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, rep, FormatSARIF, Options{Checks: checks.All()}); err != nil {
				t.Fatal(err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(doc); err != nil {
				t.Fatalf("SARIF does not validate: %v\n%s", err, b.String())
			}
			var log sarifLog
			if err := json.Unmarshal(b.Bytes(), &log); err != nil {
				t.Fatal(err)
			}
			run := log.Runs[0]
			for _, c := range checks.All() {
				i := slices.IndexFunc(run.Tool.Driver.Rules, func(r sarifRule) bool { return r.ID == c.ID })
				if i < 0 || run.Tool.Driver.Rules[i].Help == nil || run.Tool.Driver.Rules[i].Help.Text == "" {
					t.Errorf("rule %s missing or without help", c.ID)
				}
			}
			if len(run.Results) != len(rep.Findings) {
				t.Fatalf("%d results for %d findings", len(run.Results), len(rep.Findings))
			}
			for i, res := range run.Results {
				f := rep.Findings[i]
				if res.RuleID != f.Check || run.Tool.Driver.Rules[res.RuleIndex].ID != f.Check || res.Level != sarifLevel(f.Severity) {
					t.Errorf("result %d = %s/%d/%s for finding %s (%s)", i, res.RuleID, res.RuleIndex, res.Level, f.ID, f.Severity)
				}
				if (f.Suppressed != nil) != (len(res.Suppressions) == 1) {
					t.Errorf("finding %s suppressed=%v, SARIF suppressions %v", f.ID, f.Suppressed != nil, res.Suppressions)
				}
			}
		})
	}
}

// TestSARIFSchemaRefusesWhatIsWrong: the schema as loaded does judge (a
// level SARIF does not know and a line 0 are refused).
func TestSARIFSchemaRefusesWhatIsWrong(t *testing.T) {
	schema := sarifSchema(t)
	for _, doc := range []string{
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"k"}},"results":[{"level":"critical","message":{"text":"m"}}]}]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"k"}},"results":[{"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"file:///a"},"region":{"startLine":0}}}]}]}]}`,
		`{"version":"2.0.0","runs":[]}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if schema.Validate(v) == nil {
			t.Errorf("the SARIF schema accepts %s", doc)
		}
	}
}

// TestSARIFLocationsFromProvenance: the dockerd flag/daemon.json conflict
// fixture names a drop-in line and daemon.json lines; SARIF carries them.
func TestSARIFLocationsFromProvenance(t *testing.T) {
	rep := formatReports(t)["dockerconf-conflict"]
	var b bytes.Buffer
	if err := Write(&b, rep, FormatSARIF, Options{Checks: checks.All()}); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, res := range log.Runs[0].Results {
		if res.RuleID != "docker.config-conflict" {
			continue
		}
		for _, l := range res.Locations {
			got = append(got, fmt.Sprintf("%s:%d", l.Physical.Artifact.URI, l.Physical.Region.StartLine))
		}
	}
	for _, want := range []string{
		"file:///etc/systemd/system/docker.service.d/docker-options.conf:2",
		"file:///etc/docker/daemon.json:2",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("docker.config-conflict locations %v lack %s", got, want)
		}
	}
}

// TestJUnitValidatesAgainstXSD: every fixture's report as JUnit XML is
// valid against the xUnit plugin's junit-10.xsd (xmllint --schema, from
// Debian's libxml2-utils), with one test case per check: fail → failure,
// error → error, skipped → skipped, and a check whose only warning is
// suppressed passes.
func TestJUnitValidatesAgainstXSD(t *testing.T) {
	testbed.Require(t, "xmllint")
	xsd, err := filepath.Abs(filepath.Join("testdata", "junit", "junit-10.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, rep := range formatReports(t) {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, rep, FormatJUnit, Options{}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name+".xml")
			if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("xmllint", "--noout", "--schema", xsd, path).CombinedOutput()
			if err != nil {
				t.Fatalf("xmllint --schema junit-10.xsd: %v\n%s\n%s", err, out, b.String())
			}
			var doc junitSuites
			if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			cases := doc.Suites[0].Cases
			if len(cases) != len(rep.Checks) {
				t.Fatalf("%d test cases for %d checks", len(cases), len(rep.Checks))
			}
			for i, c := range rep.Checks {
				tc := cases[i]
				var kind string
				switch {
				case tc.Failure != nil:
					kind = "fail"
				case tc.Error != nil:
					kind = "error"
				case tc.Skipped != nil:
					kind = "skipped"
				default:
					kind = "pass"
				}
				want := string(c.Status)
				if c.ID == "docker.exited-containers" && c.Status == diag.StatusFail {
					want = "pass" // its only finding is suppressed
				}
				if c.ID == diag.SuppressionsCheck {
					want = "fail" // the expired entry
				}
				if tc.Name != c.ID || kind != want {
					t.Errorf("test case %s is %s, want %s (check status %s)", tc.Name, kind, want, c.Status)
				}
			}
		})
	}
}

// TestJUnitXSDRefusesWhatIsWrong: xmllint with junit-10.xsd does judge.
func TestJUnitXSDRefusesWhatIsWrong(t *testing.T) {
	testbed.Require(t, "xmllint")
	path := filepath.Join(t.TempDir(), "bad.xml")
	bad := `<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase classname="c"/></testsuite></testsuites>`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("xmllint", "--noout", "--schema", filepath.Join("testdata", "junit", "junit-10.xsd"), path).CombinedOutput(); err == nil {
		t.Fatalf("a test case without a name passes the XSD:\n%s", out)
	}
}

// TestJUnitKeepsControlCharactersOut: node data with control characters
// and markup still gives well-formed XML.
func TestJUnitKeepsControlCharactersOut(t *testing.T) {
	rep := &diag.Report{Host: diag.HostFacts{Hostname: "n\x1b[31m1"}, StartedAt: time.Unix(0, 0),
		Checks:   []diag.CheckResult{{ID: "a.b", Status: diag.StatusFail}},
		Findings: []diag.Finding{{ID: "a.b/x", Check: "a.b", Severity: diag.Critical, Title: "<t> & \x00", Summary: "]]> \x07"}}}
	var b bytes.Buffer
	if err := Write(&b, rep, FormatJUnit, Options{}); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not well-formed: %v\n%q", err, b.String())
	}
	if doc.Suites[0].Cases[0].Failure == nil {
		t.Fatal("critical finding gave no failure")
	}
}
