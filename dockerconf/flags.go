package dockerconf

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
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

// flagSpec is one dockerd flag, the daemon.json directive it maps to, and the releases
// that have it (flagtable.go).
type flagSpec struct {
	name, short, key string
	kind             kind
	// since is the first release with the flag (zero: 18.09 or earlier); until the first
	// release without it (zero: still there).
	since, until Version
	// refusedFrom is the first release that still parses the flag but refuses to start
	// when it is set, with the message refused.
	refusedFrom Version
	refused     string
}

// skipDuplicates are directives dockerd allows in both places (daemon/config).
var skipDuplicates = map[string]bool{"runtimes": true}

// lookup returns the row of flagTable for which match holds in release v (any release
// when v is unknown; then the newest row wins).
func lookup(v Version, match func(*flagSpec) bool) *flagSpec {
	var out *flagSpec
	for i := range flagTable {
		f := &flagTable[i]
		if !match(f) {
			continue
		}
		if v.certain() {
			if v.in(f.since, f.until) {
				return f
			}
			continue
		}
		if out == nil || !f.until.Known() {
			out = f
		}
	}
	return out
}

func specByName(name string, v Version) *flagSpec {
	return lookup(v, func(f *flagSpec) bool { return f.name == name })
}

func specByShort(sh string, v Version) *flagSpec {
	return lookup(v, func(f *flagSpec) bool { return f.short != "" && f.short == sh })
}

func specByKey(key string, v Version) *flagSpec {
	return lookup(v, func(f *flagSpec) bool { return f.key == key })
}

// refusedIn reports whether release v parses the flag but refuses to start with it.
func (f *flagSpec) refusedIn(v Version) bool {
	return f.refused != "" && v.certain() && !v.Less(f.refusedFrom)
}

// releases renders the releases that have the flag ("18.09 and later", "18.09 until 24.0").
func (f *flagSpec) releases() string {
	since := "18.09"
	if f.since.Known() {
		since = f.since.String()
	}
	if !f.until.Known() {
		return since + " and later"
	}
	return since + " until " + f.until.String()
}

// FlagForKey returns the long flag name for a daemon.json directive ("" when none).
func FlagForKey(key string) string {
	if f := specByKey(key, Version{}); f != nil {
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
	var b strings.Builder
	b.WriteString("map[")
	for i, k := range slices.Sorted(maps.Keys(m)) {
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

// flagUse is one flag found on a command line.
type flagUse struct {
	spec   *flagSpec // nil for a flag no release knows
	name   string    // long name, as dockerd reports it
	val    string
	hasVal bool
	tokens []string // the words that set it, as written
	index  int      // position of the first word in args
	at     Arg
}

// scanArgs walks dockerd's arguments as its flag parser (spf13/pflag) does, for release v:
// --name=value, --name value (non-boolean flags), --name (boolean), -x value, -xvalue,
// -x=value, grouped boolean shorthands (-Dl debug), and "--" ending the flags. Each flag
// goes to use, each word dockerd rejects to problem.
func scanArgs(args []Arg, v Version, use func(flagUse), problem func(Arg, bool, string)) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		w := a.Word
		switch {
		case w == "--":
			for _, rest := range args[i+1:] {
				problem(rest, true, fmt.Sprintf("dockerd takes no arguments, got %q", rest.Word))
			}
			return
		case strings.HasPrefix(w, "--"):
			name, val, hasVal := strings.Cut(w[2:], "=")
			if name == "" || name[0] == '-' {
				problem(a, true, "bad flag syntax: "+w)
				continue
			}
			spec := specByName(name, v)
			u := flagUse{spec: spec, name: name, val: val, hasVal: hasVal, tokens: []string{w}, index: i, at: a}
			if spec == nil {
				if !unknownFlag(a, "--"+name, name, v, problem) {
					continue
				}
			}
			if (spec == nil || spec.kind != kBool) && !hasVal {
				if i+1 < len(args) && (spec != nil || !strings.HasPrefix(args[i+1].Word, "-")) {
					i++
					u.val, u.hasVal = args[i].Word, true
					u.tokens = append(u.tokens, u.val)
				} else if spec != nil {
					problem(a, true, "flag needs an argument: --"+name)
					continue
				}
			}
			use(u)
		case strings.HasPrefix(w, "-") && len(w) > 1:
			i = scanShorthands(args, i, v, use, problem)
		default:
			problem(a, true, fmt.Sprintf("dockerd takes no arguments, got %q", w))
		}
	}
}

// scanShorthands handles one word of shorthand flags at args[i] and returns the index of
// the last word it consumed.
func scanShorthands(args []Arg, i int, v Version, use func(flagUse), problem func(Arg, bool, string)) int {
	a := args[i]
	rest := a.Word[1:]
	for rest != "" {
		sh := rest[:1]
		rest = rest[1:]
		spec := specByShort(sh, v)
		if spec == nil {
			if known := specByShort(sh, Version{}); known != nil && v.certain() {
				problem(a, true, fmt.Sprintf("unknown shorthand flag: %q in %s (-%s, --%s, exists in dockerd %s, not in %s)",
					sh, a.Word, sh, known.name, known.releases(), v))
			} else {
				problem(a, true, fmt.Sprintf("unknown shorthand flag: %q in %s", sh, a.Word))
			}
			return i
		}
		u := flagUse{spec: spec, name: spec.name, tokens: []string{a.Word}, index: i, at: a}
		switch {
		case strings.HasPrefix(rest, "="):
			u.val, u.hasVal, rest = rest[1:], true, ""
		case spec.kind == kBool:
			// More shorthands may follow in the same word.
		case rest != "":
			u.val, u.hasVal, rest = rest, true, ""
		case i+1 < len(args):
			i++
			u.val, u.hasVal = args[i].Word, true
			u.tokens = append(u.tokens, u.val)
		default:
			problem(a, true, "flag needs an argument: -"+sh)
			return i
		}
		use(u)
	}
	return i
}

// unknownFlag reports a long flag release v does not know. It returns true when parsing
// goes on with the flag (the release is not certain, so the flag may exist).
func unknownFlag(a Arg, word, name string, v Version, problem func(Arg, bool, string)) bool {
	known := specByName(name, Version{})
	switch {
	case v.certain() && known != nil:
		problem(a, true, fmt.Sprintf("unknown flag: %s (it exists in dockerd %s, not in %s)", word, known.releases(), v))
		return false
	case v.certain():
		problem(a, true, "unknown flag: "+word)
		return false
	case known == nil:
		problem(a, false, fmt.Sprintf("unknown flag: %s (no dockerd release from 18.09 to 29.0 has it; the installed release is %s)", word, v))
	}
	return true
}

// ParseArgs parses dockerd's arguments (argv[0] excluded) as dockerd's flag parser would,
// without knowing the release: every flag of 18.09 to 29.0 is accepted.
func ParseArgs(args []Arg) ([]diag.DockerOption, []diag.ConfProblem) {
	return ParseArgsFor(args, Version{})
}

// ParseArgsFor parses dockerd's arguments (argv[0] excluded) as dockerd release v's flag
// parser would, into directives keyed by daemon.json name in the order first seen.
// Problems are words dockerd rejects (unknown flags, positional arguments, malformed or
// missing values) and flags release v parses but refuses to start with; Fatal marks those
// that stop dockerd for certain.
func ParseArgsFor(args []Arg, v Version) ([]diag.DockerOption, []diag.ConfProblem) {
	var (
		order    []string
		accs     = map[string]*optAcc{}
		problems []diag.ConfProblem
	)
	problemAt := func(a Arg, fatal bool, msg string) {
		problems = append(problems, diag.ConfProblem{File: a.At.File, Line: a.At.Line, Message: msg, Fatal: fatal})
	}
	problem := func(a Arg, format string, args ...any) { problemAt(a, true, fmt.Sprintf(format, args...)) }
	scanArgs(args, v, func(u flagUse) {
		spec, name, val, at := u.spec, u.name, u.val, u.at
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
		acc.tokens = append(acc.tokens, u.tokens...)
		if !acc.setValue(val, u.hasVal, func(format string, args ...any) { problem(at, format, args...) }) {
			return
		}
		acc.at = at.At // the last assignment wins, and is where to edit
		if spec != nil && spec.refusedIn(v) && !(spec.kind == kInt && val == "0") {
			problemAt(at, true, spec.refused)
		} else if spec != nil && spec.refused != "" && !v.certain() {
			problemAt(at, false, fmt.Sprintf("--%s is refused by dockerd %s and later (%s); the installed release is not known",
				name, spec.refusedFrom, spec.refused))
		}
	}, problemAt)
	out := make([]diag.DockerOption, 0, len(order))
	for _, key := range order {
		acc := accs[key]
		out = append(out, diag.DockerOption{Key: key, Flag: acc.name, Value: acc.value(), Tokens: acc.tokens, At: acc.at})
	}
	return out, problems
}

// setValue records one assignment of the option; false when dockerd rejects the value.
func (a *optAcc) setValue(val string, hasVal bool, problem func(string, ...any)) bool {
	k := kString
	if a.spec != nil {
		k = a.spec.kind
	}
	name := a.name
	switch k {
	case kBool:
		if !hasVal {
			val = "true"
		}
		b, err := strconv.ParseBool(val)
		if err != nil {
			problem("invalid argument %q for --%s: want true or false", val, name)
			return false
		}
		a.str = strconv.FormatBool(b)
	case kInt:
		if _, err := strconv.Atoi(val); err != nil {
			problem("invalid argument %q for --%s: want a number", val, name)
			return false
		}
		a.str = val
	case kList:
		if a.spec.key == "registry-mirrors" {
			// dockerd validates mirrors and stores them with one trailing slash.
			v, err := validateMirror(val)
			if err != nil {
				problem("invalid argument %q for --%s: %v", val, name, err)
				return false
			}
			val = v
		}
		a.list = append(a.list, val)
	case kMap:
		k, v, ok := strings.Cut(val, "=")
		if !ok && a.spec.key == "log-opts" {
			problem("invalid key value pair format %q for --%s", val, name)
			return false
		}
		a.m[k] = v
	default:
		a.str = val
	}
	return true
}

// FlagSetting is where one dockerd flag was found on a command line.
type FlagSetting struct {
	// Name is the flag's long name ("bridge" for -b).
	Name  string
	Value string
	// Index is the position of the flag's first word in the arguments given to FindFlag.
	Index int
	// Arg is the flag as written, with its value word when separate ("-b br0").
	Arg string
}

// FindFlag finds the last setting of a dockerd flag in args (dockerd's arguments,
// argv[0] excluded), parsed as dockerd parses them: names are long names or shorthands
// without dashes ("bridge", "b"), and a flag given through its shorthand is found by its
// long name too. A boolean flag without a value is "true".
func FindFlag(args []string, names ...string) (FlagSetting, bool) {
	words := make([]Arg, len(args))
	for i, w := range args {
		words[i] = Arg{Word: w}
	}
	var out FlagSetting
	found := false
	scanArgs(words, Version{}, func(u flagUse) {
		for _, n := range names {
			if n == u.name || u.spec != nil && n == u.spec.short {
				val := u.val
				if !u.hasVal {
					val = "true"
				}
				out, found = FlagSetting{Name: u.name, Value: val, Index: u.index, Arg: strings.Join(u.tokens, " ")}, true
				return
			}
		}
	}, func(Arg, bool, string) {})
	return out, found
}

// IsBoolFlag reports whether dockerd release v (any release when v is unknown) has a
// boolean flag of that name ("--iptables", "iptables", "-D").
func IsBoolFlag(name string, v Version) bool {
	var f *flagSpec
	switch {
	case strings.HasPrefix(name, "--"):
		f = specByName(strings.TrimPrefix(name, "--"), v)
	case strings.HasPrefix(name, "-") && len(name) == 2:
		f = specByShort(name[1:], v)
	case len(name) == 1:
		f = specByShort(name, v)
	default:
		f = specByName(name, v)
	}
	return f != nil && f.kind == kBool
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
