package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/ksdoctor/ksdoctor/checks"
	"github.com/ksdoctor/ksdoctor/testbed"
)

const npdCorpus = "../../testdata/realworld/npd-custom-plugin-monitor"

// TestNPDHarnessUpstreamCases: the harness gives exactly what NPD's own
// unit test (plugin_test.go, TestNewPluginRun) expects of NPD's runner,
// with NPD's own scripts and its default configuration (1s rule timeout).
func TestNPDHarnessUpstreamCases(t *testing.T) {
	cfg, err := loadCPMConfig([]byte(`{}`), false)
	if err != nil {
		t.Fatal(err)
	}
	nonExec := filepath.Join(t.TempDir(), "non-executable.sh")
	os.WriteFile(nonExec, []byte("#!/bin/sh\necho hi\n"), 0o644)
	script := func(name string) string { return filepath.Join(npdCorpus, "plugin-test-data", name+".sh") }
	sleep := script("sleep-3-second-with-ok-exit-status")
	cases := []struct {
		path   string
		status cpmStatus
		output string
	}{
		{script("ok"), cpmOK, "OK"},
		{script("non-ok"), cpmNonOK, "NonOK"},
		{script("unknown"), cpmUnknown, "UNKNOWN"},
		{nonExec, cpmUnknown, "Error in starting plugin. Please check the error log"},
		{script("longer-than-80-stdout-with-ok-exit-status"), cpmOK, "01234567890123456789012345678901234567890123456789012345678901234567890123456789"},
		{script("non-defined-exit-status"), cpmUnknown, "NON-DEFINED-EXIT-STATUS"},
		{sleep, cpmUnknown, `Timeout when running plugin "` + sleep + `": state - signal: killed. output - ""`},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, out := cfg.npdRun(cpmRule{Path: c.path, Timeout: ptr(time.Second)})
			if want := c.output[:min(len(c.output), 80)]; st != c.status || out != want {
				t.Errorf("%s: got %d %q, want %d %q", filepath.Base(c.path), st, out, c.status, want)
			}
		}()
	}
	wg.Wait()
}

// TestNPDUpstreamConfigs: NPD's own custom plugin monitor configurations
// load with the harness's schema, with NPD's defaults and types.
func TestNPDUpstreamConfigs(t *testing.T) {
	for _, name := range []string{"custom-plugin-monitor.json", "network-problem-monitor.json", "iptables-mode-monitor.json"} {
		data, err := os.ReadFile(filepath.Join(npdCorpus, name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := loadCPMConfig(data, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if *cfg.PluginGlobalConfig.MaxOutputLength != 80 || len(cfg.Rules) == 0 {
			t.Errorf("%s: max_output_length %d, %d rules", name, *cfg.PluginGlobalConfig.MaxOutputLength, len(cfg.Rules))
		}
		for _, r := range cfg.Rules {
			if r.Type != "temporary" && r.Type != "permanent" {
				t.Errorf("%s: rule type %q", name, r.Type)
			}
		}
	}
}

// deployNPD reads deploy/npd's monitor config with each rule's path set to
// the binary under test, validated as NPD does at start.
func deployNPD(t *testing.T) *cpmConfig {
	t.Helper()
	data, err := os.ReadFile("../../deploy/npd/ksdoctor-plugin-monitor.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadCPMConfig(data, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range cfg.Rules {
		r.Path = bin
	}
	if err := cfg.validate(); err != nil {
		t.Fatalf("NPD would refuse deploy/npd's config: %v", err)
	}
	return cfg
}

// flagValue is the value of --name=value in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// ruleChecks are the check IDs a rule's args name.
func ruleChecks(args []string) []string {
	var ids []string
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			ids = append(ids, a)
		}
	}
	return ids
}

// TestNPDDeployConfig: deploy/npd passes NPD's Validate; every rule runs
// `ksdoctor npd` on known checks with flags the binary takes, its
// --deadline below NPD's timeout for the rule and --max-output equal to
// max_output_length; the DaemonSet patch mounts what the rules use.
func TestNPDDeployConfig(t *testing.T) {
	cfg := deployNPD(t)
	known := map[string]bool{}
	for _, c := range checks.All() {
		known[c.ID] = true
	}
	data, _ := os.ReadFile("../../deploy/npd/ksdoctor-plugin-monitor.json")
	var raw struct {
		Rules []struct {
			Path string `json:"path"`
		} `json:"rules"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for i, r := range cfg.Rules {
		if len(r.Args) == 0 || r.Args[0] != "npd" {
			t.Fatalf("rule %s: args %q", r.Reason, r.Args)
		}
		ids := ruleChecks(r.Args)
		for _, id := range ids {
			if !known[id] {
				t.Errorf("rule %s: unknown check %s", r.Reason, id)
			}
		}
		if len(ids) == 0 {
			t.Errorf("rule %s names no check", r.Reason)
		}
		deadline, err := time.ParseDuration(flagValue(r.Args, "deadline"))
		npdTimeout := *cfg.PluginGlobalConfig.Timeout
		if r.Timeout != nil && *r.Timeout < npdTimeout {
			npdTimeout = *r.Timeout
		}
		if err != nil || deadline >= npdTimeout {
			t.Errorf("rule %s: --deadline %q, want below NPD's %v", r.Reason, flagValue(r.Args, "deadline"), npdTimeout)
		}
		if got := flagValue(r.Args, "max-output"); got != strconv.Itoa(*cfg.PluginGlobalConfig.MaxOutputLength) {
			t.Errorf("rule %s: --max-output=%s, max_output_length %d", r.Reason, got, *cfg.PluginGlobalConfig.MaxOutputLength)
		}
		if !strings.HasPrefix(raw.Rules[i].Path, "/host/") || flagValue(r.Args, "host-root") != "/host" {
			t.Errorf("rule %s: path %s, --host-root=%s: want the node's binary under /host", r.Reason, raw.Rules[i].Path, flagValue(r.Args, "host-root"))
		}
		ksd(t, append(slices.Clone(r.Args), "--help")...).wantCode(t, exitOK)
	}

	var ds appsv1.DaemonSet
	readYAML(t, "../../deploy/npd/daemonset-patch.yaml", 0, &ds)
	spec := ds.Spec.Template.Spec
	if len(spec.Containers) != 1 || spec.Containers[0].Name != "node-problem-detector" {
		t.Fatalf("containers %+v: want NPD's, by name", spec.Containers)
	}
	c := spec.Containers[0]
	cfgPath := flagValue(c.Command, "config.custom-plugin-monitor")
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
		if m.Name == "host" && (!m.ReadOnly || m.MountPath != "/host") {
			t.Errorf("host mount %+v: want / read-only at /host", m)
		}
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		for _, it := range v.ConfigMap.Items {
			if filepath.Join(mounts[v.Name], it.Path) == cfgPath && it.Key == "ksdoctor-plugin-monitor.json" {
				cfgPath = ""
			}
		}
	}
	if cfgPath != "" {
		t.Errorf("--config.custom-plugin-monitor=%s is not the mounted ConfigMap key", cfgPath)
	}
	if !spec.HostPID || !spec.HostNetwork {
		t.Errorf("hostPID %v hostNetwork %v: ksdoctor reads dockerd and iptables as on the node", spec.HostPID, spec.HostNetwork)
	}
}

// npdRuleFor is the deploy config's rule with the given reason, its args
// kept but for the flags that point at a node, replaced by extra.
func npdRuleFor(t *testing.T, cfg *cpmConfig, reason string, extra ...string) cpmRule {
	t.Helper()
	for _, r := range cfg.Rules {
		if r.Reason != reason {
			continue
		}
		rule := *r
		rule.Args = nil
		for _, a := range r.Args {
			if !strings.HasPrefix(a, "--host-root=") && !strings.HasPrefix(a, "--docker-host=") {
				rule.Args = append(rule.Args, a)
			}
		}
		rule.Args = append(rule.Args[:1:1], append(extra, rule.Args[1:]...)...)
		return rule
	}
	t.Fatalf("no rule %s in deploy/npd", reason)
	return cpmRule{}
}

func fixture(name string) string { return filepath.Join("..", "..", "fixtures", name, "snapshot.json") }

// TestNPDPluginVerdicts: the real binary run by the NPD harness with
// deploy/npd's rules: OK keeps the default condition, a problem makes it
// True with ksdoctor's line, a check that could not judge is Unknown
// (never OK), and a temporary rule raises its event.
func TestNPDPluginVerdicts(t *testing.T) {
	cfg := deployNPD(t)
	cases := []struct {
		name, reason, fixture string
		status                cpmStatus
		condStatus            string
		prefix                string
	}{
		{"healthy disk", "DockerRootNearlyFull", "healthy", cpmOK, "False", "ok disk.docker-root-usage"},
		{"full disk", "DockerRootNearlyFull", "disk-full", cpmNonOK, "True", "critical disk.docker-root-usage: Docker data-root filesystem / is 93 % full"},
		{"docker down", "DockerDaemonUnreachable", "docker-down", cpmNonOK, "True", "critical docker.daemon-unreachable:"},
		{"not judged", "ExitedContainersPilingUp", "docker-down", cpmUnknown, "", "unknown docker.exited-containers: could not judge"},
		{"skipped only", "DockerConfigBroken", "healthy", cpmUnknown, "Unknown", "unknown docker.config-"},
		{"exited containers", "ExitedContainersPilingUp", "disk-full", cpmNonOK, "", "warning docker.exited-containers: 1 exited container"},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rule := npdRuleFor(t, cfg, c.reason, "--from="+fixture(c.fixture))
			st, out := cfg.npdRun(rule)
			if st != c.status || !strings.HasPrefix(out, c.prefix) {
				t.Errorf("%s: got %d %q, want %d %q…", c.name, st, out, c.status, c.prefix)
				return
			}
			o := cfg.outcome(&rule, st, out)
			if rule.Type == "temporary" {
				if o.Event != (st != cpmOK) || (o.Event && o.EventMessage != out) {
					t.Errorf("%s: event %+v", c.name, o)
				}
				return
			}
			if o.Status != c.condStatus {
				t.Errorf("%s: condition %+v, want status %s", c.name, o, c.condStatus)
			}
			if st != cpmOK && o.Message != out {
				t.Errorf("%s: condition message %q, want ksdoctor's line %q", c.name, o.Message, out)
			}
		}()
	}
	wg.Wait()
}

// TestNPDMessageLimit: with NPD's default 80 bytes the useful part comes
// first and NPD cuts nothing (ksdoctor's own line is what NPD keeps); a
// --max-output above NPD's limit still leaves the verdict and the finding
// ID in NPD's cut.
func TestNPDMessageLimit(t *testing.T) {
	cfg, err := loadCPMConfig([]byte(`{"plugin":"custom"}`), false)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"npd", "--from=" + fixture("disk-full"), "disk.docker-root-usage", "docker.exited-containers"}
	st, out := cfg.npdRun(cpmRule{Path: bin, Args: args})
	raw := ksd(t, args...)
	if st != cpmNonOK || out != strings.TrimSpace(raw.stdout) {
		t.Fatalf("NPD kept %d %q, ksdoctor wrote %q", st, out, raw.stdout)
	}
	if len(out) > 80 || !utf8.ValidString(out) || !strings.HasPrefix(out, "critical disk.docker-root-usage (+1 more): ") || !strings.HasSuffix(out, "…") {
		t.Errorf("line %q (%d bytes): want ≤ 80, verdict, ID and count first, marked cut", out, len(out))
	}
	if strings.Count(raw.stdout, "\n") != 1 {
		t.Errorf("stdout %q: want one line", raw.stdout)
	}

	st, out = cfg.npdRun(cpmRule{Path: bin, Args: append([]string{"npd", "--max-output=300"}, args[1:]...)})
	if st != cpmNonOK || len(out) != 80 || !strings.HasPrefix(out, "critical disk.docker-root-usage (+1 more)") {
		t.Errorf("NPD's cut of a 300-byte line: %d %q", st, out)
	}
}

// TestNPDPluginTimeout: a node whose dockerd hangs. With --deadline below
// NPD's timeout (deploy/npd's shape) ksdoctor answers Unknown with its
// reason before NPD would kill it; with --deadline above it, NPD kills the
// process group and the condition says only "Timeout when running plugin".
func TestNPDPluginTimeout(t *testing.T) {
	host := hungDockerSocket(t)
	root := t.TempDir()
	cfg, err := loadCPMConfig([]byte(`{"plugin":"custom","pluginConfig":{"timeout":"5s"}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	run := func(deadline string) (cpmStatus, string, time.Duration) {
		start := time.Now()
		st, out := cfg.npdRun(cpmRule{Path: bin, Args: []string{"npd", "--host-root=" + root, "--docker-host=" + host,
			"--deadline=" + deadline, "docker.exited-containers"}})
		return st, out, time.Since(start)
	}
	st, out, took := run("2s")
	if st != cpmUnknown || !strings.HasPrefix(out, "unknown docker.exited-containers: could not judge") || took >= 5*time.Second {
		t.Errorf("deadline 2s under NPD's 5s: %d %q after %v, want ksdoctor's Unknown before NPD's kill", st, out, took)
	}
	st, out, took = run("10s")
	if st != cpmUnknown || !strings.HasPrefix(out, "Timeout when running plugin") || took > 8*time.Second {
		t.Errorf("deadline 10s over NPD's 5s: %d %q after %v, want NPD's kill", st, out, took)
	}
}

// TestNPDBadInvocation: a mistake in the rule is Unknown with the reason
// on stdout, where NPD reads it, never OK.
func TestNPDBadInvocation(t *testing.T) {
	for _, args := range [][]string{
		{"npd"},
		{"npd", "--from=" + fixture("healthy"), "no.such-check"},
		{"npd", "--from=/nonexistent.json", "disk.docker-root-usage"},
		{"npd", "--deadline=-1s", "disk.docker-root-usage"},
	} {
		r := ksd(t, args...)
		if r.code != 2 || !strings.HasPrefix(r.stdout, "unknown") || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("%q: code %d stdout %q", args, r.code, r.stdout)
		}
	}
}

// TestNPDRealDockerd: deploy/npd's rules, run by the NPD harness, on a
// real dockerd: no exited container is OK, two (over a threshold of 2)
// raise the temporary rule's event; a running daemon keeps
// DockerDaemonProblem False, a stopped one turns it True, each within
// the rule's timeout.
func TestNPDRealDockerd(t *testing.T) {
	testbed.Require(t, "dockerd")
	n := newNode(t, testbed.DockerdOptions{})
	cfg := deployNPD(t)
	conf := filepath.Join(t.TempDir(), "cfg.yaml")
	os.WriteFile(conf, []byte("exitedContainers:\n  warnCount: 2\n"), 0o644)
	node := append([]string{"--config=" + conf, "--host-root=" + t.TempDir()}, n.flags...)
	run := func(reason string) (cpmStatus, string, npdOutcome) {
		rule := npdRuleFor(t, cfg, reason, node...)
		st, out := cfg.npdRun(rule)
		return st, out, cfg.outcome(&rule, st, out)
	}
	if st, out, o := run("ExitedContainersPilingUp"); st != cpmOK || o.Event {
		t.Errorf("no exited container: %d %q %+v", st, out, o)
	}
	n.d.RunExited(t, "old-build-1", 1)
	n.d.RunExited(t, "old-build-2", 0)
	if st, out, o := run("ExitedContainersPilingUp"); st != cpmNonOK || !o.Event || !strings.HasPrefix(out, "warning docker.exited-containers: 2 exited") {
		t.Errorf("two exited containers: %d %q %+v", st, out, o)
	}
	if st, out, o := run("DockerDaemonUnreachable"); st != cpmOK || o.Status != "False" {
		t.Errorf("running dockerd: %d %q %+v", st, out, o)
	}
	n.d.Stop(t)
	if st, out, o := run("DockerDaemonUnreachable"); st != cpmNonOK || o.Status != "True" || o.Reason != "DockerDaemonUnreachable" || !strings.HasPrefix(out, "critical docker.daemon-unreachable") {
		t.Errorf("stopped dockerd: %d %q %+v", st, out, o)
	}
}
