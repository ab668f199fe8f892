package report

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// SARIF 2.1.0 (OASIS), the subset ksdoctor fills. Field names follow the
// specification; report/testdata/sarif holds the official schema the tests
// validate against.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID               string     `json:"id"`
	Name             string     `json:"name,omitempty"`
	ShortDescription sarifText  `json:"shortDescription"`
	FullDescription  *sarifText `json:"fullDescription,omitempty"`
	Help             *sarifText `json:"help,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	StartTimeUTC        string              `json:"startTimeUtc,omitempty"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level      string       `json:"level"`
	Message    sarifText    `json:"message"`
	Descriptor *sarifDescID `json:"descriptor,omitempty"`
}

type sarifDescID struct {
	ID string `json:"id"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	Physical sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	Artifact sarifArtifact `json:"artifactLocation"`
	Region   *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

// sarifLevel maps a severity to a SARIF result level.
func sarifLevel(s diag.Severity) string {
	switch s {
	case diag.Critical:
		return "error"
	case diag.Warning:
		return "warning"
	}
	return "note"
}

// fileLine finds "/absolute/path:LINE[:COLUMN]" in evidence text, as the
// checks write a setting's provenance (a drop-in's line, daemon.json's).
var fileLine = regexp.MustCompile(`(/[^\s:()"'\[\]]+):([0-9]+)(?::([0-9]+))?`)

// maxLocations bounds the locations of one result.
const maxLocations = 10

// locations are the file:line places a finding's evidence names, in the
// order it names them, each once.
func locations(f diag.Finding) []sarifLocation {
	var texts []string
	for _, e := range f.Evidence {
		texts = append(texts, e.Label, e.Value)
		if e.Table != nil {
			for _, row := range e.Table.Rows {
				texts = append(texts, row...)
			}
		}
	}
	seen := map[string]bool{}
	var out []sarifLocation
	for _, t := range texts {
		for _, m := range fileLine.FindAllStringSubmatch(t, -1) {
			if seen[m[0]] || len(out) == maxLocations {
				continue
			}
			seen[m[0]] = true
			line, err := strconv.Atoi(m[2])
			if err != nil || line < 1 {
				continue
			}
			reg := &sarifRegion{StartLine: line}
			if col, err := strconv.Atoi(m[3]); err == nil && col > 0 {
				reg.StartColumn = col
			}
			out = append(out, sarifLocation{Physical: sarifPhysical{Artifact: sarifArtifact{URI: "file://" + m[1]}, Region: reg}})
		}
	}
	return out
}

// sarifRules lists a rule per check: the registry's when given (title as
// the short description, the doc as help), else the report's checks.
func sarifRules(r *diag.Report, registry []diag.Check) ([]sarifRule, map[string]int) {
	var rules []sarifRule
	index := map[string]int{}
	add := func(id, title, doc string) {
		if _, ok := index[id]; ok || id == "" {
			return
		}
		rule := sarifRule{ID: id, Name: id, ShortDescription: sarifText{Text: title}}
		if doc = strings.TrimSpace(doc); doc != "" {
			first, _, _ := strings.Cut(doc, "\n\n")
			rule.FullDescription = &sarifText{Text: first}
			rule.Help = &sarifText{Text: doc, Markdown: doc}
		}
		index[id] = len(rules)
		rules = append(rules, rule)
	}
	for _, c := range registry {
		add(c.ID, c.Title, c.Doc)
	}
	for _, c := range r.Checks {
		add(c.ID, c.Title, "")
	}
	for _, f := range r.Findings {
		add(f.Check, f.Check, "")
	}
	return rules, index
}

// writeSARIF renders r as a SARIF 2.1.0 log with one run.
func writeSARIF(w io.Writer, r *diag.Report, registry []diag.Check) error {
	rules, index := sarifRules(r, registry)
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "ksdoctor", Version: r.Tool.Version, InformationURI: "https://github.com/ksdoctor/ksdoctor", Rules: rules}},
		Results: []sarifResult{},
		Properties: map[string]any{
			"hostname": r.Host.Hostname,
			"summary":  r.Summary.WithChecks(r.Checks),
		},
	}
	inv := sarifInvocation{ExecutionSuccessful: true, StartTimeUTC: r.StartedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
	for _, c := range r.Checks {
		if c.Status == diag.StatusError {
			inv.Notifications = append(inv.Notifications, sarifNotification{Level: "error",
				Message: sarifText{Text: "check could not judge: " + c.Error}, Descriptor: &sarifDescID{ID: c.ID}})
		}
	}
	run.Invocations = []sarifInvocation{inv}
	for _, f := range r.Findings {
		res := sarifResult{
			RuleID:              f.Check,
			RuleIndex:           index[f.Check],
			Level:               sarifLevel(f.Severity),
			Message:             sarifText{Text: f.Title + ": " + f.Summary},
			Locations:           locations(f),
			PartialFingerprints: map[string]string{"ksdoctorFindingId/v1": f.ID},
			Properties:          map[string]any{"findingId": f.ID, "severity": string(f.Severity)},
		}
		if f.New {
			res.Properties["new"] = true
		}
		if s := f.Suppressed; s != nil {
			res.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted",
				Justification: fmt.Sprintf("ksdoctor configuration, suppression %d: %s", s.Entry, s.Reason)}}
		}
		run.Results = append(run.Results, res)
	}
	log := sarifLog{Schema: "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	return nil
}
