package gather

import (
	"context"
	"strings"
	"testing"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// TestDockerdReleaseFromBinary: with the Docker API unreachable, the release comes from
// the real `dockerd --version` of the binary the unit names.
func TestDockerdReleaseFromBinary(t *testing.T) {
	testbed.Require(t, "dockerd")
	g := New(Options{HostRoot: "/", DockerHost: "unix://" + t.TempDir() + "/none.sock"})
	defer g.Close()
	facts := &diag.DockerConfFacts{Unit: &diag.DockerUnit{Argv: []string{"/usr/bin/dockerd", "-H", "fd://"}}}
	v, from, err := binaryRelease(context.Background(), g, facts)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Known() || !strings.HasPrefix(from, "dockerd --version (") {
		t.Fatalf("release %s from %q", v, from)
	}
	t.Logf("release %s from %s", v, from)
}

func TestDockerdCandidates(t *testing.T) {
	facts := &diag.DockerConfFacts{Unit: &diag.DockerUnit{Argv: []string{"-/opt/bin/dockerd"}}, RunningArgs: []string{"/usr/bin/dockerd", "-H"}}
	got := strings.Join(dockerdCandidates(facts), " ")
	if got != "/opt/bin/dockerd /usr/bin/dockerd /usr/sbin/dockerd /usr/local/bin/dockerd" {
		t.Errorf("candidates %s", got)
	}
}
