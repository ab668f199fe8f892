package checks

import (
	"fmt"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// unparsedSkip skips a check that judges what the configuration says when a file of
// it does not parse (or systemd refuses the unit): its content is unknown, and judging
// dockerd's defaults instead would be wrong.
func unparsedSkip(f *diag.DockerConfFacts) error {
	if len(f.Unparsed) == 0 {
		return nil
	}
	return diag.Skip("%s does not parse (see docker.config-unparseable): what it sets is unknown, so defaults are not judged",
		strings.Join(f.Unparsed, ", "))
}

// refusedEdit is a remediation that will not edit a file that does not parse: an empty
// plan whose title and preview say why.
func refusedEdit(id string, f *diag.DockerConfFacts) diag.Remediation {
	why := strings.Join(f.Unparsed, ", ") + " does not parse"
	return diag.Remediation{
		ID:      id,
		Title:   "Cannot change the docker configuration: " + why,
		Risk:    diag.RiskHigh,
		Preview: "Refused: " + why + "; ksdoctor does not edit a file it cannot read whole. Fix the file by hand (see docker.config-unparseable). Nothing will be changed.",
	}
}

// plannedEdit is a file change computed from the snapshot.
type plannedEdit struct {
	path, before, after, beforeSum string
	exists                         bool
	mode                           uint32
}

// editSet collects the planned edits of one remediation, one per file, in
// the order the files were first touched.
type editSet struct {
	facts  *diag.DockerConfFacts
	byPath map[string]*plannedEdit
	order  []string
}

func newEditSet(f *diag.DockerConfFacts) *editSet {
	return &editSet{facts: f, byPath: map[string]*plannedEdit{}}
}

// get returns the edit of file p, starting it from the file's content.
func (es *editSet) get(p string) *plannedEdit {
	if e, ok := es.byPath[p]; ok {
		return e
	}
	e := editOf(es.facts, p)
	es.byPath[p] = &e
	es.order = append(es.order, p)
	return &e
}

// list returns the edits in order.
func (es *editSet) list() []plannedEdit {
	out := make([]plannedEdit, 0, len(es.order))
	for _, p := range es.order {
		out = append(out, *es.byPath[p])
	}
	return out
}

func editOf(f *diag.DockerConfFacts, p string) plannedEdit {
	cf, _ := f.File(p)
	return plannedEdit{path: p, before: cf.Content, after: cf.Content, beforeSum: cf.SHA256, exists: cf.Exists, mode: cf.Mode}
}

func (e plannedEdit) step() diag.Step {
	verb := "edit"
	if !e.exists {
		verb = "create"
	}
	return diag.Step{
		Kind:        diag.StepFileEdit,
		Description: fmt.Sprintf("%s %s (backup beside it)", verb, e.path),
		File: &diag.FileEdit{Path: e.path, BeforeSHA256: e.beforeSum, Content: e.after, Mode: e.mode,
			Diff: dockerconf.UnifiedDiff(e.path, e.before, e.after)},
	}
}

// finishEdits drops unchanged edits and refuses a set that would not start.
func finishEdits(pass *diag.Pass, edits []plannedEdit) ([]plannedEdit, error) {
	var out []plannedEdit
	m := map[string]string{}
	for _, e := range edits {
		if e.after != e.before || !e.exists {
			out = append(out, e)
			m[e.path] = e.after
		}
	}
	if p := dockerconf.Predict(pass.DockerConf(), m); p.StartError != "" {
		return nil, fmt.Errorf("dockerd would still refuse to start: %s", p.StartError)
	}
	return out, nil
}

func daemonJSONExists(f *diag.DockerConfFacts) bool {
	cf, ok := f.File(f.DaemonJSON)
	return ok && cf.Exists
}

// hasFlagLine reports whether some flag comes from a drop-in or environment file.
func hasFlagLine(f *diag.DockerConfFacts) bool {
	_, ok := lastDropInFlagOK(f)
	return ok
}

func lastDropInFlag(f *diag.DockerConfFacts) diag.DockerOption {
	o, _ := lastDropInFlagOK(f)
	return o
}

func lastDropInFlagOK(f *diag.DockerConfFacts) (diag.DockerOption, bool) {
	var out diag.DockerOption
	ok := false
	for _, o := range f.OnDisk {
		if o.FromFlag() && o.At.Via != "" && o.At.File != "" && len(o.Tokens) > 0 {
			out, ok = o, true
		}
	}
	return out, ok
}
