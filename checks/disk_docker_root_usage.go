package checks

import (
	"fmt"
	"path"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
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
	Needs:     []diag.Source{diag.SourceFilesystems},
	Uses:      []diag.Source{diag.SourceDocker, diag.SourceDockerConf},
	Expensive: []diag.Source{diag.SourceDockerDisk},
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

func runDockerRootUsage(pass *diag.Pass) ([]diag.Finding, error) {
	fs, ok := pass.FilesystemFor(purposeDockerRoot)
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
	case worst >= pass.Config.Disk.CriticalPercent:
		sev = diag.Critical
	case worst >= pass.Config.Disk.WarnPercent:
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
			{Label: "Size", Value: diag.FormatBytes(int64(fs.TotalBytes))},
			{Label: "Used", Value: fmt.Sprintf("%s (%.1f %%)", diag.FormatBytes(int64(fs.UsedBytes)), bytesPct)},
			{Label: "Free", Value: diag.FormatBytes(int64(fs.FreeBytes))},
			{Label: "Inodes", Value: fmt.Sprintf("%d of %d used (%.1f %%)", fs.TotalInodes-fs.FreeInodes, fs.TotalInodes, inodePct)},
		},
	}
	if du := pass.DockerDisk(); du != nil {
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Docker disk usage", Table: &diag.Table{
			Columns: []string{"TYPE", "COUNT", "SIZE"},
			Rows: [][]string{
				{"Images", fmt.Sprint(len(du.Images)), diag.FormatBytes(du.LayersSize)},
				{"Containers (writable layers)", fmt.Sprint(len(pass.Docker().Containers)), diag.FormatBytes(du.ContainersRw)},
				{"Local volumes", fmt.Sprint(du.Volumes), diag.FormatBytes(du.VolumesSize)},
				{"Build cache", fmt.Sprint(len(du.BuildCacheItems)), diag.FormatBytes(du.BuildCacheSize)},
			},
		}}, diag.Evidence{Label: "Reclaimable by Docker's accounting", Value: diag.FormatBytes(du.Reclaimable)})
		if rem, ok := pruneRemediation(pass); ok {
			f.Remediations = append(f.Remediations, rem)
		}
	} else if !pass.Has(diag.SourceDocker) {
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Docker breakdown", Value: "unavailable: the Docker daemon did not answer"})
	}
	if pass.Docker() != nil && pass.Docker().Reachable {
		f.Remediations = append(f.Remediations, dataRootMigrateRemediation(pass))
	}
	return []diag.Finding{f}, nil
}

// pruneRemediation plans the removal of exited non-kubelet containers,
// dangling images and unused build cache, as listed in the snapshot.
func pruneRemediation(pass *diag.Pass) (diag.Remediation, bool) {
	own, _ := exitedContainers(pass)
	du := pass.DockerDisk()
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
			fmt.Fprintf(&b, "  container %s  %s  %s\n", diag.ShortID(c.ID), c.Name, diag.FormatBytes(c.SizeRw))
		}
		steps = append(steps, removeContainerSteps(own)...)
	}
	if len(dangling) > 0 {
		fmt.Fprintf(&b, "Remove %s (untagged, used by no container):\n", plural(len(dangling), "dangling image", "dangling images"))
		for _, im := range dangling {
			total += im.Size - im.SharedSize
			fmt.Fprintf(&b, "  image %s  %s\n", diag.ShortID(im.ID), diag.FormatBytes(im.Size))
			steps = append(steps, diag.Step{
				Kind:        diag.StepRemoveImage,
				Description: "docker rmi " + diag.ShortID(im.ID),
				Image:       &diag.ImageTarget{ID: im.ID, Size: im.Size},
			})
		}
	}
	if cacheItems > 0 {
		total += cacheBytes
		fmt.Fprintf(&b, "Prune %s of unused build cache (%s).\n", diag.FormatBytes(cacheBytes), plural(cacheItems, "record", "records"))
		steps = append(steps, diag.Step{Kind: diag.StepPruneBuildCache, Description: "docker builder prune (unused cache only)"})
	}
	fmt.Fprintf(&b, "Frees about %s. Running containers, tagged images and volumes are kept.", diag.FormatBytes(total))
	return diag.Remediation{
		ID:      pass.RemediationID("prune"),
		Title:   fmt.Sprintf("Prune unused Docker data (about %s)", diag.FormatBytes(total)),
		Risk:    diag.RiskLow,
		Preview: b.String(),
		Plan:    diag.Plan{Steps: steps},
	}, true
}

// Room a data-root migration needs beyond the data itself: 10 % plus this.
const migrateMarginBytes = 64 << 20

// dataRootMigrateRemediation builds disk.docker-root-usage/migrate: move Docker's
// data-root to the directory the user gives (the input diag.InputTo; with
// diag.InputSymlink "true" the old path becomes a symlink instead of changing
// data-root). Without the input the plan is empty and the remediation asks for it.
func dataRootMigrateRemediation(pass *diag.Pass) diag.Remediation {
	rem := diag.Remediation{
		ID:    "disk.docker-root-usage/migrate",
		Title: "Move Docker's data-root to a larger filesystem",
		Risk:  diag.RiskHigh,
		Input: &diag.InputSpec{Name: diag.InputTo, Prompt: "New data-root directory (empty, on a filesystem with room for the data)"},
		Preview: "Stops docker, copies the data-root to DIR (rsync -aHAXS), verifies it, keeps the old directory as a backup, " +
			"points dockerd at DIR and starts docker again. Give DIR with: ksdoctor fix disk.docker-root-usage/migrate --to DIR",
	}
	f := pass.DockerConf()
	if pass.Input(diag.InputTo) == "" || f == nil || f.Move == nil {
		return rem
	}
	mv := f.Move
	refuse := func(format string, a ...any) diag.Remediation {
		rem.Title = "Cannot move the data-root: " + fmt.Sprintf(format, a...)
		rem.Preview = "Refused: " + fmt.Sprintf(format, a...) + ". Nothing will be changed."
		return rem
	}
	need := mv.FromBytes + mv.FromBytes/10 + migrateMarginBytes
	switch {
	case mv.Error != "":
		return refuse("%s", mv.Error)
	case path.Clean(mv.To) == path.Clean(mv.From) || strings.HasPrefix(mv.To+"/", strings.TrimSuffix(mv.From, "/")+"/"):
		return refuse("%s is inside the data-root %s", mv.To, mv.From)
	case !mv.ToEmpty:
		return refuse("%s is not empty", mv.To)
	case uint64(need) > mv.ToFreeBytes:
		return refuse("%s has %s free, the data-root needs %s (%s plus a margin)", mv.To, diag.FormatBytes(int64(mv.ToFreeBytes)), diag.FormatBytes(need), diag.FormatBytes(mv.FromBytes))
	}
	symlink := pass.Input(diag.InputSymlink) == "true"
	fromIsMount := isMountPoint(pass, mv.From)
	if fromIsMount && symlink {
		return refuse("%s is a mount point: it cannot become a symlink (drop --symlink: data-root is then set in the configuration)", mv.From)
	}
	if len(f.Unparsed) > 0 && !symlink {
		return refuse("%s does not parse: ksdoctor will not set data-root in a file it cannot read whole (fix it, or use --symlink to leave the configuration alone)", strings.Join(f.Unparsed, ", "))
	}
	m := &diag.DataRootMove{
		From: mv.From, To: mv.To, Bytes: mv.FromBytes, Files: mv.FromFiles, Symlink: symlink,
		Backup: mv.From + ".ksdoctor-" + pass.Now().UTC().Format("20060102T150405Z") + ".bak",
	}
	if fromIsMount {
		m.Backup = ""
	}
	var diff string
	if !symlink {
		e, where, err := dataRootEdit(f, mv.To)
		if err != nil {
			return refuse("%v (use --symlink to leave the configuration alone)", err)
		}
		st := e.step()
		m.Edit = st.File
		diff = fmt.Sprintf("Set data-root in %s:\n%s", where, st.File.Diff)
	} else {
		diff = fmt.Sprintf("Leave the configuration alone; %s becomes a symlink to %s.\n", mv.From, mv.To)
	}
	var b strings.Builder
	est := ""
	if mv.Estimated {
		est = ", estimated from its filesystem's used space: too big to count during the sweep"
	}
	fmt.Fprintf(&b, "Move Docker's data-root %s (%s, %d entries%s) to %s (%s free there).\n", mv.From, diag.FormatBytes(mv.FromBytes), mv.FromFiles, est, mv.To, diag.FormatBytes(int64(mv.ToFreeBytes)))
	b.WriteString("1. Stop docker.socket (so no API call starts docker mid-copy) and docker.service.\n")
	fmt.Fprintf(&b, "2. Copy with rsync -aHAXS --numeric-ids %s/ %s/ (hard links, ACLs, xattrs, sparse files, owners, modes).\n", mv.From, mv.To)
	b.WriteString("3. Verify the copy: same number of entries and bytes.\n")
	if fromIsMount {
		fmt.Fprintf(&b, "4. Leave %s in place: it is a mount point, so it cannot be moved; it keeps the old data as the backup until you remove it.\n", mv.From)
	} else {
		fmt.Fprintf(&b, "4. Move %s to %s (kept as the backup until you remove it).\n", mv.From, m.Backup)
	}
	b.WriteString("5. " + diff)
	b.WriteString("6. Start docker and verify it lists the same images and containers.\n")
	b.WriteString("Any failure puts everything back and starts docker on the old data-root.\n")
	b.WriteString(blastRadius(pass))
	rem.Title = fmt.Sprintf("Move Docker's data-root to %s (%s)", mv.To, diag.FormatBytes(mv.FromBytes))
	rem.Preview = strings.TrimRight(b.String(), "\n")
	rem.Plan = diag.Plan{Transactional: true, Steps: []diag.Step{{
		Kind:        diag.StepDataRootMigrate,
		Description: fmt.Sprintf("move the data-root %s to %s", mv.From, mv.To),
		Migration:   m,
	}}}
	return rem
}

// isMountPoint reports whether the node path p is itself the mount point of
// the data-root's filesystem (a disk mounted at /var/lib/docker).
func isMountPoint(pass *diag.Pass, p string) bool {
	for _, fs := range pass.Filesystems() {
		if fs.Purpose == purposeDockerRoot && fs.MountPoint != "" && path.Clean(fs.MountPoint) == path.Clean(p) {
			return true
		}
	}
	return false
}

// dataRootEdit sets data-root to "to" where it is configured (the flag or daemon.json),
// or where the configuration lives when it is not set.
func dataRootEdit(f *diag.DockerConfFacts, to string) (plannedEdit, string, error) {
	var e plannedEdit
	o, ok := diag.Option(f.OnDisk, "data-root")
	switch {
	case ok && o.FromFlag():
		e = editOf(f, o.At.File)
		repl := "--data-root=" + to
		if len(o.Tokens) == 2 {
			repl = o.Tokens[0] + " " + to
		}
		after, err := dockerconf.ReplaceWords(e.after, o.At.Line, o.Tokens, repl)
		if err != nil {
			return e, "", err
		}
		e.after = after
	case ok || daemonJSONExists(f) || !hasFlagLine(f):
		e = editOf(f, f.DaemonJSON)
		dj, err := dockerconf.ParseDaemonJSON([]byte(e.after))
		if err != nil {
			return e, "", fmt.Errorf("%s does not parse: %w", f.DaemonJSON, err)
		}
		out, err := dj.Set("data-root", to)
		if err != nil {
			return e, "", err
		}
		e.after = string(out)
		if !e.exists {
			e.mode = 0o644
		}
	default:
		l := lastDropInFlag(f)
		e = editOf(f, l.At.File)
		after, err := dockerconf.InsertAfterWords(e.after, l.At.Line, []string{l.Tokens[len(l.Tokens)-1]}, "--data-root="+to)
		if err != nil {
			return e, "", err
		}
		e.after = after
	}
	p := dockerconf.Predict(f, map[string]string{e.path: e.after})
	if p.StartError != "" {
		return e, "", fmt.Errorf("dockerd would not start: %s", p.StartError)
	}
	if o, _ := diag.Option(p.OnDisk, "data-root"); o.Value != to {
		return e, "", fmt.Errorf("the edit would not set data-root (got %q)", o.Value)
	}
	return e, e.path, nil
}
