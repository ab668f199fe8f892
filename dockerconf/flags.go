package dockerconf

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

type kind int

const (
	kString kind = iota
	kBool
	kInt
	kList // repeated flag, a JSON array
	kMap  // repeated key=value flag, a JSON object
)

// flagSpec is one dockerd 20.10 flag and the daemon.json directive it maps to.
type flagSpec struct {
	name, short, key string
	kind             kind
}

// flagTable lists dockerd's flags (20.10) with their daemon.json names. Flags whose value
// is a "named option" (insecure-registry → insecure-registries) are those where name and
// key differ; dockerd compares those by key, the others by flag name.
var flagTable = []flagSpec{
	{"host", "H", "hosts", kList},
	{"insecure-registry", "", "insecure-registries", kList},
	{"registry-mirror", "", "registry-mirrors", kList},
	{"log-driver", "", "log-driver", kString},
	{"log-opt", "", "log-opts", kMap},
	{"data-root", "", "data-root", kString},
	{"graph", "g", "graph", kString},
	{"storage-driver", "s", "storage-driver", kString},
	{"storage-opt", "", "storage-opts", kList},
	{"iptables", "", "iptables", kBool},
	{"ip6tables", "", "ip6tables", kBool},
	{"ip-forward", "", "ip-forward", kBool},
	{"ip-masq", "", "ip-masq", kBool},
	{"icc", "", "icc", kBool},
	{"userland-proxy", "", "userland-proxy", kBool},
	{"userland-proxy-path", "", "userland-proxy-path", kString},
	{"bip", "", "bip", kString},
	{"bridge", "b", "bridge", kString},
	{"fixed-cidr", "", "fixed-cidr", kString},
	{"fixed-cidr-v6", "", "fixed-cidr-v6", kString},
	{"ipv6", "", "ipv6", kBool},
	{"default-gateway", "", "default-gateway", kString},
	{"ip", "", "ip", kString},
	{"mtu", "", "mtu", kInt},
	{"debug", "D", "debug", kBool},
	{"log-level", "l", "log-level", kString},
	{"exec-opt", "", "exec-opts", kList},
	{"exec-root", "", "exec-root", kString},
	{"live-restore", "", "live-restore", kBool},
	{"dns", "", "dns", kList},
	{"dns-opt", "", "dns-opts", kList},
	{"dns-search", "", "dns-search", kList},
	{"default-ulimit", "", "default-ulimits", kMap},
	{"max-concurrent-downloads", "", "max-concurrent-downloads", kInt},
	{"max-concurrent-uploads", "", "max-concurrent-uploads", kInt},
	{"max-download-attempts", "", "max-download-attempts", kInt},
	{"containerd", "", "containerd", kString},
	{"containerd-namespace", "", "containerd-namespace", kString},
	{"pidfile", "p", "pidfile", kString},
	{"group", "G", "group", kString},
	{"tls", "", "tls", kBool},
	{"tlsverify", "", "tlsverify", kBool},
	{"tlscacert", "", "tlscacert", kString},
	{"tlscert", "", "tlscert", kString},
	{"tlskey", "", "tlskey", kString},
	{"selinux-enabled", "", "selinux-enabled", kBool},
	{"userns-remap", "", "userns-remap", kString},
	{"cgroup-parent", "", "cgroup-parent", kString},
	{"default-runtime", "", "default-runtime", kString},
	{"add-runtime", "", "runtimes", kMap},
	{"label", "", "labels", kList},
	{"experimental", "", "experimental", kBool},
	{"metrics-addr", "", "metrics-addr", kString},
	{"shutdown-timeout", "", "shutdown-timeout", kInt},
	{"oom-score-adjust", "", "oom-score-adjust", kInt},
	{"no-new-privileges", "", "no-new-privileges", kBool},
	{"seccomp-profile", "", "seccomp-profile", kString},
	{"init", "", "init", kBool},
	{"init-path", "", "init-path", kString},
	{"default-address-pool", "", "default-address-pools", kList},
	{"default-shm-size", "", "default-shm-size", kString},
	{"default-cgroupns-mode", "", "default-cgroupns-mode", kString},
	{"default-ipc-mode", "", "default-ipc-mode", kString},
	{"raw-logs", "", "raw-logs", kBool},
	{"allow-nondistributable-artifacts", "", "allow-nondistributable-artifacts", kList},
	{"authorization-plugin", "", "authorization-plugins", kList},
	{"cpu-rt-period", "", "cpu-rt-period", kInt},
	{"cpu-rt-runtime", "", "cpu-rt-runtime", kInt},
	{"node-generic-resource", "", "node-generic-resources", kList},
	{"swarm-default-advertise-addr", "", "swarm-default-advertise-addr", kString},
	{"config-file", "", "config-file", kString},
}

// skipDuplicates are directives dockerd allows in both places (daemon/config).
var skipDuplicates = map[string]bool{"runtimes": true}

var (
	byName  = map[string]*flagSpec{}
	byShort = map[string]*flagSpec{}
	byKey   = map[string]*flagSpec{}
)

func init() {
	for i := range flagTable {
		f := &flagTable[i]
		byName[f.name] = f
		if f.short != "" {
			byShort[f.short] = f
		}
		byKey[f.key] = f
	}
}

// FlagForKey returns the long flag name for a daemon.json directive ("" when none).
func FlagForKey(key string) string {
	if f, ok := byKey[key]; ok {
		return f.name
	}
	return ""
}

// optAcc accumulates the values of one directive across repeated flags.
type optAcc struct {
	spec   *flagSpec
	name   string // flag name (for unknown flags, as written)
	str    string
	list   []string
	m      map[string]string
	tokens []string
	at     diag.Provenance
}

func (a *optAcc) value() string {
	k := kString
	if a.spec != nil {
		k = a.spec.kind
	}
	switch k {
	case kList:
		return "[" + strings.Join(a.list, " ") + "]"
	case kMap:
		return renderMap(a.m)
	}
	return a.str
}

func renderMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("map[")
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + ":" + m[k])
	}
	b.WriteByte(']')
	return b.String()
}

// Arg is one command-line word with where it comes from.
type Arg struct {
	Word string
	At   diag.Provenance
}

// ParseArgs parses dockerd's arguments (argv[0] excluded) as dockerd's flag parser
// would, into directives keyed by daemon.json name in the order first seen. Problems are
// words dockerd rejects (positional arguments, malformed values, missing values).
func ParseArgs(args []Arg) ([]diag.DockerOption, []diag.ConfProblem) {
	var (
		order    []string
		accs     = map[string]*optAcc{}
		problems []diag.ConfProblem
	)
	problem := func(a Arg, format string, v ...any) {
		problems = append(problems, diag.ConfProblem{File: a.At.File, Line: a.At.Line, Message: fmt.Sprintf(format, v...)})
	}
	set := func(spec *flagSpec, name string, val string, hasVal bool, tokens []string, at Arg) {
		key := name
		if spec != nil {
			key = spec.key
		}
		acc, ok := accs[key]
		if !ok {
			acc = &optAcc{spec: spec, name: name, at: at.At, m: map[string]string{}}
			accs[key] = acc
			order = append(order, key)
		}
		acc.tokens = append(acc.tokens, tokens...)
		k := kString
		if spec != nil {
			k = spec.kind
		}
		switch k {
		case kBool:
			if !hasVal {
				val = "true"
			}
			b, err := strconv.ParseBool(val)
			if err != nil {
				problem(at, "invalid argument %q for --%s: want true or false", val, name)
				return
			}
			acc.str = strconv.FormatBool(b)
		case kInt:
			if _, err := strconv.Atoi(val); err != nil {
				problem(at, "invalid argument %q for --%s: want a number", val, name)
				return
			}
			acc.str = val
		case kList:
			if spec.key == "registry-mirrors" {
				// dockerd validates mirrors and stores them with one trailing slash.
				v, err := validateMirror(val)
				if err != nil {
					problem(at, "invalid argument %q for --%s: %v", val, name, err)
					return
				}
				val = v
			}
			acc.list = append(acc.list, val)
		case kMap:
			k, v, ok := strings.Cut(val, "=")
			if !ok {
				if spec.key == "log-opts" {
					problem(at, "invalid key value pair format %q for --%s", val, name)
					return
				}
			}
			acc.m[k] = v
		default:
			acc.str = val
		}
		acc.at = at.At // the last assignment wins, and is where to edit
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		w := a.Word
		switch {
		case w == "--":
			for _, rest := range args[i+1:] {
				problem(rest, "dockerd takes no arguments, got %q", rest.Word)
			}
			i = len(args)
		case strings.HasPrefix(w, "--"):
			name, val, hasVal := strings.Cut(w[2:], "=")
			spec := byName[name]
			tokens := []string{w}
			needsVal := spec == nil || (spec.kind != kBool)
			if needsVal && !hasVal {
				if i+1 < len(args) && (spec != nil || !strings.HasPrefix(args[i+1].Word, "-")) {
					i++
					val, hasVal = args[i].Word, true
					tokens = append(tokens, val)
				} else if spec != nil {
					problem(a, "flag needs an argument: --%s", name)
					continue
				}
			}
			set(spec, name, val, hasVal, tokens, a)
		case strings.HasPrefix(w, "-") && len(w) > 1:
			sh := w[1:2]
			spec := byShort[sh]
			if spec == nil {
				problem(a, "unknown shorthand flag: %q in %s", sh, w)
				continue
			}
			rest := w[2:]
			tokens := []string{w}
			var val string
			hasVal := false
			if strings.HasPrefix(rest, "=") {
				val, hasVal = rest[1:], true
			} else if rest != "" {
				val, hasVal = rest, true
			}
			if spec.kind != kBool && !hasVal {
				if i+1 >= len(args) {
					problem(a, "flag needs an argument: -%s", sh)
					continue
				}
				i++
				val, hasVal = args[i].Word, true
				tokens = append(tokens, val)
			}
			set(spec, spec.name, val, hasVal, tokens, a)
		default:
			problem(a, "dockerd takes no arguments, got %q", w)
		}
	}
	out := make([]diag.DockerOption, 0, len(order))
	for _, key := range order {
		acc := accs[key]
		out = append(out, diag.DockerOption{Key: key, Flag: acc.name, Value: acc.value(), Tokens: acc.tokens, At: acc.at})
	}
	return out, problems
}

// validateMirror is dockerd's registry.ValidateMirror (20.10).
func validateMirror(val string) (string, error) {
	uri, err := url.Parse(val)
	if err != nil {
		return "", fmt.Errorf("invalid mirror: %q is not a valid URI", val)
	}
	if uri.Scheme != "http" && uri.Scheme != "https" {
		return "", fmt.Errorf("invalid mirror: unsupported scheme %q in %q", uri.Scheme, uri)
	}
	if (uri.Path != "" && uri.Path != "/") || uri.RawQuery != "" || uri.Fragment != "" {
		return "", fmt.Errorf("invalid mirror: path, query, or fragment at end of the URI %q", uri)
	}
	if uri.User != nil {
		return "", fmt.Errorf("invalid mirror: username/password not allowed in URI %q", uri)
	}
	return strings.TrimSuffix(val, "/") + "/", nil
}
