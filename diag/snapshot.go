package diag

import (
	"fmt"
	"time"
)

// SchemaVersion is the version of the Snapshot and Report JSON layout. A
// snapshot with another version is refused rather than half understood.
const SchemaVersion = 1

// Source names one kind of fact a gatherer collects. Checks declare the
// sources they need; the gatherer collects only those.
type Source string

// The fact sources. Expensive ones (SourceDockerSizes, SourceDockerStopped,
// SourceDockerDisk) are gathered only when a check asks for them after
// seeing the cheap facts.
const (
	SourceHost        Source = "host"         // hostname, kernel, OS, time
	SourceDocker      Source = "docker"       // daemon info and the container list
	SourceDockerSizes Source = "docker.sizes" // stopped containers' writable-layer sizes (walks their layers)
	// SourceDockerStopped inspects each stopped container: the exit time and
	// log path the list API lacks (one request per container).
	SourceDockerStopped Source = "docker.stopped"
	SourceDockerDisk    Source = "docker.df" // Docker's disk-usage breakdown (walks layers)
	SourceFilesystems   Source = "fs"        // statfs of the filesystems of interest
	SourceNetwork       Source = "net"       // links, routes, iptables, sysctls, dockerd flags
	SourceDockerConf    Source = "docker.config"
	SourceCluster       Source = "cluster"
	SourceDockerdProc   Source = "dockerd.process" // the running dockerd's PID and command line
)

// Snapshot is everything the gatherers saw during one sweep. It is the only
// input of the checks and can be written to disk and replayed.
type Snapshot struct {
	SchemaVersion int    `json:"schemaVersion"`
	Tool          Tool   `json:"tool"`
	HostRoot      string `json:"hostRoot"`
	// DockerHost is the Docker Engine address the sweep used.
	DockerHost string    `json:"dockerHost,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// Inputs are values the user supplied for a remediation (e.g. "to": the
	// new data-root directory); recorded so a replay sees them too.
	Inputs map[string]string `json:"inputs,omitempty"`
	// Sources records, for every source the sweep tried, whether it worked.
	Sources map[Source]*SourceStatus `json:"sources"`

	Host        *HostFacts       `json:"host,omitempty"`
	Docker      *DockerFacts     `json:"docker,omitempty"`
	DockerDisk  *DockerDiskUsage `json:"dockerDisk,omitempty"`
	Filesystems []Filesystem     `json:"filesystems,omitempty"`
	Dockerd     *DockerdProcess  `json:"dockerd,omitempty"`
	Network     *NetFacts        `json:"network,omitempty"`
	DockerConf  *DockerConfFacts `json:"dockerConfig,omitempty"`
	Cluster     *ClusterFacts    `json:"cluster,omitempty"`
	Systemd     *SystemdFacts    `json:"systemd,omitempty"`
}

// Tool identifies the ksdoctor build that wrote a snapshot or report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// SourceStatus says how gathering one source went.
type SourceStatus struct {
	Source Source `json:"source"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	// Absent says the source failed because what it reads is not part of
	// this node (no kubeconfig anywhere): checks that need it are skipped.
	// Any other failure (timeout, refused, over a limit) makes them error.
	Absent     bool  `json:"absent,omitempty"`
	DurationMs int64 `json:"durationMs"`
}

// AbsentError marks a source failure that means "not on this node" rather
// than "could not read it".
type AbsentError struct{ Msg string }

func (e *AbsentError) Error() string { return e.Msg }

// Absent returns an error that records a source as absent from the node.
func Absent(msg string) error { return &AbsentError{Msg: msg} }

// holds reports whether the snapshot carries the facts of src. A source
// marked ok without them is a damaged or hand-made snapshot.
func (s *Snapshot) holds(src Source) bool {
	switch src {
	case SourceHost:
		return s.Host != nil
	case SourceDocker:
		return s.Docker != nil
	case SourceDockerSizes:
		return s.Docker != nil && s.Docker.SizesGathered
	case SourceDockerStopped:
		return s.Docker != nil && s.Docker.StoppedInspected
	case SourceDockerDisk:
		return s.DockerDisk != nil
	case SourceFilesystems:
		return len(s.Filesystems) > 0
	case SourceNetwork:
		return s.Network != nil
	case SourceNetProbe:
		return s.Network != nil && s.Network.Probe != nil
	case SourceDockerConf:
		return s.DockerConf != nil
	case SourceCluster:
		return s.Cluster != nil
	case SourceDockerdProc:
		return s.Dockerd != nil
	}
	return true
}

// SourceError returns why a source is unusable in s, or nil when it was
// gathered successfully.
func (s *Snapshot) SourceError(src Source) error {
	st, ok := s.Sources[src]
	if !ok || st == nil {
		return fmt.Errorf("source %s was not gathered", src)
	}
	if !st.OK {
		return fmt.Errorf("source %s failed: %s", src, st.Error)
	}
	return nil
}

// Has reports whether src was gathered successfully.
func (s *Snapshot) Has(src Source) bool { return s.SourceError(src) == nil }

// Now is the sweep's notion of the current time: the moment gathering
// started. Checks use it instead of time.Now so replays are identical.
func (s *Snapshot) Now() time.Time { return s.StartedAt }

// HostFacts describes the machine being swept.
type HostFacts struct {
	Hostname      string `json:"hostname"`
	Kernel        string `json:"kernel,omitempty"`
	OS            string `json:"os,omitempty"`
	Arch          string `json:"arch,omitempty"`
	UptimeSeconds int64  `json:"uptimeSeconds,omitempty"`
}

// DockerFacts is what the Docker Engine API said, or why it could not.
type DockerFacts struct {
	Address       string `json:"address"`
	Reachable     bool   `json:"reachable"`
	Error         string `json:"error,omitempty"`
	Version       string `json:"version,omitempty"`
	APIVersion    string `json:"apiVersion,omitempty"`
	DataRoot      string `json:"dataRoot,omitempty"`
	StorageDriver string `json:"storageDriver,omitempty"`
	LoggingDriver string `json:"loggingDriver,omitempty"`
	CgroupDriver  string `json:"cgroupDriver,omitempty"`
	LiveRestore   bool   `json:"liveRestore,omitempty"`
	// Daemon is the running daemon's configuration the API reports (nil when not read).
	Daemon *DockerDaemonInfo `json:"daemon,omitempty"`
	// BridgeSubnets are the IPv4 subnets of Docker's default "bridge" network.
	BridgeSubnets []string    `json:"bridgeSubnets,omitempty"`
	Containers    []Container `json:"containers"`
	// SizesGathered is true when Container.SizeRw values were collected:
	// of the stopped containers (docker.sizes) or of all (docker.df).
	SizesGathered bool `json:"sizesGathered,omitempty"`
	// StoppedInspected is true when the stopped containers' FinishedAt,
	// ExitCode and LogPath come from inspecting each (source
	// docker.stopped); otherwise ExitCode is read from the list's status
	// and FinishedAt is unknown.
	StoppedInspected bool `json:"stoppedInspected,omitempty"`
}

// Container is one Docker container as the daemon reported it.
type Container struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Image      string            `json:"image"`
	State      string            `json:"state"` // created, running, paused, restarting, removing, exited, dead
	Status     string            `json:"status,omitempty"`
	ExitCode   int               `json:"exitCode"`
	CreatedAt  time.Time         `json:"createdAt"`
	FinishedAt time.Time         `json:"finishedAt,omitzero"`
	SizeRw     int64             `json:"sizeRw,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	LogPath    string            `json:"logPath,omitempty"`
}

// KubeletManaged reports whether kubelet created the container (dockershim
// names it k8s_… and labels it io.kubernetes.*); kubelet collects those
// itself.
func (c Container) KubeletManaged() bool {
	if len(c.Name) >= 4 && c.Name[:4] == "k8s_" {
		return true
	}
	for k := range c.Labels {
		if len(k) >= 14 && k[:14] == "io.kubernetes." {
			return true
		}
	}
	return false
}

// DockerDiskUsage is Docker's own breakdown of its disk use (GET /system/df).
type DockerDiskUsage struct {
	LayersSize      int64        `json:"layersSize"`
	Images          []DiskImage  `json:"images"`
	ContainersRw    int64        `json:"containersRw"`
	VolumesSize     int64        `json:"volumesSize"`
	Volumes         int          `json:"volumes"`
	BuildCacheSize  int64        `json:"buildCacheSize"`
	BuildCacheItems []BuildCache `json:"buildCache,omitempty"`
	// Reclaimable is what a prune of unused images, stopped containers and
	// build cache would free, by Docker's accounting.
	Reclaimable int64 `json:"reclaimable"`
}

// DiskImage is one image in Docker's disk-usage report.
type DiskImage struct {
	ID         string   `json:"id"`
	RepoTags   []string `json:"repoTags,omitempty"`
	Size       int64    `json:"size"`
	SharedSize int64    `json:"sharedSize"`
	Containers int64    `json:"containers"`
}

// Dangling reports whether the image has no tag and no container uses it.
func (i DiskImage) Dangling() bool {
	if i.Containers > 0 {
		return false
	}
	for _, t := range i.RepoTags {
		if t != "<none>:<none>" {
			return false
		}
	}
	return true
}

// BuildCache is one build-cache record.
type BuildCache struct {
	ID     string `json:"id"`
	Size   int64  `json:"size"`
	InUse  bool   `json:"inUse"`
	Shared bool   `json:"shared"`
}

// Filesystem is the statfs of one path of interest.
type Filesystem struct {
	// Purpose says why it was looked at, e.g. "docker-data-root".
	Purpose string `json:"purpose"`
	// Path is the path as the node sees it (without the host root prefix).
	Path        string `json:"path"`
	MountPoint  string `json:"mountPoint,omitempty"`
	FSType      string `json:"fsType,omitempty"`
	Device      string `json:"device,omitempty"`
	TotalBytes  uint64 `json:"totalBytes"`
	FreeBytes   uint64 `json:"freeBytes"` // available to unprivileged users
	UsedBytes   uint64 `json:"usedBytes"` // total - free (incl. reserved)
	TotalInodes uint64 `json:"totalInodes"`
	FreeInodes  uint64 `json:"freeInodes"`
	Error       string `json:"error,omitempty"`
}

// UsedPercent is the share of bytes in use as df computes it: used over
// used plus available to users.
func (f Filesystem) UsedPercent() float64 {
	den := f.UsedBytes + f.FreeBytes
	if den == 0 {
		return 0
	}
	return 100 * float64(f.UsedBytes) / float64(den)
}

// InodesUsedPercent is the share of inodes in use (0 where the filesystem
// has no fixed inode table).
func (f Filesystem) InodesUsedPercent() float64 {
	if f.TotalInodes == 0 {
		return 0
	}
	return 100 * float64(f.TotalInodes-f.FreeInodes) / float64(f.TotalInodes)
}

// FilesystemFor returns the filesystem gathered for purpose.
func (s *Snapshot) FilesystemFor(purpose string) (Filesystem, bool) {
	for _, f := range s.Filesystems {
		if f.Purpose == purpose {
			return f, true
		}
	}
	return Filesystem{}, false
}

// DockerdProcess is the running dockerd as /proc shows it.
type DockerdProcess struct {
	PID int `json:"pid"`
	// Args is the full command line, argv[0] first.
	Args []string `json:"args"`
	// Found says how the process was found ("pidfile /var/run/docker.pid", "scan of /proc").
	Found string `json:"found"`
}
