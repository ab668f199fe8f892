package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/ksdoctor/ksdoctor/act"
	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/doctor"
	"github.com/ksdoctor/ksdoctor/gather"
	"github.com/ksdoctor/ksdoctor/testbed"
)

// kubesprayDropIn is kubespray's docker-options.conf as it renders on a node
// with docker_iptables_enabled: false (roles/container-engine/docker/
// templates/docker-options.conf.j2: one continued Environment= line, empty
// list lines holding only " \"); exec-opt is left out because this machine's
// cgroups are managed by the test, not by a systemd cgroup driver.
const kubesprayDropIn = "[Service]\n" +
	"Environment=\"DOCKER_OPTS= --iptables=false \\\n" +
	" \\\n" +
	" --data-root=/var/lib/docker \\\n" +
	" --log-opt max-size=50m --log-opt max-file=5\"\n"

const dropInPath = "/etc/systemd/system/docker.service.d/docker-options.conf"

// machineNode is a real systemd machine running Debian's docker.service with
// kubespray's drop-in, and the ksdoctor under test bound inside it.
type machineNode struct {
	m *testbed.Machine
}

func bootKubesprayMachine(t *testing.T) *machineNode {
	t.Helper()
	m := testbed.BootMachine(t, testbed.MachineOptions{BindRO: []string{bin + ":/usr/local/bin/ksdoctor"}})
	n := &machineNode{m: m}
	n.resetToKubespray(t)
	return n
}

// resetToKubespray puts kubespray's drop-in back (and no daemon.json) and
// restarts docker on it, clearing any start limit earlier restarts used up.
func (n *machineNode) resetToKubespray(t *testing.T) {
	t.Helper()
	n.m.WriteFile(t, dropInPath, kubesprayDropIn, 0o644)
	n.m.Run(t, "rm", "-f", "/etc/docker/daemon.json")
	n.m.Run(t, "systemctl", "daemon-reload")
	n.m.Run(t, "systemctl", "reset-failed", "docker.service")
	n.m.Run(t, "systemctl", "restart", "docker.service")
	if argv := n.dockerdArgv(t); !strings.Contains(argv, "--iptables=false") {
		t.Fatalf("dockerd runs without kubespray's flags: %s", argv)
	}
}

// inside runs the ksdoctor binary inside the machine, as on the node itself.
func (n *machineNode) inside(t *testing.T, args ...string) result {
	t.Helper()
	argv := append([]string{"nsenter", "-t", strconv.Itoa(n.m.Leader), "-a", "--", "/usr/local/bin/ksdoctor"}, args...)
	return runArgv(t, argv)
}

// outside runs ksdoctor from outside the machine, as a pod with the node's /
// mounted would: --host-root at the machine's root (its /run holds the D-Bus
// sockets), the Docker socket under it, the machine's network namespace.
func (n *machineNode) outside(t *testing.T, args ...string) result {
	t.Helper()
	flags := []string{"--host-root", n.m.Root(), "--docker-host", n.m.DockerHost()}
	return ksdNS(t, n.m.Netns, append(args, flags...)...)
}

// runner runs ksdoctor "inside" the machine, from "outside" through
// --host-root /proc/PID/root, or as a "pod" would (see inPod).
func (n *machineNode) runner(where string) func(*testing.T, ...string) result {
	return map[string]func(*testing.T, ...string) result{"inside": n.inside, "outside": n.outside, "pod": n.inPod}[where]
}

// unitShow asks the machine's systemd for unit properties.
func (n *machineNode) unitShow(t *testing.T, props ...string) map[string]string {
	t.Helper()
	args := []string{"systemctl", "show", "docker.service"}
	for _, p := range props {
		args = append(args, "-p", p)
	}
	out := n.m.Run(t, args...)
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// dockerdArgv is the running dockerd's command line, from the machine's /proc.
func (n *machineNode) dockerdArgv(t *testing.T) string {
	t.Helper()
	pid := n.unitShow(t, "MainPID")["MainPID"]
	if pid == "" || pid == "0" {
		t.Fatalf("docker.service has no main process: %v", n.unitShow(t, "ActiveState", "SubState", "Result"))
	}
	return strings.ReplaceAll(n.m.ReadFile(t, "/proc/"+pid+"/cmdline"), "\x00", " ")
}

const docker0Masquerade = "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"

// wantIPTablesOn asserts what systemd and the kernel say after the fix:
// dockerd runs without --iptables=false and docker0's MASQUERADE is back.
func (n *machineNode) wantIPTablesOn(t *testing.T) {
	t.Helper()
	if argv := n.dockerdArgv(t); strings.Contains(argv, "--iptables=false") {
		t.Errorf("dockerd still runs with --iptables=false: %s", argv)
	}
	if st := n.unitShow(t, "ActiveState", "SubState"); st["ActiveState"] != "active" || st["SubState"] != "running" {
		t.Errorf("docker.service after the fix: %v", st)
	}
	if nat := n.m.Run(t, "iptables-save", "-t", "nat"); !strings.Contains(nat, docker0Masquerade) {
		t.Errorf("no docker0 MASQUERADE in the machine's nat table:\n%s", nat)
	}
}

// journalOutcomes returns the outcome of every journal record in the machine.
func (n *machineNode) journalRecords(t *testing.T) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(n.m.ReadFile(t, "/var/lib/ksdoctor/journal.jsonl")), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("journal line %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// logTiming logs how long a whole fix took (sweep, apply, re-check).
func logTiming(t *testing.T, what string, start time.Time) {
	t.Logf("TIMING %s: %s", what, time.Since(start).Round(10*time.Millisecond))
}

// logServiceTimes reads the machine's journal for docker.service since
// since and logs, as systemd saw them, how long docker was down (from
// "Stopping" to the last "Started") and, after a failed start, how long the
// rollback took to bring it back (from the first failure to the last
// "Started"): the closing note's restart and rollback figures.
func (n *machineNode) logServiceTimes(t *testing.T, what string, since time.Time) {
	t.Helper()
	out, err := n.m.TryRun("journalctl", "--no-pager", "-o", "short-unix", "-u", "docker.service",
		"--since", fmt.Sprintf("@%d", since.Unix()))
	if err != nil {
		t.Logf("TIMING %s: journal not read: %v", what, err)
		return
	}
	var stop, starting, fail, started float64
	for _, l := range strings.Split(out, "\n") {
		ts, msg, ok := strings.Cut(l, " ")
		at, err := strconv.ParseFloat(ts, 64)
		if !ok || err != nil || at < float64(since.UnixNano())/1e9 {
			continue
		}
		switch {
		case strings.Contains(msg, "Stopping docker.service") && stop == 0:
			stop = at
		case strings.Contains(msg, "Starting docker.service") && starting == 0:
			starting = at
		case (strings.Contains(msg, "Failed to start docker.service") || strings.Contains(msg, "docker.service: Failed with result")) && fail == 0:
			fail = at
		case strings.Contains(msg, "Started docker.service"):
			started = at
		}
	}
	secs := func(d float64) string {
		return (time.Duration(d * float64(time.Second))).Round(time.Millisecond).String()
	}
	line := "TIMING " + what + " (systemd's journal):"
	switch {
	case stop > 0 && started > stop:
		line += " docker down " + secs(started-stop) + " (Stopping → last Started)"
	case stop == 0 && starting > 0 && started > starting:
		line += " docker was down; started in " + secs(started-starting) + " (first Starting → last Started)"
	}
	if fail > 0 && started > fail && (stop == 0 || fail > stop) {
		line += "; rollback " + secs(started-fail) + " (first failure → Started again)"
	}
	if stop > 0 && started < stop {
		line += " docker stopped and not started again"
	}
	t.Log(line)
}

// TestIPTablesEnableOnRealSystemd runs docker.iptables-disabled/enable end to
// end on a real systemd 252 with Debian's docker.service and kubespray's
// drop-in: with the binary inside the machine, from outside through
// --host-root and the machine's D-Bus socket, and as a pod would.
func TestIPTablesEnableOnRealSystemd(t *testing.T) {
	n := bootKubesprayMachine(t)
	for _, where := range []string{"inside", "outside", "pod"} {
		t.Run(where, func(t *testing.T) {
			n.resetToKubespray(t)
			run := n.runner(where)
			r := run(t, "fix", "docker.iptables-disabled/enable", "--dry-run")
			r.wantCode(t, 0)
			if !strings.Contains(r.stdout, "systemd over D-Bus") || !strings.Contains(r.stdout, "--iptables=false") {
				t.Errorf("preview names neither the service manager nor the edit:\n%s", r.stdout)
			}
			start := time.Now()
			r = run(t, "fix", "docker.iptables-disabled/enable", "--yes")
			logTiming(t, where+" fix (sweep, apply, restart, re-check)", start)
			n.logServiceTimes(t, "docker.iptables-disabled/enable "+where, start)
			r.wantCode(t, 0)
			n.wantIPTablesOn(t)
			if !strings.Contains(r.stdout, "running containers: 0 before the restart, 0 after") {
				t.Errorf("result does not compare the blast radius with what happened:\n%s", r.stdout)
			}
			if drop := n.m.ReadFile(t, dropInPath); strings.Contains(drop, "--iptables=false") {
				t.Errorf("drop-in still disables iptables:\n%s", drop)
			}
			recs := n.journalRecords(t)
			last := recs[len(recs)-1]
			if fmt.Sprint(last["remediationId"]) != "docker.iptables-disabled/enable" {
				t.Errorf("last journal record: %v", last)
			}
			// A second application changes nothing.
			r = run(t, "fix", "docker.iptables-disabled/enable", "--yes")
			if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "not needed") {
				t.Errorf("second application: code %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// breakIPTables makes iptables fail inside the machine: dockerd started with
// iptables on then refuses to start, as on a node whose iptables is broken.
func (n *machineNode) breakIPTables(t *testing.T) {
	t.Helper()
	n.m.Run(t, "rm", "-f", "/usr/sbin/iptables")
	n.m.WriteFile(t, "/usr/sbin/iptables", "#!/bin/sh\necho 'iptables: broken by the test' >&2\nexit 1\n", 0o755)
}

// TestRestartFailureRollsBackOnRealSystemd injects a change that makes
// dockerd refuse to start: the plan's restart fails, the drop-in is
// restored, dockerd runs again on it (its start limit reset if the failures
// used it up), the result carries the unit's state and journal lines, and
// the journal records the rollback.
func TestRestartFailureRollsBackOnRealSystemd(t *testing.T) {
	n := bootKubesprayMachine(t)
	for _, where := range []string{"inside", "outside", "pod"} {
		t.Run(where, func(t *testing.T) {
			n.resetToKubespray(t)
			n.breakIPTables(t)
			defer n.m.Run(t, "ln", "-sf", "/etc/alternatives/iptables", "/usr/sbin/iptables")
			run := n.runner(where)
			start := time.Now()
			r := run(t, "fix", "docker.iptables-disabled/enable", "--yes")
			logTiming(t, where+" failed fix with rollback", start)
			n.logServiceTimes(t, "docker.iptables-disabled/enable "+where+" failing", start)
			t.Logf("result:\n%s", r.stdout)
			r.wantCode(t, 4)
			out := r.stdout + r.stderr
			for _, want := range []string{"restart docker.service: job failed", "last journal lines", "rolled back"} {
				if !strings.Contains(out, want) {
					t.Errorf("result does not say %q:\n%s", want, out)
				}
			}
			if drop := n.m.ReadFile(t, dropInPath); drop != kubesprayDropIn {
				t.Errorf("drop-in not restored:\n%s", drop)
			}
			if argv := n.dockerdArgv(t); !strings.Contains(argv, "--iptables=false") {
				t.Errorf("dockerd does not run on the restored configuration: %s", argv)
			}
			if st := n.unitShow(t, "ActiveState"); st["ActiveState"] != "active" {
				t.Errorf("docker.service after rollback: %v", st)
			}
			recs := n.journalRecords(t)
			last, _ := json.Marshal(recs[len(recs)-1])
			if !strings.Contains(string(last), "rolled back") && !strings.Contains(string(last), "rollback") {
				t.Errorf("journal does not record the rollback: %s", last)
			}
		})
	}
}

// TestStartLimitConflictFixOnRealSystemd is the seed's chain on a real
// systemd: docker was restarted by hand until systemd refused ("start of the
// service was attempted too often": Debian's unit allows 3 starts per 60 s),
// and daemon.json and kubespray's drop-in both set log-opts, so dockerd would
// refuse to start anyway. The preview says both and plans a visible
// reset-failed; the dedupe fix then brings docker back.
func TestStartLimitConflictFixOnRealSystemd(t *testing.T) {
	n := bootKubesprayMachine(t)
	for i := 0; i < 4 && n.unitShow(t, "Result")["Result"] != "start-limit-hit"; i++ {
		_, _ = n.m.TryRun("systemctl", "restart", "docker.service")
	}
	if st := n.unitShow(t, "Result", "ActiveState"); st["Result"] != "start-limit-hit" {
		t.Fatalf("docker.service never hit its start limit: %v", st)
	}
	n.m.WriteFile(t, "/etc/docker/daemon.json", "{\n  \"log-opts\": {\"max-size\": \"100m\"}\n}\n", 0o644)
	r := n.inside(t, "fix", "docker.config-conflict/dedupe", "--dry-run")
	r.wantCode(t, 0)
	for _, want := range []string{"used up its start limit", "reset-failed docker.service", "3 starts per 60s"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("preview does not say %q:\n%s", want, r.stdout)
		}
	}
	start := time.Now()
	r = n.inside(t, "fix", "docker.config-conflict/dedupe", "--yes")
	logTiming(t, "dedupe with reset-failed and restart", start)
	n.logServiceTimes(t, "docker.config-conflict/dedupe after the start limit", start)
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "reset the failed state and start limit of docker.service") {
		t.Errorf("result does not show the reset-failed step:\n%s", r.stdout)
	}
	if st := n.unitShow(t, "ActiveState", "Result"); st["ActiveState"] != "active" || st["Result"] != "success" {
		t.Errorf("docker.service after the fix: %v", st)
	}
}

// TestRestartRemediationsOnRealSystemd runs the other remediations that
// restart docker end to end on the real systemd, each from inside the
// machine and from outside through --host-root, and checks with systemd and
// the running dockerd that they took.
func TestRestartRemediationsOnRealSystemd(t *testing.T) {
	n := bootKubesprayMachine(t)
	cases := []struct {
		id    string
		setup func(t *testing.T)
		want  func(t *testing.T, argv string)
	}{{
		// kubespray's options edited on disk, docker not restarted.
		id: "docker.options-drift/restart",
		setup: func(t *testing.T) {
			n.m.WriteFile(t, dropInPath, strings.Replace(kubesprayDropIn, "max-file=5", "max-file=3", 1), 0o644)
		},
		want: func(t *testing.T, argv string) {
			if !strings.Contains(argv, "max-file=3") {
				t.Errorf("dockerd does not run with the options on disk: %s", argv)
			}
		},
	}, {
		// daemon.json and the drop-in both set log-opts: dockerd refuses to
		// start. systemd's own auto-restarts (Restart=always) are stopped and
		// the start limit reset, as an operator would before a fix: a fix
		// applied in the middle of them can find the start limit hit between
		// its preview and its restart (TestStartLimitConflictFixOnRealSystemd
		// is the case of a unit already in its limit).
		id: "docker.config-conflict/dedupe",
		setup: func(t *testing.T) {
			n.m.WriteFile(t, "/etc/docker/daemon.json", "{\n  \"log-opts\": {\"max-size\": \"100m\"}\n}\n", 0o644)
			if out, err := n.m.TryRun("systemctl", "restart", "docker.service"); err == nil {
				t.Fatalf("dockerd started with a conflicting configuration:\n%s", out)
			}
			n.m.Run(t, "systemctl", "stop", "docker.service")
			n.m.Run(t, "systemctl", "reset-failed", "docker.service")
		},
		want: func(t *testing.T, argv string) {
			if strings.Contains(argv, "--log-opt") {
				t.Errorf("dockerd still takes log options as flags beside daemon.json: %s", argv)
			}
		},
	}, {
		// a drop-in without log options: container logs grow without limit.
		id: "docker.log-rotation-missing/set",
		setup: func(t *testing.T) {
			n.m.WriteFile(t, dropInPath, "[Service]\nEnvironment=\"DOCKER_OPTS= --iptables=false \\\n --data-root=/var/lib/docker\"\n", 0o644)
			n.m.Run(t, "systemctl", "daemon-reload")
			n.m.Run(t, "systemctl", "restart", "docker.service")
		},
		want: func(t *testing.T, argv string) {
			conf := n.m.ReadFile(t, dropInPath)
			daemon, _ := os.ReadFile(filepath.Join(n.m.Root(), "etc/docker/daemon.json"))
			if !strings.Contains(argv+conf+string(daemon), "max-size") {
				t.Errorf("no log rotation after the fix: argv %s\ndrop-in %s\ndaemon.json %s", argv, conf, daemon)
			}
		},
	}}
	for _, c := range cases {
		for _, where := range []string{"inside", "outside", "pod"} {
			t.Run(c.id+"/"+where, func(t *testing.T) {
				n.resetToKubespray(t)
				c.setup(t)
				run := n.runner(where)
				pidBefore := n.unitShow(t, "MainPID")["MainPID"]
				start := time.Now()
				r := run(t, "fix", c.id, "--yes")
				logTiming(t, c.id+" "+where, start)
				n.logServiceTimes(t, c.id+" "+where, start)
				r.wantCode(t, 0)
				if pid := n.unitShow(t, "MainPID")["MainPID"]; pid == pidBefore {
					t.Errorf("dockerd was not restarted (main PID still %s)", pid)
				}
				if st := n.unitShow(t, "ActiveState", "SubState"); st["ActiveState"] != "active" {
					t.Errorf("docker.service after the fix: %v", st)
				}
				c.want(t, n.dockerdArgv(t))
			})
		}
	}
}

// refusingDockerd is the machine's /usr/sbin/dockerd while a test injects
// a failure: docker.service's unit is unchanged (systemd and ksdoctor still
// agree on it), but the start fails when /etc/ksdt-refuse-once exists (once:
// it is removed) or when dockerd's argv or daemon.json holds the word in
// /etc/ksdt-refuse. Otherwise it is the real dockerd (same comm, same argv[0]).
const refusingDockerd = `#!/bin/bash
if [ -e /etc/ksdt-refuse-once ]; then
  rm -f /etc/ksdt-refuse-once
  echo "dockerd: start refused once by the test" >&2
  exit 1
fi
if [ -s /etc/ksdt-refuse ]; then
  w=$(cat /etc/ksdt-refuse)
  case " $* $(cat /etc/docker/daemon.json 2>/dev/null) " in
  *"$w"*) echo "dockerd: refused by the test: $w" >&2; exit 1;;
  esac
fi
exec -a /usr/sbin/dockerd /usr/local/lib/ksdt/dockerd "$@"
`

// injectRefusal puts refusingDockerd in place of dockerd: word "" refuses
// the next start only, otherwise every start whose configuration holds
// word. The real dockerd is put back when the test ends.
func (n *machineNode) injectRefusal(t *testing.T, word string) {
	t.Helper()
	n.m.Run(t, "mkdir", "-p", "/usr/local/lib/ksdt")
	n.m.Run(t, "mv", "/usr/sbin/dockerd", "/usr/local/lib/ksdt/dockerd")
	n.m.WriteFile(t, "/usr/sbin/dockerd", refusingDockerd, 0o755)
	if word == "" {
		n.m.WriteFile(t, "/etc/ksdt-refuse-once", "", 0o644)
	} else {
		n.m.WriteFile(t, "/etc/ksdt-refuse", word, 0o644)
	}
	t.Cleanup(func() {
		n.m.Run(t, "rm", "-f", "/etc/ksdt-refuse", "/etc/ksdt-refuse-once")
		n.m.Run(t, "mv", "/usr/local/lib/ksdt/dockerd", "/usr/sbin/dockerd")
	})
}

// TestRemediationFailureRollsBackOnRealSystemd injects, for each remediation
// that restarts docker, a failure of its restart, from inside the machine
// and from outside through --host-root: the fix exits 4, the result carries
// the unit's failure and journal lines and says what the rollback did, the
// files are as before the fix, and the journal records the rollback.
//   - options-drift/restart changes no file: its restart fails once (as a
//     start that times out would); the rollback starts dockerd again on the
//     same files.
//   - log-rotation-missing/set: dockerd refuses the max-size it adds; the
//     drop-in is restored and dockerd runs on it again.
//   - config-conflict/dedupe: its restart fails once; the restored
//     daemon.json conflicts with the drop-in (the problem being fixed), so
//     dockerd cannot start on the restored files: docker stays down and the
//     result says why. A dedupe rollback can never bring dockerd back.
func TestRemediationFailureRollsBackOnRealSystemd(t *testing.T) {
	n := bootKubesprayMachine(t)
	noLogOpts := "[Service]\nEnvironment=\"DOCKER_OPTS= --iptables=false \\\n --data-root=/var/lib/docker\"\n"
	conflicting := "{\n  \"log-opts\": {\"max-size\": \"100m\"}\n}\n"
	cases := []struct {
		id, refuse string
		setup      func(t *testing.T)
		// files are the node's files the fix must leave as they were.
		files       map[string]string
		wantRunning bool
		wantSays    string
	}{{
		id: "docker.options-drift/restart",
		setup: func(t *testing.T) {
			n.m.WriteFile(t, dropInPath, strings.Replace(kubesprayDropIn, "max-file=5", "max-file=3", 1), 0o644)
		},
		files:       map[string]string{dropInPath: strings.Replace(kubesprayDropIn, "max-file=5", "max-file=3", 1)},
		wantRunning: true,
		wantSays:    "start refused once by the test",
	}, {
		id:     "docker.log-rotation-missing/set",
		refuse: "max-size",
		setup: func(t *testing.T) {
			n.m.WriteFile(t, dropInPath, noLogOpts, 0o644)
			n.m.Run(t, "systemctl", "daemon-reload")
			n.m.Run(t, "systemctl", "restart", "docker.service")
		},
		files:       map[string]string{dropInPath: noLogOpts},
		wantRunning: true,
		wantSays:    "refused by the test: max-size",
	}, {
		id: "docker.config-conflict/dedupe",
		setup: func(t *testing.T) {
			// Written while dockerd runs: the conflict is on disk only.
			n.m.WriteFile(t, "/etc/docker/daemon.json", conflicting, 0o644)
		},
		files:       map[string]string{dropInPath: kubesprayDropIn, "/etc/docker/daemon.json": conflicting},
		wantRunning: false,
		wantSays:    "the restored files themselves make dockerd refuse to start",
	}}
	for _, c := range cases {
		for _, where := range []string{"inside", "outside", "pod"} {
			t.Run(c.id+"/"+where, func(t *testing.T) {
				n.resetToKubespray(t)
				c.setup(t)
				n.injectRefusal(t, c.refuse)
				run := n.runner(where)
				start := time.Now()
				r := run(t, "fix", c.id, "--yes")
				logTiming(t, c.id+" "+where+" failing, rolled back", start)
				n.logServiceTimes(t, c.id+" "+where+" failing", start)
				out := r.stdout + r.stderr
				t.Logf("result:\n%s", out)
				r.wantCode(t, 4)
				for _, want := range []string{"restart docker.service: job failed", "last journal lines", c.wantSays} {
					if !strings.Contains(out, want) {
						t.Errorf("result does not say %q:\n%s", want, out)
					}
				}
				for p, want := range c.files {
					if got := n.m.ReadFile(t, p); got != want {
						t.Errorf("%s not as before the fix:\n%s", p, got)
					}
				}
				st := n.unitShow(t, "ActiveState")
				if c.wantRunning {
					if st["ActiveState"] != "active" || !strings.Contains(out, "rolled back") {
						t.Errorf("docker.service after the rollback: %v (rolled back said: %v)", st, strings.Contains(out, "rolled back"))
					}
					if argv := n.dockerdArgv(t); strings.Contains(argv, c.refuse+"=") && c.refuse != "" {
						t.Errorf("dockerd runs with what it refused: %s", argv)
					}
				} else if st["ActiveState"] == "active" {
					t.Errorf("docker.service is active on files that conflict: %v", st)
				}
				recs := n.journalRecords(t)
				last, _ := json.Marshal(recs[len(recs)-1])
				if !strings.Contains(string(last), c.id) || !strings.Contains(string(last), "rollback") && !strings.Contains(string(last), "rolled back") {
					t.Errorf("journal does not record the rollback: %s", last)
				}
			})
		}
	}
}

// podScript makes what a pod with the node's / mounted at /host sees: in
// mount and PID namespaces of its own (unshare -m -p, private), the node's
// / bound recursively at /host (its /run with the D-Bus sockets, its /proc,
// its data-root and /data mounts with it), then the pod's own /proc, then
// it execs the rest of its arguments. Data reaches it only as arguments
// ("$@"), never inside the script.
const podScript = `mkdir -p /host && mount --rbind / /host && mount -t proc proc /proc && exec "$@"`

// inPod runs ksdoctor as a pod with hostPath / at /host would: --host-root
// /host is a plain recursive bind mount, not the /proc/PID/root link that
// outside() uses (rsync resolves that link's text, "/", in its own mount
// namespace, so the data-root move refuses it). A bind of /proc/PID/root
// made from outside the machine's mount namespace does not carry the
// machine's mounts (its /run, its data-root) on this kernel, so the
// namespace is made from the machine's: the pod's own / is then the
// machine's, and the tools it runs (rsync) are the machine's.
func (n *machineNode) inPod(t *testing.T, args ...string) result {
	t.Helper()
	argv := []string{"nsenter", "-t", strconv.Itoa(n.m.Leader), "-m", "-n", "--",
		"unshare", "-m", "-p", "-f", "--propagation", "private", "--", "sh", "-c", podScript, "sh", "/usr/local/bin/ksdoctor"}
	argv = append(argv, args...)
	return runArgv(t, append(argv, "--host-root", "/host", "--docker-host", "unix:///host/run/docker.sock"))
}

// TestDataRootMigrationOnRealSystemd moves a data-root past 80 % on one
// filesystem to another with disk.docker-root-usage/migrate, driving
// docker.service (stop, start) through the machine's systemd: from inside
// the machine, and from a pod's view of the node (--host-root /host, a
// plain bind mount; see inPod); from outside through /proc/PID/root it is
// refused before any change. The data-root is a filesystem mounted at
// /var/lib/docker, as on nodes with a separate Docker disk: it cannot be
// renamed, so it stays in place as the backup. First a copy that fails
// half-way: everything is put back and docker runs on the old data-root.
func TestDataRootMigrationOnRealSystemd(t *testing.T) {
	testbed.Require(t, "mkfs.ext4", "losetup")
	for _, where := range []string{"inside", "pod", "outside"} {
		t.Run(where, func(t *testing.T) {
			src, dst := testbed.LoopFS(t, 200), testbed.LoopFS(t, 400)
			m := testbed.BootMachine(t, testbed.MachineOptions{
				BindRO:    []string{bin + ":/usr/local/bin/ksdoctor"},
				Bind:      []string{dst + ":/data"},
				DockerDir: src,
			})
			n := &machineNode{m: m}
			n.resetToKubespray(t)
			testbed.FillTo(t, src, 86)
			run := n.runner(where)
			if where == "outside" {
				migrateRefusedThroughProcRoot(t, n)
				return
			}
			migrateFailsHalfWay(t, n, run)
			r := run(t, "fix", "disk.docker-root-usage/migrate", "--to", "/data/docker", "--dry-run")
			r.wantCode(t, 0)
			t.Logf("preview:\n%s", r.stdout)
			start := time.Now()
			r = run(t, "fix", "disk.docker-root-usage/migrate", "--to", "/data/docker", "--yes")
			logTiming(t, "data-root migration "+where, start)
			t.Logf("result:\n%s", r.stdout)
			r.wantCode(t, 0)
			if !strings.Contains(r.stdout, "verified") {
				t.Errorf("the move was not verified:\n%s", r.stdout)
			}
			if argv := n.dockerdArgv(t); !strings.Contains(argv, "/data/docker") {
				t.Fatalf("dockerd does not run on the new data-root: %s\n%s%s", argv, r.stdout, r.stderr)
			}
			if st := n.unitShow(t, "ActiveState"); st["ActiveState"] != "active" {
				t.Errorf("docker.service after the move: %v", st)
			}
			n.logServiceTimes(t, "migrate "+where, start)
		})
	}
}

// migrateRefusedThroughProcRoot runs the migration with --host-root at the
// machine's /proc/PID/root: rsync would resolve that link's text in the
// test's own mount namespace, so the move is refused before docker is
// stopped, and nothing changes.
func migrateRefusedThroughProcRoot(t *testing.T, n *machineNode) {
	t.Helper()
	pid := n.unitShow(t, "MainPID")["MainPID"]
	// The machine's own mount table judges its paths: the data-root is the
	// filesystem mounted at /var/lib/docker (not this process's /proc).
	r := n.outside(t, "fix", "disk.docker-root-usage/migrate", "--to", "/data/docker", "--dry-run")
	r.wantCode(t, 0)
	for _, want := range []string{"Docker data-root filesystem /var/lib/docker is 86 % full", "Leave /var/lib/docker in place: it is a mount point"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("preview through /proc/PID/root does not say %q:\n%s", want, r.stdout)
		}
	}
	r = n.outside(t, "fix", "disk.docker-root-usage/migrate", "--to", "/data/docker", "--yes")
	r.wantCode(t, 4)
	if !strings.Contains(r.stdout, "a link of /proc into a mount namespace") || !strings.Contains(r.stdout, "hostPath / at /host") {
		t.Errorf("the refusal does not say why or what to do:\n%s", r.stdout)
	}
	if now := n.unitShow(t, "MainPID")["MainPID"]; now != pid {
		t.Errorf("dockerd was restarted (PID %s -> %s) by a refused move", pid, now)
	}
	if left := strings.Fields(n.m.Run(t, "ls", "-A", "/data")); len(slices.DeleteFunc(left, func(s string) bool { return s == "lost+found" })) > 0 {
		t.Errorf("a refused move left files in /data: %v", left)
	}
}

// migrateFailsHalfWay runs the migration with an rsync that copies part of
// the tree and fails (as a disk error mid-copy would): the result says
// everything was put back, dockerd runs on the old data-root, the target
// holds nothing and the journal records the failure.
func migrateFailsHalfWay(t *testing.T, n *machineNode, run func(*testing.T, ...string) result) {
	t.Helper()
	n.m.Run(t, "mv", "/usr/bin/rsync", "/usr/bin/rsync.real")
	// rsync -aHAXS --numeric-ids -- FROM/ TO/: copy one directory, then fail.
	n.m.WriteFile(t, "/usr/bin/rsync", "#!/bin/sh\n"+
		"for a; do from=$to; to=$a; done\n"+
		"cp -a \"${from}image\" \"$to\"\n"+
		"echo 'rsync: write failed: broken by the test' >&2\nexit 23\n", 0o755)
	defer n.m.Run(t, "mv", "/usr/bin/rsync.real", "/usr/bin/rsync")
	start := time.Now()
	r := run(t, "fix", "disk.docker-root-usage/migrate", "--to", "/data/docker", "--yes")
	logTiming(t, "data-root migration failing mid-copy, put back", start)
	r.wantCode(t, 4)
	if !strings.Contains(r.stdout, "everything was put back") || !strings.Contains(r.stdout, "broken by the test") {
		t.Errorf("failed move not put back, or its cause not said:\n%s", r.stdout)
	}
	if argv := n.dockerdArgv(t); !strings.Contains(argv, "--data-root=/var/lib/docker") {
		t.Fatalf("dockerd does not run on the old data-root after the failed move: %s", argv)
	}
	if left := strings.Fields(n.m.Run(t, "ls", "-A", "/data")); len(slices.DeleteFunc(left, func(s string) bool { return s == "lost+found" })) > 0 {
		t.Errorf("the failed copy left files in /data: %v", left)
	}
	recs := n.journalRecords(t)
	last, _ := json.Marshal(recs[len(recs)-1])
	if !strings.Contains(string(last), "put back") {
		t.Errorf("journal does not record the put-back: %s", last)
	}
	n.logServiceTimes(t, "migrate failing mid-copy", start)
}

// TestUnitEditedBetweenPreviewAndApplyOnRealSystemd previews the fix (as the
// TUI does before the user confirms), edits the drop-in behind its back, then
// applies: the plan refuses, the edit stays, dockerd is not restarted.
func TestUnitEditedBetweenPreviewAndApplyOnRealSystemd(t *testing.T) {
	n := bootKubesprayMachine(t)
	docker, err := client.NewClientWithOpts(client.WithHost(n.m.DockerHost()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	d := &doctor.Doctor{
		Tool:     diag.Tool{Name: "ksdoctor", Version: "test"},
		Checks:   []diag.Check{checks.DockerIPTablesDisabled},
		Config:   diag.DefaultConfig(),
		Gatherer: gather.New(gather.Options{HostRoot: n.m.Root(), DockerHost: n.m.DockerHost(), DockerdPIDFile: "/var/run/docker.pid"}),
		Executor: &act.Executor{HostRoot: n.m.Root(), Docker: docker},
	}
	defer d.Gatherer.Close()
	ctx := context.Background()
	cand, err := d.Prepare(ctx, "docker.iptables-disabled/enable", nil)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	edited := kubesprayDropIn + "# edited by configuration management after the preview\n"
	n.m.WriteFile(t, dropInPath, edited, 0o644)
	pid := n.unitShow(t, "MainPID")["MainPID"]
	res := d.Apply(ctx, cand)
	if res.Error == "" || !strings.Contains(res.Error, "changed since the change was previewed") {
		t.Fatalf("apply over a changed unit: %+v", res)
	}
	if got := n.m.ReadFile(t, dropInPath); got != edited {
		t.Errorf("the drop-in edited after the preview was overwritten:\n%s", got)
	}
	if now := n.unitShow(t, "MainPID")["MainPID"]; now != pid {
		t.Errorf("dockerd restarted (PID %s -> %s) by a refused plan", pid, now)
	}
}

// TestSweepDoesNotStartSocketActivatedDocker: Debian's docker.io ships
// docker.socket, so with docker.service stopped systemd still listens on
// /run/docker.sock and starts dockerd on the first connection. A sweep (from
// inside, through --host-root, and as a pod) must not be that connection: it
// reports the daemon down and why, and docker.service stays stopped.
func TestSweepDoesNotStartSocketActivatedDocker(t *testing.T) {
	n := bootKubesprayMachine(t)
	n.m.Run(t, "systemctl", "stop", "docker.service")
	defer n.resetToKubespray(t)
	if st := strings.TrimSpace(n.m.Run(t, "systemctl", "show", "-p", "ActiveState", "--value", "docker.socket")); st != "active" {
		t.Fatalf("docker.socket is %q, want active (the case under test)", st)
	}
	for _, where := range []string{"inside", "outside", "pod"} {
		t.Run(where, func(t *testing.T) {
			r := n.runner(where)(t, "sweep", "--checks", "docker.daemon-unreachable,docker.exited-containers")
			r.wantCode(t, 2)
			if !strings.Contains(r.stdout, "docker.socket is listening") {
				t.Errorf("the sweep does not say why it did not connect:\n%s", r.stdout)
			}
			if st := n.unitShow(t, "ActiveState", "MainPID"); st["ActiveState"] != "inactive" || st["MainPID"] != "0" {
				t.Errorf("the sweep started docker: %v", st)
			}
		})
	}
}
