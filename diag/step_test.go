package diag

import "testing"

func TestStepValidate(t *testing.T) {
	rule := &IPTablesRule{Table: "nat", Chain: "POSTROUTING", Rule: []string{"-j", "MASQUERADE"}}
	tests := []struct {
		name string
		step Step
		ok   bool
	}{
		{"rule with its payload", Step{Kind: StepIPTablesRule, IPTablesRule: rule}, true},
		{"rule without payload", Step{Kind: StepIPTablesRule}, false},
		{"rule with the wrong payload", Step{Kind: StepIPTablesRule, Sysctl: &SysctlChange{Key: "net.ipv4.ip_forward", Value: "1"}}, false},
		{"rule with two payloads", Step{Kind: StepIPTablesRule, IPTablesRule: rule, Pod: &PodTarget{Name: "p"}}, false},
		{"no-payload kind", Step{Kind: StepDockerWaitReady}, true},
		{"no-payload kind carrying one", Step{Kind: StepServiceDaemonReload, Service: &ServiceTarget{Unit: "docker.service"}}, false},
		{"service step naming its unit", Step{Kind: StepServiceRestart, Service: &ServiceTarget{Unit: "docker.service"}}, true},
		{"service step on the default unit", Step{Kind: StepServiceRestart}, true},
		{"migration", Step{Kind: StepDataRootMigrate, Migration: &DataRootMove{From: "/var/lib/docker", To: "/data/docker"}}, true},
		{"unknown kind", Step{Kind: "docker.reboot"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.step.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	// Every kind has an entry: a new kind must say which payload it takes.
	for _, k := range []StepKind{StepRemoveContainer, StepRemoveImage, StepPruneBuildCache, StepIPTablesRule, StepSysctlSet,
		StepSysctlPersist, StepFileEdit, StepServiceDaemonReload, StepServiceRestart, StepServiceStop, StepServiceStart,
		StepServiceRestartOnRollback, StepServiceResetFailed, StepDockerConfigValidate, StepDockerWaitReady,
		StepDataRootMigrate, StepDeletePod, StepRestartWorkload} {
		if _, ok := payloadOf[k]; !ok {
			t.Errorf("kind %s has no payload entry", k)
		}
	}
}

// TestRunRefusesAMalformedPlan: a check whose remediation carries a step
// without its payload errors instead of offering the plan.
func TestRunRefusesAMalformedPlan(t *testing.T) {
	c := Check{ID: "a.bad-plan", Run: func(p *Pass) ([]Finding, error) {
		return []Finding{{Severity: Warning, Remediations: []Remediation{{ID: p.RemediationID("fix"), Plan: Plan{Steps: []Step{{Kind: StepIPTablesRule}}}}}}}, nil
	}}
	rep := Run([]Check{c}, &Snapshot{Sources: map[Source]*SourceStatus{}}, nil, RunOptions{})
	if rep.Checks[0].Status != StatusError {
		t.Errorf("status %s, want error", rep.Checks[0].Status)
	}
}
