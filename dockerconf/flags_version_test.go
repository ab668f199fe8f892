package dockerconf

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ksdoctor/ksdoctor/diag"
)

func words(s string) []Arg {
	var out []Arg
	for _, w := range strings.Fields(s) {
		out = append(out, Arg{Word: w, At: diag.Provenance{Origin: "unit", File: "/lib/systemd/system/docker.service", Line: 3}})
	}
	return out
}

func ver(s string) Version {
	v, _ := ParseVersion(s)
	return v
}

// TestFlagsAcrossReleases: each flag is judged by the release installed, as dockerd of
// that release parses and validates it (flagtable.go names the tags read).
func TestFlagsAcrossReleases(t *testing.T) {
	tests := []struct {
		release, args string
		want          string // substring of the first problem; "" for none
		fatal         bool
	}{
		{"18.09.7", "--graph /data/docker", "", false},
		{"20.10.24", "-g /data/docker", "", false},
		{"23.0.6", "--graph /data/docker", `the "graph" config file option is deprecated`, true},
		{"24.0.9", "--graph /data/docker", "unknown flag: --graph (it exists in dockerd 18.09 until 24.0, not in 24.0)", true},
		{"24.0.9", "-g /data/docker", `unknown shorthand flag: "g" in -g`, true},
		{"", "--graph /data/docker", "refused by dockerd 23.0 and later", false},
		{"20.10.0", "--cluster-store=consul://x:8500", "", false},
		{"23.0.0", "--cluster-store=consul://x:8500", "Host-discovery and overlay networks", true},
		{"24.0.0", "--oom-score-adjust=-500", "", false},
		{"25.0.3", "--oom-score-adjust=-500", `"oom-score-adjust" config parameter`, true},
		{"25.0.3", "--oom-score-adjust=0", "", false},
		{"26.1.4", "--oom-score-adjust=-500", "unknown flag: --oom-score-adjust", true},
		{"27.5.1", "--ip-forward-no-drop", "unknown flag: --ip-forward-no-drop", true},
		{"28.0.1", "--ip-forward-no-drop --bip6 fd00:1::1/64", "", false},
		{"27.0.3", "--bip6 fd00:1::1/64", "unknown flag: --bip6", true},
		{"19.03.15", "--ip6tables", "unknown flag: --ip6tables", true},
		{"20.10.24", "--ip6tables", "", false},
		{"18.09.1", "--rootless", "unknown flag: --rootless", true},
		{"19.03.15", "--rootless", "", false},
		{"23.0.0", "--validate", "", false},
		{"20.10.24", "--validate", "unknown flag: --validate", true},
		{"20.10.24", "--no-such-flag=1", "unknown flag: --no-such-flag", true},
		{"", "--no-such-flag=1", "no dockerd release from 18.09 to 29.0 has it", false},
		{"29.0.0", "--allow-nondistributable-artifacts=reg:5000", "unknown flag", true},
		{"20.10.24", "--iptables=false -H fd:// --containerd=/run/containerd/containerd.sock", "", false},
		{"20.10.24", "-DH fd://", "", false},
		{"20.10.24", "-H", "flag needs an argument: -H", true},
		{"20.10.24", "--data-root", "flag needs an argument: --data-root", true},
		{"20.10.24", "--iptables false", `dockerd takes no arguments, got "false"`, true},
	}
	for _, tc := range tests {
		_, probs := ParseArgsFor(words(tc.args), ver(tc.release))
		got := ""
		fatal := false
		if len(probs) > 0 {
			got, fatal = probs[0].Message, probs[0].Fatal
		}
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) || fatal != tc.fatal {
			t.Errorf("dockerd %s %s: problem %q (fatal %v), want %q (fatal %v)", tc.release, tc.args, got, fatal, tc.want, tc.fatal)
		}
	}
}

// TestDaemonJSONAcrossReleases: daemon.json keys are validated as dockerd validates them
// (flag names and named options, nested objects flattened), and the start error is the one
// dockerd stops with.
func TestDaemonJSONAcrossReleases(t *testing.T) {
	const unit = "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n"
	tests := []struct {
		release, json string
		startErr      string // substring; "" for none
		problem       string // substring of some problem; "" for none
	}{
		{"18.09.7", `{"graph": "/data/docker", "log-driver": "json-file"}`, "", ""},
		{"23.0.6", `{"graph": "/data/docker"}`, `merged configuration validation from file and command line flags failed: the "graph" config file option is deprecated; use "data-root" instead`, ""},
		{"24.0.9", `{"graph": "/data/docker"}`, "the following directives don't match any configuration option: graph", "dockerd 18.09 until 24.0 has it"},
		{"", `{"graph": "/data/docker"}`, "", `refused by dockerd 23.0 and later`},
		{"19.03.15", `{"graph": "/a", "data-root": "/b"}`, `cannot specify both "graph" and "data-root" config file options`, ""},
		{"20.10.24", `{"proxies": {"http-proxy": "http://p:3128"}}`, "don't match any configuration option: http-proxy", ""},
		{"23.0.6", `{"proxies": {"http-proxy": "http://p:3128", "no-proxy": "10.0.0.0/8"}}`, "", ""},
		{"20.10.24", `{"features": {"buildkit": true}, "builder": {"gc": {"enabled": true}}}`, "", ""},
		{"28.0.1", `{"ip-forward-no-drop": true, "bip6": "fd00::1/64", "host-gateway-ips": ["10.0.0.1"]}`, "", ""},
		{"27.5.1", `{"ip-forward-no-drop": true}`, "don't match any configuration option: ip-forward-no-drop", ""},
		{"25.0.0", `{"oom-score-adjust": -500}`, `"oom-score-adjust" config parameter`, ""},
		{"20.10.24", `{"registry-mirrors": ["https://m.example/"], "insecure-registries": ["10.0.0.0/8"], "exec-opts": ["native.cgroupdriver=systemd"], "log-opts": {"max-size": "100m"}}`, "", ""},
		{"", `{"no-such-key": 1}`, "", "not a configuration option of any dockerd release"},
		{"29.0.0", `{"allow-nondistributable-artifacts": ["r:5000"]}`, "", ""},
	}
	for _, tc := range tests {
		fsys := fstest.MapFS{
			"lib/systemd/system/docker.service": {Data: []byte(unit)},
			"etc/docker/daemon.json":            {Data: []byte(tc.json)},
		}
		f := ResolveFor(fsys, nil, ver(tc.release))
		if tc.startErr == "" && f.StartError != "" || !strings.Contains(f.StartError, tc.startErr) {
			t.Errorf("dockerd %s %s: start error %q, want %q", tc.release, tc.json, f.StartError, tc.startErr)
		}
		var msgs []string
		for _, p := range f.Problems {
			msgs = append(msgs, p.Message)
		}
		all := strings.Join(msgs, "\n")
		if tc.problem != "" && !strings.Contains(all, tc.problem) || tc.problem == "" && tc.startErr == "" && all != "" {
			t.Errorf("dockerd %s %s: problems %q, want %q", tc.release, tc.json, all, tc.problem)
		}
	}
}

func TestFindFlag(t *testing.T) {
	tests := []struct {
		args  string
		names []string
		want  FlagSetting
		ok    bool
	}{
		{"-H fd:// -b br0", []string{"bridge"}, FlagSetting{Name: "bridge", Value: "br0", Index: 2, Arg: "-b br0"}, true},
		{"--bridge=none", []string{"bridge"}, FlagSetting{Name: "bridge", Value: "none", Index: 0, Arg: "--bridge=none"}, true},
		{"-Db br1", []string{"b"}, FlagSetting{Name: "bridge", Value: "br1", Index: 0, Arg: "-Db br1"}, true},
		{"--iptables=false --iptables", []string{"iptables"}, FlagSetting{Name: "iptables", Value: "true", Index: 1, Arg: "--iptables"}, true},
		{"--iptables=0", []string{"iptables"}, FlagSetting{Name: "iptables", Value: "0", Index: 0, Arg: "--iptables=0"}, true},
		{"--ip-masq=false", []string{"iptables"}, FlagSetting{}, false},
		// A value word is not a flag: --data-root --iptables=false sets data-root.
		{"--data-root --iptables=false", []string{"iptables"}, FlagSetting{}, false},
		{"--log-opt max-size=10m -- --iptables=false", []string{"iptables"}, FlagSetting{}, false},
	}
	for _, tc := range tests {
		got, ok := FindFlag(strings.Fields(tc.args), tc.names...)
		if ok != tc.ok || got != tc.want {
			t.Errorf("FindFlag(%q, %v) = %+v, %v; want %+v, %v", tc.args, tc.names, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIsBoolFlag(t *testing.T) {
	tests := []struct {
		name, release string
		want          bool
	}{
		{"--iptables", "", true}, {"-D", "", true}, {"D", "18.09", true}, {"--bridge", "", false},
		{"-b", "", false}, {"--ip-forward-no-drop", "27.5", false}, {"--ip-forward-no-drop", "28.0", true},
		{"--ip6tables", "19.03", false}, {"--ip6tables", "20.10", true}, {"--live-restore", "", true},
		{"--log-opt", "", false}, {"--no-such", "", false},
	}
	for _, tc := range tests {
		if got := IsBoolFlag(tc.name, ver(tc.release)); got != tc.want {
			t.Errorf("IsBoolFlag(%q, %q) = %v, want %v", tc.name, tc.release, got, tc.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"20.10.24+dfsg1", "20.10"}, {"Docker version 18.09.7, build 2d0083d", "18.09"}, {"v28.0.1", "28.0"},
		{"19.03.15", "19.03"}, {"24.0.7-1ubuntu1", "24.0"}, {"1.13.1", "unknown"}, {"", "unknown"}, {"dev", "unknown"},
	}
	for _, tc := range tests {
		v, _ := ParseVersion(tc.in)
		if v.String() != tc.want {
			t.Errorf("ParseVersion(%q) = %s, want %s", tc.in, v, tc.want)
		}
	}
}

// FuzzParseArgs: the flag parser and FindFlag never panic, agree on the last setting of
// a flag, and every option records the words that set it, for every release.
func FuzzParseArgs(f *testing.F) {
	f.Add("-H\x00fd://\x00--iptables=false\x00--log-opt\x00max-size=10m")
	f.Add("-Db\x00br0\x00--graph\x00/data")
	f.Add("--\x00x\x00--bridge")
	f.Add("-g=/x\x00--oom-score-adjust=-500\x00--ip-forward-no-drop")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		words := make([]Arg, len(args))
		for i, w := range args {
			words[i] = Arg{Word: w}
		}
		for _, v := range []Version{{}, v1809, v2010, v23, v25, v28, {31, 0}} {
			opts, _ := ParseArgsFor(words, v)
			for _, o := range opts {
				if len(o.Tokens) == 0 || o.Key == "" {
					t.Fatalf("option without words or key: %+v", o)
				}
			}
		}
		got, ok := FindFlag(args, "bridge")
		if ok && (got.Index < 0 || got.Index >= len(args) || got.Name != "bridge") {
			t.Fatalf("FindFlag: %+v", got)
		}
		opts, _ := ParseArgs(words)
		if o, found := diag.Option(opts, "bridge"); ok && found && o.Value != got.Value {
			t.Fatalf("ParseArgs says bridge=%q, FindFlag %q", o.Value, got.Value)
		}
	})
}

// TestConflictsAcrossReleases: a directive set twice is a conflict only where the release
// parses the flag, under the daemon.json name of that release; dockerd stops at the first
// error in its own order (flags, unknown keys, conflicts).
func TestConflictsAcrossReleases(t *testing.T) {
	tests := []struct {
		release, flags, json string
		conflicts, startErr  string
	}{
		{"20.10.24", "-g /data/docker", `{"graph": "/data/docker"}`, "graph",
			"specified both as a flag and in the configuration file: graph: (from flag: /data/docker, from file: /data/docker)"},
		{"24.0.7", "-g /data/docker", `{"graph": "/data/docker"}`, "", `unknown shorthand flag: "g" in -g`},
		{"20.10.24", "--host-gateway-ip=10.0.0.1", `{"host-gateway-ips": ["10.0.0.2"]}`, "",
			"don't match any configuration option: host-gateway-ips"},
		{"28.0.1", "--host-gateway-ip=10.0.0.1", `{"host-gateway-ips": ["10.0.0.2"]}`, "host-gateway-ips",
			"host-gateway-ips: (from flag: [10.0.0.1], from file: [10.0.0.2])"},
	}
	for _, tc := range tests {
		f := ResolveFor(fstest.MapFS{
			"lib/systemd/system/docker.service": {Data: []byte("[Service]\nExecStart=/usr/bin/dockerd " + tc.flags + "\n")},
			"etc/docker/daemon.json":            {Data: []byte(tc.json)},
		}, nil, ver(tc.release))
		var keys []string
		for _, c := range f.Conflicts {
			keys = append(keys, c.Key)
		}
		if strings.Join(keys, " ") != tc.conflicts || !strings.Contains(f.StartError, tc.startErr) {
			t.Errorf("dockerd %s %s %s: conflicts %q, start error %q; want %q, %q", tc.release, tc.flags, tc.json, keys, f.StartError, tc.conflicts, tc.startErr)
		}
	}
}
