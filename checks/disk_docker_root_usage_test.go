package checks

import (
	"slices"
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
			rem := dataRootMigrateRemediation(diag.NewPass(&DiskDockerRootUsage, base(tc.inputs, mv), nil))
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

func TestDiskDockerRootUsage(t *testing.T) {
	tests := []struct {
		name       string
		used, free uint64
		fsErr      string
		want       []string
		err        bool
	}{
		{"half full", 50, 50, "", nil, false},
		{"85 percent", 85, 15, "", []string{"disk.docker-root-usage=warning"}, false},
		{"95 percent", 95, 5, "", []string{"disk.docker-root-usage=critical"}, false},
		{"not measurable", 0, 0, "permission denied", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &diag.Snapshot{Sources: map[diag.Source]*diag.SourceStatus{diag.SourceFilesystems: {OK: true}},
				Filesystems: []diag.Filesystem{{Purpose: purposeDockerRoot, Path: "/var/lib/docker", TotalBytes: (tc.used + tc.free) << 30,
					UsedBytes: tc.used << 30, FreeBytes: tc.free << 30, Error: tc.fsErr}}}
			fs, err := DiskDockerRootUsage.Judge(s, diag.DefaultConfig())
			if (err != nil) != tc.err || !slices.Equal(ids(fs), tc.want) {
				t.Errorf("got %v (%v), want %v, error %v", ids(fs), err, tc.want, tc.err)
			}
		})
	}
}
