package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/redact"
)

// prompt is the part of the dialog pinned below the scrolled plan.
func (fx *fixDialog) prompt() []string {
	st := fx.st
	rule := st.dim.Render(strings.Repeat("─", fx.width))
	switch fx.stage {
	case stageInput:
		return []string{rule, st.header.Render(fx.rem.Input.Prompt) + st.dim.Render(" · enter continues to the preview · esc cancels"), fx.value.View()}
	case stagePreparing:
		return []string{rule, fx.s.spinView() + " taking a fresh look at the node to prepare the exact plan… (esc cancels)"}
	case stagePreview:
		if fx.cand.Remediation.Risk == diag.RiskHigh {
			return []string{rule,
				st.bad.Render("HIGH RISK.") + " Type the node's hostname (" + st.header.Render(fx.hostname()) + ") and press enter to apply; esc cancels.",
				fx.host.View()}
		}
		return []string{rule, st.header.Render("Apply this plan?") + " " + st.ok.Render("y") + " applies · n, esc, enter or any other key cancels"}
	case stageApplying:
		return []string{rule, fx.s.spinView() + " applying, then re-checking on fresh facts…"}
	case stageResult, stageError:
		return []string{rule, st.dim.Render("press any key to go back")}
	}
	return nil
}

func (fx *fixDialog) contentHeight() int {
	return max(fx.height-len(fx.prompt()), 1)
}

// View implements tea.Model.
func (fx *fixDialog) View() string {
	prompt := fx.prompt()
	ch := max(fx.height-len(prompt), 1)
	return fit(fx.sc.view(ch), fx.width, ch) + "\n" + strings.Join(prompt, "\n")
}

// ShortHelp implements help.KeyMap: what one key does at this stage.
func (fx *fixDialog) ShortHelp() []key.Binding {
	k := fx.keys
	switch fx.stage {
	case stagePreview:
		if fx.cand.Remediation.Risk == diag.RiskHigh {
			return []key.Binding{withHelp(k.Submit, "enter", "apply if the hostname matches"), withHelp(k.Back, "esc", "cancel"), withHelp(k.Down, "↑/↓", "scroll")}
		}
		short := []key.Binding{k.Apply, k.Cancel, withHelp(k.Down, "↑/↓", "scroll")}
		if len(fx.finding.Remediations) > 1 {
			short = append(short, k.Pick)
		}
		return short
	case stageInput:
		return []key.Binding{k.Submit, withHelp(k.Back, "esc", "cancel")}
	case stagePreparing:
		return []key.Binding{withHelp(k.Back, "esc", "cancel")}
	case stageApplying:
		return []key.Binding{k.Interrupt}
	}
	return []key.Binding{withHelp(k.Back, "any key", "back")}
}

// FullHelp implements help.KeyMap.
func (fx *fixDialog) FullHelp() [][]key.Binding { return fx.keys.fullHelp() }

// render rebuilds the dialog's scrolled content.
func (fx *fixDialog) render() {
	st, w := fx.st, fx.width
	var out []string
	add := func(lines ...string) { out = append(out, lines...) }
	rem := fx.rem
	if fx.cand != nil {
		// The candidate stays raw (it is what gets applied); the screen
		// shows it masked and with control characters made visible.
		rem = redact.Copy(fx.cand.Remediation, redact.Text)
	}
	n := len(fx.finding.Remediations)
	add(st.title.Render(fmt.Sprintf("Fix %d/%d: ", fx.index+1, n)) + st.header.Render(rem.Title) + " · " + riskLabel(st, rem.Risk))
	add("for " + st.sevLabel(fx.finding.Severity) + " " + fx.finding.Title + "  " + st.dim.Render(fx.finding.ID))
	switch fx.stage {
	case stageInput:
		add("", "This fix needs a value before its plan can be made:")
		add("  " + rem.Input.Prompt)
	case stagePreparing:
		add("", st.dim.Render("remediation "+rem.ID))
	case stagePreview, stageApplying:
		add(st.dim.Render("remediation " + rem.ID + " · plan made from a fresh look at the node"))
		add("")
		for _, l := range strings.Split(rem.Preview, "\n") {
			add(wrap(l, w)...)
		}
		add("")
		plan := "Plan: 1 step"
		if n := len(rem.Plan.Steps); n != 1 {
			plan = fmt.Sprintf("Plan: %d steps", n)
		}
		if rem.Plan.Transactional {
			plan += ", transactional: the first failure stops it and undoes the steps done"
		} else {
			plan += ", each step stands alone"
		}
		add(st.group.Render(plan))
		for i, s := range rem.Plan.Steps {
			add(fmt.Sprintf("  %d. %s  %s", i+1, s.Description, st.dim.Render("["+string(s.Kind)+"]")))
			for _, l := range stepPayload(s) {
				add(diffStyle(st, "     "+l))
			}
		}
		if n > 1 && fx.stage == stagePreview {
			add("", st.group.Render("Other fixes"))
			for i, r := range fx.finding.Remediations {
				if i != fx.index {
					add(fmt.Sprintf("  [%d] %s · %s", i+1, r.Title, riskLabel(st, r.Risk)))
				}
			}
		}
	case stageResult:
		add("")
		add(resultLines(st, fx.res, w)...)
	case stageError:
		add("")
		var nn *doctor.NotNeededError
		if errors.As(fx.err, &nn) {
			add(st.ok.Render("Nothing to do now:"))
		} else {
			add(st.bad.Render("Could not prepare this fix:"))
		}
		add(wrap(redact.Text(fx.err.Error()), w)...)
		add("", "Nothing was applied.")
	}
	fx.sc.set(out)
}

// diffStyle colours the added and removed lines of a diff block.
func diffStyle(st styles, l string) string {
	body := strings.TrimLeft(l, " ")
	switch {
	case strings.HasPrefix(body, "+++") || strings.HasPrefix(body, "---"):
		return st.bold.Render(l)
	case strings.HasPrefix(body, "+"):
		return st.ok.Render(l)
	case strings.HasPrefix(body, "-"):
		return st.bad.Render(l)
	}
	return st.dim.Render(l)
}

// resultLines renders an apply result.
func resultLines(st styles, res *diag.ApplyResult, w int) []string {
	var out []string
	if res.Verified {
		out = append(out, st.ok.Render("✔ Verified: ")+res.Title)
	} else {
		out = append(out, st.bad.Render("✖ NOT verified: ")+res.Title)
	}
	for _, l := range wrap(res.VerifyDetail, w-2) {
		out = append(out, "  "+l)
	}
	line := fmt.Sprintf("%d done · %d skipped · %d already done · %d failed · %s",
		res.Count(diag.OutcomeDone), res.Count(diag.OutcomeSkipped), res.Count(diag.OutcomeNoop), res.Count(diag.OutcomeFailed), fmtMs(res.DurationMs))
	if res.RolledBack {
		line += " · rolled back"
	}
	out = append(out, "", line)
	if res.Error != "" {
		for _, l := range wrap("error: "+res.Error, w) {
			out = append(out, st.bad.Render(l))
		}
	}
	out = append(out, "", st.group.Render("Steps"))
	for _, s := range res.Steps {
		mark := st.ok.Render("✔")
		switch s.Outcome {
		case diag.OutcomeFailed:
			mark = st.bad.Render("✖")
		case diag.OutcomeSkipped, diag.OutcomeNoop:
			mark = st.dim.Render("-")
		}
		detail := ""
		if s.Detail != "" {
			detail = st.dim.Render(" — " + s.Detail)
		}
		out = append(out, fmt.Sprintf("  %s %-8s %s%s", mark, s.Outcome, s.Step.Description, detail))
	}
	return out
}

// stepPayload renders a step's typed payload generically, so the preview
// shows exactly what the executor will receive (IDs, rules, diffs): one
// line of key=value pairs per object, multi-line strings (diffs) as
// indented blocks, nested objects as "parent.child" lines.
func stepPayload(s diag.Step) []string {
	data, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return nil
	}
	delete(fields, "description")
	delete(fields, "kind")
	var out []string
	top := ""
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		var obj map[string]any
		if json.Unmarshal(fields[k], &obj) != nil {
			top = strings.TrimSpace(top + "  " + k + ": " + string(fields[k]))
			continue
		}
		out = append(out, payloadObject(k, obj)...)
	}
	if top != "" {
		out = append([]string{top}, out...)
	}
	return out
}

func payloadObject(name string, obj map[string]any) []string {
	type pair struct{ k, v string }
	var pairs []pair
	var blocks, nested []string
	diff, _ := obj["diff"].(string)
	subkeys := make([]string, 0, len(obj))
	for k := range obj {
		subkeys = append(subkeys, k)
	}
	sort.Strings(subkeys)
	for _, sk := range subkeys {
		switch v := obj[sk].(type) {
		case map[string]any:
			nested = append(nested, payloadObject(name+"."+sk, v)...)
			continue
		case string:
			if sk == "content" && diff != "" {
				// The diff below shows the change; the whole new file
				// would only push it off the screen.
				pairs = append(pairs, pair{sk, fmt.Sprintf("<%d bytes: the diff below applied>", len(v))})
				continue
			}
			if strings.Contains(v, "\n") {
				blocks = append(blocks, sk+":")
				for _, l := range strings.Split(strings.TrimRight(v, "\n"), "\n") {
					blocks = append(blocks, "  "+l)
				}
				continue
			}
		}
		v, _ := json.Marshal(obj[sk])
		pairs = append(pairs, pair{sk, string(v)})
	}
	// Short values first, so names are seen before long IDs are cut.
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i].v) < len(pairs[j].v) })
	texts := make([]string, len(pairs))
	for i, p := range pairs {
		texts[i] = p.k + "=" + p.v
	}
	out := []string{name + ": " + strings.Join(texts, " ")}
	out = append(out, blocks...)
	return append(out, nested...)
}
