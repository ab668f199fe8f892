package checks

import (
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
)

func TestDockerDaemonUnreachable(t *testing.T) {
	up := &diag.Snapshot{Sources: map[diag.Source]*diag.SourceStatus{diag.SourceDocker: {OK: true}}, Docker: &diag.DockerFacts{Reachable: true}}
	if fs, err := DockerDaemonUnreachable.Judge(up, nil); err != nil || len(fs) != 0 {
		t.Errorf("answering daemon: %v, %v", ids(fs), err)
	}
	down := &diag.Snapshot{
		Sources: map[diag.Source]*diag.SourceStatus{diag.SourceDocker: {OK: false, Error: "dial unix /var/run/docker.sock: connect: connection refused"}},
		Docker:  &diag.DockerFacts{Address: "unix:///var/run/docker.sock"},
	}
	fs, err := DockerDaemonUnreachable.Judge(down, nil)
	if err != nil || len(fs) != 1 || fs[0].Severity != diag.Critical {
		t.Fatalf("refused socket: %v, %v", ids(fs), err)
	}
	if got := fs[0].Evidence[1].Value; got != "dial unix /var/run/docker.sock: connect: connection refused" {
		t.Errorf("error evidence %q", got)
	}
}
