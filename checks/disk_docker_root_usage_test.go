package checks

import (
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

func TestDataRootMigrateRemediation(t *testing.T) {
	files := map[string]string{
		"/lib/systemd/system/docker.service": "[Service]\nExecStart=/usr/sbin/dockerd -H fd://\n",
		"/etc/docker/daemon.json":            "{\n  \"log-opts\": {\"max-size\": \"10m\"}\n}\n",
	}
	base := func(inputs map[string]string, mv diag.DataRootMoveFacts) *diag.Snapshot {
		s := confSnapshot(files, nil)
		s.Inputs = inputs
		s.DockerConf.Move = &mv
		return s
	}
	ok := diag.DataRootMoveFacts{From: "/var/lib/docker", FromBytes: 1 << 30, FromFiles: 1000, To: "/data/docker", ToEmpty: true, ToFreeBytes: 10 << 30}
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		mutate func(*diag.DataRootMoveFacts)
		steps  int
		want   string
	}{
		{"no input", nil, nil, 0, "--to DIR"},
		{"not empty", map[string]string{"to": "/data/docker"}, func(m *diag.DataRootMoveFacts) { m.ToEmpty = false }, 0, "not empty"},
		{"no room", map[string]string{"to": "/data/docker"}, func(m *diag.DataRootMoveFacts) { m.ToFreeBytes = 1 << 30 }, 0, "needs"},
		{"inside", map[string]string{"to": "/var/lib/docker/new"}, func(m *diag.DataRootMoveFacts) { m.To = "/var/lib/docker/new" }, 0, "inside the data-root"},
		{"edit daemon.json", map[string]string{"to": "/data/docker"}, nil, 1, "\"data-root\": \"/data/docker\""},
		{"symlink", map[string]string{"to": "/data/docker", "symlink": "true"}, nil, 1, "becomes a symlink"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mv := ok
			if tc.mutate != nil {
				tc.mutate(&mv)
			}
			rem := DataRootMigrateRemediation(base(tc.inputs, mv))
			if len(rem.Plan.Steps) != tc.steps || !strings.Contains(rem.Preview, tc.want) {
				t.Fatalf("steps %d (want %d), preview:\n%s", len(rem.Plan.Steps), tc.steps, rem.Preview)
			}
			if rem.Input == nil || rem.Input.Name != "to" {
				t.Errorf("input %+v", rem.Input)
			}
			if tc.steps == 1 && tc.inputs["symlink"] == "" {
				m := rem.Plan.Steps[0].Migration
				p := dockerconf.Predict(confSnapshot(files, nil).DockerConf, map[string]string{m.Edit.Path: m.Edit.Content})
				if o, _ := diag.Option(p.OnDisk, "data-root"); o.Value != "/data/docker" || p.StartError != "" {
					t.Errorf("after the edit: %+v %s", o, p.StartError)
				}
			}
		})
	}
}
