package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/act"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// TestFixTimeoutBoundsApply: against a real dockerd behind a proxy that
// holds every DELETE, 'fix --yes --timeout 5s' ends soon after 5 s with
// exit 4; the removals in flight are reported unknown, the journal records
// "timed out", and the held containers are still there.
func TestFixTimeoutBoundsApply(t *testing.T) {
	testbed.Require(t, "dockerd")
	n := newNode(t, testbed.DockerdOptions{})
	for i := range 3 {
		n.d.RunExited(t, fmt.Sprintf("held-%d", i), 1)
	}
	host := dockerProxy(t, n.d.Socket, holdIf(func(r *http.Request) bool { return r.Method == http.MethodDelete }))
	root := t.TempDir()
	start := time.Now()
	r := ksdNS(t, n.d.Netns, "fix", "docker.exited-containers/remove", "--yes", "--timeout", "5s",
		"--docker-host", host, "--dockerd-pidfile", n.d.PIDFile, "--host-root", root)
	took := time.Since(start)
	r.wantCode(t, exitFixFail)
	// 5 s, plus the 2 s Apply waits for steps in flight to return, plus start-up.
	if took > 10*time.Second {
		t.Errorf("fix took %s with --timeout 5s", took)
	}
	for _, w := range []string{"3 unknown", "unknown: docker rm", "timed out", "not re-checked: the fix timed out"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("fix output lacks %q:\n%s", w, r.stdout)
		}
	}
	recs, err := act.ReadJournal(root)
	if err != nil || len(recs) != 1 {
		t.Fatalf("journal: %v %+v", err, recs)
	}
	if recs[0].Outcome != "timed out" || !strings.Contains(recs[0].Error, "timed out") {
		t.Errorf("journal record: outcome %q error %q", recs[0].Outcome, recs[0].Error)
	}
	for _, s := range recs[0].Steps {
		if s.Outcome != "unknown" {
			t.Errorf("journal step %s: %s, want unknown", s.Description, s.Outcome)
		}
	}
	if got := len(listNames(t, n, true)); got != 3 {
		t.Errorf("%d containers left, want the 3 held ones", got)
	}
}
