package checks

import (
	"fmt"
	"testing"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// bigSnapshot is a node with n containers: a third exited by hand, a third
// exited kubelet containers, a third running; data-root 85 % full with a
// breakdown, so every Docker check has work to do.
func bigSnapshot(n int) *diag.Snapshot {
	now := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	s := &diag.Snapshot{SchemaVersion: diag.SchemaVersion, Tool: diag.Tool{Name: "ksdoctor"}, StartedAt: now,
		Sources: map[diag.Source]*diag.SourceStatus{}}
	for _, src := range []diag.Source{diag.SourceHost, diag.SourceDocker, diag.SourceDockerSizes, diag.SourceDockerDisk, diag.SourceFilesystems} {
		s.Sources[src] = &diag.SourceStatus{Source: src, OK: true}
	}
	s.Host = &diag.HostFacts{Hostname: "bench"}
	s.Docker = &diag.DockerFacts{Reachable: true, DataRoot: "/var/lib/docker", SizesGathered: true}
	du := &diag.DockerDiskUsage{}
	for i := range n {
		c := diag.Container{ID: fmt.Sprintf("%064x", i), Name: fmt.Sprintf("c-%05d", i), Image: "busybox",
			CreatedAt: now.Add(-time.Duration(i) * time.Minute), SizeRw: int64(i) << 12}
		switch i % 3 {
		case 0:
			c.State, c.ExitCode, c.FinishedAt = "exited", i%4, now.Add(-time.Duration(i)*time.Second)
		case 1:
			c.State, c.Name = "exited", "k8s_app_"+c.Name
			c.Labels = map[string]string{"io.kubernetes.pod.name": c.Name, "io.kubernetes.pod.namespace": "default"}
		default:
			c.State = "running"
		}
		s.Docker.Containers = append(s.Docker.Containers, c)
		if i%10 == 0 {
			du.Images = append(du.Images, diag.DiskImage{ID: fmt.Sprintf("sha256:%064x", i), Size: 1 << 20})
		}
	}
	s.DockerDisk = du
	s.Filesystems = []diag.Filesystem{{Purpose: purposeDockerRoot, Path: "/var/lib/docker", MountPoint: "/",
		TotalBytes: 100 << 30, UsedBytes: 85 << 30, FreeBytes: 15 << 30, TotalInodes: 1 << 20, FreeInodes: 1 << 19}}
	return s
}

// BenchmarkSweep2000Containers judges a recorded snapshot of a node with
// 2,000 containers with every check: the cost of a sweep beyond gathering.
func BenchmarkSweep2000Containers(b *testing.B) {
	s := bigSnapshot(2000)
	cfg := diag.DefaultConfig()
	all := All()
	b.ReportAllocs()
	for b.Loop() {
		r := diag.Run(all, s, cfg, diag.RunOptions{})
		if len(r.Findings) == 0 {
			b.Fatal("no findings")
		}
	}
}
