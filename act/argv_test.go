package act

import (
	"context"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

// TestIPTablesValuesThatLookLikeOptionsAreRefused: a chain, table or
// option value that iptables could read as a flag never reaches it.
func TestIPTablesValuesThatLookLikeOptionsAreRefused(t *testing.T) {
	good := diag.IPTablesRule{Table: "nat", Chain: "POSTROUTING",
		Rule: []string{"-s", "172.17.0.0/16", "!", "-o", "docker0", "-m", "addrtype", "!", "--dst-type", "LOCAL", "-m", "comment", "--comment", "ksdoctor: docker0 masquerade", "-j", "MASQUERADE"}}
	if err := validRule(&good); err != nil {
		t.Fatalf("a good rule refused: %v", err)
	}
	for name, mut := range map[string]func(r *diag.IPTablesRule){
		"chain -F":        func(r *diag.IPTablesRule) { r.Chain = "-F" },
		"chain --flush":   func(r *diag.IPTablesRule) { r.Chain = "--flush" },
		"table":           func(r *diag.IPTablesRule) { r.Table = "--table=nat" },
		"interface -F":    func(r *diag.IPTablesRule) { r.Rule[4] = "-F" },
		"source --flush":  func(r *diag.IPTablesRule) { r.Rule[1] = "--flush" },
		"jump --delete":   func(r *diag.IPTablesRule) { r.Rule[len(r.Rule)-1] = "--delete" },
		"newline in rule": func(r *diag.IPTablesRule) { r.Rule[13] = "x\n-F" },
	} {
		r := good
		r.Rule = append([]string(nil), good.Rule...)
		mut(&r)
		if err := validRule(&r); err == nil {
			t.Errorf("%s: accepted %v %s %v", name, r.Table, r.Chain, r.Rule)
		}
		// The step handler refuses before running anything.
		_, err := addIPTablesRule(context.Background(), newExecution(&Executor{}), diag.Step{Kind: diag.StepIPTablesRule, IPTablesRule: &r})
		if err == nil || !strings.Contains(err.Error(), "iptables rule") {
			t.Errorf("%s: the step handler said %v", name, err)
		}
	}
}
