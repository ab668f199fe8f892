package diag

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte("disk:\n  warnPercent: 70\ntimeouts:\n  source: 2s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Disk.WarnPercent != 70 || c.Disk.CriticalPercent != 90 || c.Timeouts.Source.Duration != 2*time.Second || c.ExitedContainers.WarnCount != 10 {
		t.Errorf("got %+v", c)
	}
	for _, tt := range []struct{ name, yaml, want string }{
		{"unknown key", "disk:\n  warnPercnt: 70\n", "warnPercnt"},
		{"not yaml", "disk: [unclosed\n", "parse config"},
		{"inverted thresholds", "disk:\n  warnPercent: 95\n  criticalPercent: 90\n", "above"},
		{"bad duration", "timeouts:\n  sweep: forever\n", "duration"},
	} {
		_, err := ParseConfig([]byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestReadSnapshotRefusesOthers(t *testing.T) {
	for _, tt := range []struct{ name, doc, want string }{
		{"not json", "hello", "not a ksdoctor snapshot"},
		{"a report", `{"schemaVersion":1,"tool":{"name":"ksdoctor"},"findings":[]}`, "sources missing"},
		{"other tool", `{"schemaVersion":1,"tool":{"name":"popeye"},"sources":{}}`, "not a ksdoctor snapshot"},
		{"future version", `{"schemaVersion":99,"tool":{"name":"ksdoctor"},"sources":{}}`, "schemaVersion 99 is not supported"},
		{"unknown field", `{"schemaVersion":1,"tool":{"name":"ksdoctor"},"sources":{},"surprise":1}`, "unknown field"},
	} {
		_, err := ReadSnapshot(strings.NewReader(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
	s, err := ReadSnapshot(strings.NewReader(`{"schemaVersion":1,"tool":{"name":"ksdoctor","version":"x"},"sources":{"host":{"source":"host","ok":true,"durationMs":1}}}`))
	if err != nil || !s.Has(SourceHost) {
		t.Fatalf("valid snapshot refused: %v", err)
	}
}

func TestFilesystemPercent(t *testing.T) {
	f := Filesystem{UsedBytes: 90, FreeBytes: 10, TotalInodes: 100, FreeInodes: 5}
	if f.UsedPercent() != 90 || f.InodesUsedPercent() != 95 {
		t.Errorf("got %v %v", f.UsedPercent(), f.InodesUsedPercent())
	}
	if (Filesystem{}).UsedPercent() != 0 || (Filesystem{}).InodesUsedPercent() != 0 {
		t.Error("empty filesystem not 0 %")
	}
}

func TestKubeletManaged(t *testing.T) {
	for _, tt := range []struct {
		c    Container
		want bool
	}{
		{Container{Name: "k8s_POD_web-1_default_abc_0"}, true},
		{Container{Name: "web", Labels: map[string]string{"io.kubernetes.pod.name": "web"}}, true},
		{Container{Name: "my-build"}, false},
	} {
		if got := tt.c.KubeletManaged(); got != tt.want {
			t.Errorf("%s: got %v", tt.c.Name, got)
		}
	}
}
