package diag

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// SuppressionsCheck is the check ID under which the engine reports on the
// configuration's suppressions: an expired entry (a warning) and an entry
// that matched nothing (info).
const SuppressionsCheck = "ksdoctor.suppressions"

// Suppression is one entry of the configuration's suppressions list. A
// finding is suppressed when every field given matches: Check (the check
// ID), Finding (the finding ID) and Node (the hostname) are path.Match
// patterns, so "net.foo/*" matches "net.foo/bar" but "*" never crosses a
// "/". Reason is mandatory; Until (YYYY-MM-DD, UTC) ends the suppression
// after that day, and from then on the entry is a warning of its own.
type Suppression struct {
	Check   string `json:"check,omitempty"`
	Finding string `json:"finding,omitempty"`
	Node    string `json:"node,omitempty"`
	Reason  string `json:"reason"`
	Until   string `json:"until,omitempty"`
}

// Suppressed marks a finding that a configured suppression silences: it
// stays in every report, counted in Summary.Suppressed and not in its
// severity, and never raises the exit code.
type Suppressed struct {
	// Entry is the suppression's position in the configuration, from 1.
	Entry  int    `json:"entry"`
	Reason string `json:"reason"`
	Until  string `json:"until,omitempty"`
}

const dateLayout = "2006-01-02"

func (s Suppression) validate() error {
	var errs []error
	if strings.TrimSpace(s.Reason) == "" {
		errs = append(errs, errors.New("reason is mandatory: say why the finding may be ignored"))
	}
	if s.Check == "" && s.Finding == "" {
		errs = append(errs, errors.New("name a check or a finding (a node alone would silence the whole node)"))
	}
	for name, pat := range map[string]string{"check": s.Check, "finding": s.Finding, "node": s.Node} {
		if _, err := path.Match(pat, ""); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, pat, err))
		}
	}
	if s.Until != "" {
		if _, err := time.Parse(dateLayout, s.Until); err != nil {
			errs = append(errs, fmt.Errorf("until %q: want a date YYYY-MM-DD", s.Until))
		}
	}
	return errors.Join(errs...)
}

// expired says whether the entry's last day (UTC) ended before now.
func (s Suppression) expired(now time.Time) bool {
	if s.Until == "" {
		return false
	}
	day, err := time.Parse(dateLayout, s.Until)
	if err != nil {
		return false
	}
	return !now.UTC().Before(day.AddDate(0, 0, 1))
}

func globMatch(pat, s string) bool {
	if pat == "" {
		return true
	}
	ok, _ := path.Match(pat, s)
	return ok
}

func (s Suppression) matches(f Finding) bool {
	return globMatch(s.Check, f.Check) && globMatch(s.Finding, f.ID)
}

func (s Suppression) describe() string {
	var parts []string
	for _, kv := range [][2]string{{"check", s.Check}, {"finding", s.Finding}, {"node", s.Node}, {"until", s.Until}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, " ")
}

// Suppress applies the configured suppressions to rep, judged at now (the
// snapshot's time, so a replay gives the same result). Entries whose Node
// does not match the report's host are left out. A matching finding gets
// Suppressed (from the first entry that matches); an expired entry
// suppresses nothing and becomes a warning finding
// ksdoctor.suppression-expired/N; an entry that matches nothing becomes an
// info finding ksdoctor.suppression-unused/N. With any entry for this node,
// rep gets a check result SuppressionsCheck. The summary is recounted.
func Suppress(rep *Report, entries []Suppression, now time.Time) {
	var extra []Finding
	applied := false
	for i, e := range entries {
		n := i + 1
		if e.Node != "" && !globMatch(e.Node, rep.Host.Hostname) {
			continue
		}
		applied = true
		var matched []string
		for j := range rep.Findings {
			f := &rep.Findings[j]
			if !e.matches(*f) {
				continue
			}
			matched = append(matched, f.ID)
			if !e.expired(now) && f.Suppressed == nil {
				f.Suppressed = &Suppressed{Entry: n, Reason: e.Reason, Until: e.Until}
			}
		}
		switch {
		case e.expired(now):
			extra = append(extra, expiredFinding(n, e, matched))
		case len(matched) == 0:
			extra = append(extra, unusedFinding(n, e))
		}
	}
	if !applied {
		return
	}
	res := CheckResult{ID: SuppressionsCheck, Title: "Suppressions in the configuration", Status: StatusPass, Findings: len(extra)}
	for _, f := range extra {
		if f.Severity == Warning {
			res.Status = StatusFail
		}
	}
	rep.Checks = append(rep.Checks, res)
	rep.Findings = append(rep.Findings, extra...)
	SortFindings(rep.Findings)
	rep.Summary = Summarize(rep.Findings).WithChecks(rep.Checks)
}

func expiredFinding(n int, e Suppression, matched []string) Finding {
	f := Finding{
		ID:       "ksdoctor.suppression-expired/" + strconv.Itoa(n),
		Check:    SuppressionsCheck,
		Severity: Warning,
		Title:    "A suppression in the configuration has expired",
		Summary: fmt.Sprintf("Suppression %d (%s) ended on %s; the findings it matched are reported again. Reason given: %s",
			n, e.describe(), e.Until, e.Reason),
		Explanation: "Renew the entry with a new until date if the reason still holds, or remove it.",
		Evidence:    []Evidence{{Label: "entry", Value: strconv.Itoa(n)}, {Label: "until", Value: e.Until}},
	}
	if len(matched) > 0 {
		f.Evidence = append(f.Evidence, Evidence{Label: "matches", Value: strings.Join(matched, ", ")})
	}
	return f
}

func unusedFinding(n int, e Suppression) Finding {
	return Finding{
		ID:       "ksdoctor.suppression-unused/" + strconv.Itoa(n),
		Check:    SuppressionsCheck,
		Severity: Info,
		Title:    "A suppression in the configuration matches no finding",
		Summary: fmt.Sprintf("Suppression %d (%s) matched nothing in this report: a typo in the ID, a check that was not run, or a problem that is gone.",
			n, e.describe()),
		Explanation: "Run 'ksdoctor checks' for the check IDs and 'ksdoctor sweep --no-ignore' for the finding IDs; remove the entry if the problem is gone.",
		Evidence:    []Evidence{{Label: "entry", Value: strconv.Itoa(n)}, {Label: "reason", Value: e.Reason}},
	}
}
