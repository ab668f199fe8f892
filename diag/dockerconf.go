package diag

import "time"

// DockerConfFacts holds dockerd's effective configuration with the provenance of each option:
// what the files on disk resolve to (the docker.service unit and its drop-ins, Environment=
// and EnvironmentFile= expansion, daemon.json), what the running process was started with,
// and what the files would make dockerd do at its next start.
type DockerConfFacts struct {
	// Files are every configuration file read (or looked for), with its content so that
	// remediations can be planned and replayed from the snapshot alone.
	Files []ConfFile `json:"files"`
	// Unit is the on-disk resolution of docker.service (nil when no unit file exists).
	Unit *DockerUnit `json:"unit,omitempty"`
	// DaemonJSON is the daemon configuration file in effect (--config-file or
	// /etc/docker/daemon.json), as the node sees it.
	DaemonJSON string `json:"daemonJson"`
	// OnDisk are the options dockerd will start with next time: flags of the resolved
	// ExecStart, then daemon.json directives, each with its provenance.
	OnDisk []DockerOption `json:"onDisk"`
	// Running are the options of the running dockerd's command line (nil when no dockerd runs).
	Running []DockerOption `json:"running,omitempty"`
	// RunningArgs is the running dockerd's argv, when known.
	RunningArgs []string `json:"runningArgs,omitempty"`
	// DockerdStartedAt is when the running dockerd started (zero when unknown).
	DockerdStartedAt time.Time `json:"dockerdStartedAt,omitzero"`
	// Problems are parse errors: a file, line and column, and what is wrong.
	Problems []ConfProblem `json:"problems,omitempty"`
	// Conflicts are directives set both as a flag and in daemon.json: dockerd refuses to start.
	Conflicts []ConfConflict `json:"conflicts,omitempty"`
	// DataRootResolved is the data-root the files name with its symlinks resolved under
	// the host root, as dockerd resolves it at start ("" when not resolved).
	DataRootResolved string `json:"dataRootResolved,omitempty"`
	// DockerdVersion is the dockerd release the files were judged against ("20.10",
	// "28.0"; "" when unknown: then only what no release accepts is a certain failure),
	// and DockerdVersionSource where it was read ("Docker API /version", "dockerd
	// --version (/usr/bin/dockerd)").
	DockerdVersion       string `json:"dockerdVersion,omitempty"`
	DockerdVersionSource string `json:"dockerdVersionSource,omitempty"`
	// StartError is the error dockerd will stop at when started with the files on disk
	// ("" when the configuration is expected to start), worded as dockerd words it.
	StartError string `json:"startError,omitempty"`
	// Unparsed are the files whose content could not be taken in whole (daemon.json that
	// is not valid JSON, a unit or drop-in systemd refuses or partly ignores for a syntax
	// error): what they say is unknown, so checks that judge the configuration skip.
	Unparsed []string `json:"unparsed,omitempty"`
	// Unjudged are the files that could not be read whole ("PATH: why": over the size
	// limit, not a regular file, no permission). A configuration read in part is never
	// parsed: the docker.config source fails with these reasons and every check that
	// needs it says it could not judge.
	Unjudged []string `json:"unjudged,omitempty"`
	// LargestLogs are the largest container log files under the data-root.
	LargestLogs []LogFile `json:"largestLogs,omitempty"`
	// Move describes the data-root and the target directory the user asked to migrate it
	// to (Snapshot.Inputs[InputTo]); nil without that input.
	Move *DataRootMoveFacts `json:"move,omitempty"`
}

// DataRootMoveFacts measures a requested data-root migration.
type DataRootMoveFacts struct {
	From      string `json:"from"`
	FromBytes int64  `json:"fromBytes"` // allocated bytes
	FromFiles int64  `json:"fromFiles"`
	// Estimated is set when the data-root was too big to walk within the source's time:
	// FromBytes and FromFiles are then its filesystem's used space and inodes.
	Estimated bool   `json:"estimated,omitempty"`
	To        string `json:"to"`
	ToExists  bool   `json:"toExists"`
	ToEmpty   bool   `json:"toEmpty"`
	// ToFreeBytes is the free space of the filesystem that holds To (or its parent).
	ToFreeBytes uint64 `json:"toFreeBytes"`
	// SameFilesystem is true when From and To are on one filesystem.
	SameFilesystem bool   `json:"sameFilesystem,omitempty"`
	Error          string `json:"error,omitempty"`
}

// ConfFile is one configuration file as read from the node.
type ConfFile struct {
	// Path is the path on the node (without the host root).
	Path string `json:"path"`
	// Role is "unit", "drop-in", "environment-file" or "daemon.json".
	Role    string    `json:"role"`
	Exists  bool      `json:"exists"`
	Content string    `json:"content,omitempty"`
	SHA256  string    `json:"sha256,omitempty"`
	Mode    uint32    `json:"mode,omitempty"`
	ModTime time.Time `json:"modTime,omitzero"`
	// Masked is set for a drop-in that a same-named one in a higher-priority directory hides.
	Masked bool `json:"masked,omitempty"`
}

// DockerUnit is the resolved docker.service.
type DockerUnit struct {
	Path    string   `json:"path"`
	DropIns []string `json:"dropIns,omitempty"` // in the order systemd applies them
	// ExecStart is the command line as written, after the last reset.
	ExecStart string `json:"execStart"`
	// ExecStartAt is where that ExecStart= is.
	ExecStartAt Provenance `json:"execStartAt"`
	// Argv is ExecStart after $VAR/${VAR} expansion and word splitting.
	Argv []string `json:"argv"`
	// Env is the environment systemd gives dockerd (Environment= then EnvironmentFile=).
	Env []EnvVar `json:"env,omitempty"`
	// Expanded names variables ExecStart references, with where each was defined.
	Expanded []EnvVar `json:"expanded,omitempty"`
}

// EnvVar is one environment variable of the unit with its provenance.
type EnvVar struct {
	Name  string     `json:"name"`
	Value string     `json:"value"`
	At    Provenance `json:"at"`
}

// Provenance says where a value comes from: a file and line, or the running process.
type Provenance struct {
	// Origin is "unit" (ExecStart= itself), "env" (a variable ExecStart expands),
	// "daemon.json" or "running process".
	Origin string `json:"origin"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Via names the variable the option came through, e.g. "DOCKER_OPTS".
	Via string `json:"via,omitempty"`
}

// String renders the provenance as "file:line (via $VAR)" or "running process".
func (p Provenance) String() string {
	if p.File == "" {
		if p.Origin == "" {
			return "-"
		}
		return p.Origin
	}
	s := p.File
	if p.Line > 0 {
		s += ":" + itoa(p.Line)
	}
	if p.Via != "" {
		s += " ($" + p.Via + ")"
	}
	return s
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// DockerOption is one dockerd directive with its value and provenance.
type DockerOption struct {
	// Key is the daemon.json name ("iptables", "log-opts", "hosts").
	Key string `json:"key"`
	// Flag is the command-line flag name when set by a flag ("iptables", "log-opt", "host").
	Flag string `json:"flag,omitempty"`
	// Value is rendered as dockerd renders it in its own messages: "false", "[a b]",
	// "map[max-size:10m]".
	Value string `json:"value"`
	// Tokens are the argv words that set it, as written ("--iptables=false").
	Tokens []string   `json:"tokens,omitempty"`
	At     Provenance `json:"at"`
}

// FromFlag reports whether the option was set on the command line.
func (o DockerOption) FromFlag() bool { return o.At.Origin != "daemon.json" }

// ConfProblem is a configuration file that cannot be parsed, with the position.
type ConfProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
	// Fatal is set when dockerd (or systemd) certainly refuses to start with it.
	Fatal bool `json:"fatal,omitempty"`
}

// ConfConflict is a directive set both as a flag and in daemon.json.
type ConfConflict struct {
	Key  string       `json:"key"`
	Flag DockerOption `json:"flag"`
	File DockerOption `json:"file"`
}

// LogFile is one container log file and its size.
type LogFile struct {
	Path      string `json:"path"`
	Container string `json:"container"`
	Bytes     int64  `json:"bytes"`
}

// Option returns the option with key from opts.
func Option(opts []DockerOption, key string) (DockerOption, bool) {
	for _, o := range opts {
		if o.Key == key {
			return o, true
		}
	}
	return DockerOption{}, false
}

// File returns the configuration file at path.
func (f *DockerConfFacts) File(path string) (ConfFile, bool) {
	for _, c := range f.Files {
		if c.Path == path {
			return c, true
		}
	}
	return ConfFile{}, false
}

// DockerBaseline is the dockerd configuration a fleet expects (the dockerBaseline section of
// ksdoctor's configuration file). Unset fields are not checked; an empty baseline checks
// nothing.
type DockerBaseline struct {
	IPTables           *bool             `json:"iptables,omitempty"`
	LiveRestore        *bool             `json:"liveRestore,omitempty"`
	DataRoot           string            `json:"dataRoot,omitempty"`
	StorageDriver      string            `json:"storageDriver,omitempty"`
	LogDriver          string            `json:"logDriver,omitempty"`
	LogOpts            map[string]string `json:"logOpts,omitempty"`
	RegistryMirrors    []string          `json:"registryMirrors,omitempty"`
	InsecureRegistries []string          `json:"insecureRegistries,omitempty"`
	ExecOpts           []string          `json:"execOpts,omitempty"`
	// Options are other directives by daemon.json name, with the value as dockerd prints
	// it ("true", "[a b]", "map[k:v]").
	Options map[string]string `json:"options,omitempty"`
}
