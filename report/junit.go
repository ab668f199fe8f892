package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// JUnit XML as Jenkins, GitLab and most CI read it (the xUnit plugin's
// junit-10.xsd, in report/testdata/junit): one test suite per report, one
// test case per check.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Hostname  string      `xml:"hostname,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped"`
	Error     *junitMessage `xml:"error"`
	Failure   *junitMessage `xml:"failure"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

func seconds(ms float64) string { return fmt.Sprintf("%.3f", ms/1000) }

// junitFindingText is one finding as a failure body or system-out line.
func junitFindingText(f diag.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s [%s]\n  %s\n", strings.ToUpper(string(f.Severity)), f.Title, f.ID, f.Summary)
	if s := f.Suppressed; s != nil {
		fmt.Fprintf(&b, "  suppressed (entry %d%s): %s\n", s.Entry, untilNote(s.Until), s.Reason)
	}
	for _, rem := range f.Remediations {
		fmt.Fprintf(&b, "  fix (%s risk): ksdoctor fix %s\n", rem.Risk, rem.ID)
	}
	return b.String()
}

// junitCaseFor turns a check's result into a test case: failure when a
// finding at warning or above is not suppressed, error when the check
// could not judge, skipped when it did not apply. Suppressed and info
// findings go to system-out.
func junitCaseFor(c diag.CheckResult, fs []diag.Finding) junitCase {
	class, _, _ := strings.Cut(c.ID, ".")
	tc := junitCase{Name: c.ID, Classname: "ksdoctor." + class, Time: seconds(c.DurationMs)}
	var failing, other strings.Builder
	worst, n := diag.Severity(""), 0
	for _, f := range fs {
		if f.Suppressed == nil && f.Severity.Rank() >= diag.Warning.Rank() {
			failing.WriteString(junitFindingText(f))
			n++
			if worst == "" || f.Severity.Rank() > worst.Rank() {
				worst = f.Severity
			}
			continue
		}
		other.WriteString(junitFindingText(f))
	}
	tc.SystemOut = other.String()
	switch {
	case c.Status == diag.StatusError:
		tc.Error = &junitMessage{Message: "could not judge: " + c.Error, Type: "error", Body: failing.String()}
	case c.Status == diag.StatusSkipped:
		tc.Skipped = &junitMessage{Message: c.Reason}
	case n > 0:
		tc.Failure = &junitMessage{Message: fmt.Sprintf("%d finding(s), worst %s", n, worst), Type: string(worst), Body: failing.String()}
	}
	return tc
}

// writeJUnit renders r as JUnit XML.
func writeJUnit(w io.Writer, r *diag.Report) error {
	byCheck := map[string][]diag.Finding{}
	for _, f := range r.Findings {
		byCheck[f.Check] = append(byCheck[f.Check], f)
	}
	suite := junitSuite{
		Name:      "ksdoctor " + r.Host.Hostname,
		Time:      seconds(float64(r.DurationMs)),
		Timestamp: r.StartedAt.UTC().Format("2006-01-02T15:04:05"),
		Hostname:  r.Host.Hostname,
	}
	for _, c := range r.Checks {
		tc := junitCaseFor(c, byCheck[c.ID])
		suite.Tests++
		switch {
		case tc.Failure != nil:
			suite.Failures++
		case tc.Error != nil:
			suite.Errors++
		case tc.Skipped != nil:
			suite.Skipped++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{Name: "ksdoctor", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
