package report

import (
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestRedactPlanFileContent(t *testing.T) {
	content := "[Service]\nEnvironment=\"HTTP_PROXY=http://ops:s3cr3t@proxy.local:3128\"\nEnvironment=\"DOCKER_OPTS=--iptables=false\"\n"
	fe := &diag.FileEdit{Path: "/etc/systemd/system/docker.service.d/http-proxy.conf", Content: content, Diff: content}
	r := &diag.Report{Findings: []diag.Finding{{ID: "x", Remediations: []diag.Remediation{{ID: "x/y", Preview: "see http://ops:s3cr3t@proxy.local",
		Plan: diag.Plan{Steps: []diag.Step{{Kind: diag.StepFileEdit, File: fe}}}}}}}}
	out := Redact(r)
	got := out.Findings[0].Remediations[0]
	if strings.Contains(got.Plan.Steps[0].File.Content, "s3cr3t") || strings.Contains(got.Plan.Steps[0].File.Diff, "s3cr3t") || strings.Contains(got.Preview, "s3cr3t") {
		t.Errorf("secret in output: %+v", got)
	}
	if !strings.Contains(fe.Content, "s3cr3t") {
		t.Error("the plan itself was changed: applying it would write the mask")
	}
}
