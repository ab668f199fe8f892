package checks

import (
	"fmt"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// Filesystem purposes written by the gatherer.
const purposeDockerRoot = "docker-data-root"

// DiskDockerRootUsage reports a filling filesystem under Docker's data-root.
var DiskDockerRootUsage = diag.Check{
	ID:    "disk.docker-root-usage",
	Title: "Docker data-root filesystem filling up",
	Doc: `The filesystem that holds Docker's data-root (/var/lib/docker unless
moved) is past the warning (80 %) or critical (90 %) threshold of bytes or
inodes. kubelet starts image garbage collection above 85 % and reports
DiskPressure, evicting pods; at 100 % dockerd cannot create containers and
writes fail. Evidence includes Docker's own breakdown (images, writable
layers, volumes, build cache, reclaimable bytes). The prune remediation
removes exited non-Kubernetes containers, dangling images and unused build
cache; moving the data-root to a bigger disk is the lasting fix.`,
	Needs: []diag.Source{diag.SourceFilesystems},
	Uses:  []diag.Source{diag.SourceDocker, diag.SourceDockerConf},
	Wants: func(s *diag.Snapshot, cfg *diag.Config) []diag.Source {
		fs, ok := s.FilesystemFor(purposeDockerRoot)
		if !ok || fs.Error != "" || !s.Has(diag.SourceDocker) || s.DockerDisk != nil {
			return nil
		}
		if fs.UsedPercent() >= cfg.Disk.WarnPercent || fs.InodesUsedPercent() >= cfg.Disk.WarnPercent {
			return []diag.Source{diag.SourceDockerDisk}
		}
		return nil
	},
	Run: runDockerRootUsage,
}

func runDockerRootUsage(s *diag.Snapshot, cfg *diag.Config) ([]diag.Finding, error) {
	fs, ok := s.FilesystemFor(purposeDockerRoot)
	if !ok {
		// The source worked but holds no entry for it: a damaged snapshot.
		return nil, fmt.Errorf("could not judge: the filesystems gathered do not include the Docker data-root")
	}
	if fs.Error != "" {
		if strings.Contains(fs.Error, "no such file or directory") {
			return nil, diag.Skip("no Docker data-root to look at: %s", fs.Error)
		}
		// Present but not measurable (permission, I/O error, a hung mount).
		return nil, fmt.Errorf("could not judge: the Docker data-root could not be measured: %s", fs.Error)
	}
	bytesPct, inodePct := fs.UsedPercent(), fs.InodesUsedPercent()
	worst := max(bytesPct, inodePct)
	var sev diag.Severity
	switch {
	case worst >= cfg.Disk.CriticalPercent:
		sev = diag.Critical
	case worst >= cfg.Disk.WarnPercent:
		sev = diag.Warning
	default:
		return nil, nil
	}
	what := fmt.Sprintf("%.0f %% of bytes", bytesPct)
	if inodePct > bytesPct {
		what = fmt.Sprintf("%.0f %% of inodes", inodePct)
	}
	f := diag.Finding{
		Severity: sev,
		Title:    fmt.Sprintf("Docker data-root filesystem %s is %.0f %% full", fs.MountPoint, worst),
		Summary: fmt.Sprintf("The filesystem holding %s (%s) has %s in use; kubelet evicts pods under DiskPressure and dockerd fails to write when it fills.",
			fs.Path, fs.MountPoint, what),
		Explanation: "Free space by pruning what Docker no longer uses, then move the data-root to a larger disk " +
			"(stop docker, copy preserving hard links and xattrs, point data-root at the new place, start docker).",
		Evidence: []diag.Evidence{
			{Label: "Data-root", Value: fs.Path},
			{Label: "Mount point", Value: strings.TrimSpace(fs.MountPoint + " " + fs.FSType + " " + fs.Device)},
			{Label: "Size", Value: bytesIEC(int64(fs.TotalBytes))},
			{Label: "Used", Value: fmt.Sprintf("%s (%.1f %%)", bytesIEC(int64(fs.UsedBytes)), bytesPct)},
			{Label: "Free", Value: bytesIEC(int64(fs.FreeBytes))},
			{Label: "Inodes", Value: fmt.Sprintf("%d of %d used (%.1f %%)", fs.TotalInodes-fs.FreeInodes, fs.TotalInodes, inodePct)},
		},
	}
	if du := s.DockerDisk; du != nil {
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Docker disk usage", Table: &diag.Table{
			Columns: []string{"TYPE", "COUNT", "SIZE"},
			Rows: [][]string{
				{"Images", fmt.Sprint(len(du.Images)), bytesIEC(du.LayersSize)},
				{"Containers (writable layers)", fmt.Sprint(len(s.Docker.Containers)), bytesIEC(du.ContainersRw)},
				{"Local volumes", fmt.Sprint(du.Volumes), bytesIEC(du.VolumesSize)},
				{"Build cache", fmt.Sprint(len(du.BuildCacheItems)), bytesIEC(du.BuildCacheSize)},
			},
		}}, diag.Evidence{Label: "Reclaimable by Docker's accounting", Value: bytesIEC(du.Reclaimable)})
		if rem, ok := pruneRemediation(s); ok {
			f.Remediations = append(f.Remediations, rem)
		}
	} else if !s.Has(diag.SourceDocker) {
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Docker breakdown", Value: "unavailable: the Docker daemon did not answer"})
	}
	if s.Docker != nil && s.Docker.Reachable {
		f.Remediations = append(f.Remediations, DataRootMigrateRemediation(s))
	}
	return []diag.Finding{f}, nil
}

// pruneRemediation plans the removal of exited non-kubelet containers,
// dangling images and unused build cache, as listed in the snapshot.
func pruneRemediation(s *diag.Snapshot) (diag.Remediation, bool) {
	own, _ := exitedContainers(s)
	du := s.DockerDisk
	var dangling []diag.DiskImage
	for _, im := range du.Images {
		if im.Dangling() {
			dangling = append(dangling, im)
		}
	}
	var cacheBytes int64
	cacheItems := 0
	for _, bc := range du.BuildCacheItems {
		if !bc.InUse && !bc.Shared {
			cacheBytes += bc.Size
			cacheItems++
		}
	}
	if len(own) == 0 && len(dangling) == 0 && cacheItems == 0 {
		return diag.Remediation{}, false
	}
	var b strings.Builder
	var total int64
	var steps []diag.Step
	if len(own) > 0 {
		fmt.Fprintf(&b, "Remove %s not managed by kubelet (only while still exited):\n", plural(len(own), "exited container", "exited containers"))
		for _, c := range own {
			total += c.SizeRw
			fmt.Fprintf(&b, "  container %s  %s  %s\n", shortID(c.ID), c.Name, bytesIEC(c.SizeRw))
		}
		steps = append(steps, removeContainerSteps(own)...)
	}
	if len(dangling) > 0 {
		fmt.Fprintf(&b, "Remove %s (untagged, used by no container):\n", plural(len(dangling), "dangling image", "dangling images"))
		for _, im := range dangling {
			total += im.Size - im.SharedSize
			fmt.Fprintf(&b, "  image %s  %s\n", shortID(im.ID), bytesIEC(im.Size))
			steps = append(steps, diag.Step{
				Kind:        diag.StepRemoveImage,
				Description: "docker rmi " + shortID(im.ID),
				Image:       &diag.ImageTarget{ID: im.ID, Size: im.Size},
			})
		}
	}
	if cacheItems > 0 {
		total += cacheBytes
		fmt.Fprintf(&b, "Prune %s of unused build cache (%s).\n", bytesIEC(cacheBytes), plural(cacheItems, "record", "records"))
		steps = append(steps, diag.Step{Kind: diag.StepPruneBuildCache, Description: "docker builder prune (unused cache only)"})
	}
	fmt.Fprintf(&b, "Frees about %s. Running containers, tagged images and volumes are kept.", bytesIEC(total))
	return diag.Remediation{
		ID:      "disk.docker-root-usage/prune",
		Title:   fmt.Sprintf("Prune unused Docker data (about %s)", bytesIEC(total)),
		Risk:    diag.RiskLow,
		Preview: b.String(),
		Plan:    diag.Plan{Steps: steps},
	}, true
}
