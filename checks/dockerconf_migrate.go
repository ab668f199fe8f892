package checks

import (
	"fmt"
	"path"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

// Room a data-root migration needs beyond the data itself: 10 % plus this.
const migrateMarginBytes = 64 << 20

// DataRootMigrateRemediation builds disk.docker-root-usage/migrate: move Docker's
// data-root to the directory the user gives (Snapshot.Inputs["to"]; with
// Inputs["symlink"] == "true" the old path becomes a symlink instead of changing
// data-root). Without the input the plan is empty and the remediation asks for it.
func DataRootMigrateRemediation(s *diag.Snapshot) diag.Remediation {
	rem := diag.Remediation{
		ID:    "disk.docker-root-usage/migrate",
		Title: "Move Docker's data-root to a larger filesystem",
		Risk:  diag.RiskHigh,
		Input: &diag.InputSpec{Name: "to", Prompt: "New data-root directory (empty, on a filesystem with room for the data)"},
		Preview: "Stops docker, copies the data-root to DIR (rsync -aHAXS), verifies it, keeps the old directory as a backup, " +
			"points dockerd at DIR and starts docker again. Give DIR with: ksdoctor fix disk.docker-root-usage/migrate --to DIR",
	}
	f := s.DockerConf
	if s.Inputs["to"] == "" || f == nil || f.Move == nil {
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
		return refuse("%s has %s free, the data-root needs %s (%s plus a margin)", mv.To, bytesIEC(int64(mv.ToFreeBytes)), bytesIEC(need), bytesIEC(mv.FromBytes))
	}
	symlink := s.Inputs["symlink"] == "true"
	fromIsMount := isMountPoint(s, mv.From)
	if fromIsMount && symlink {
		return refuse("%s is a mount point: it cannot become a symlink (drop --symlink: data-root is then set in the configuration)", mv.From)
	}
	if len(f.Unparsed) > 0 && !symlink {
		return refuse("%s does not parse: ksdoctor will not set data-root in a file it cannot read whole (fix it, or use --symlink to leave the configuration alone)", strings.Join(f.Unparsed, ", "))
	}
	m := &diag.DataRootMove{
		From: mv.From, To: mv.To, Bytes: mv.FromBytes, Files: mv.FromFiles, Symlink: symlink,
		Backup: mv.From + ".ksdoctor-" + s.Now().UTC().Format("20060102T150405Z") + ".bak",
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
	fmt.Fprintf(&b, "Move Docker's data-root %s (%s, %d entries%s) to %s (%s free there).\n", mv.From, bytesIEC(mv.FromBytes), mv.FromFiles, est, mv.To, bytesIEC(int64(mv.ToFreeBytes)))
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
	b.WriteString(blastRadius(s))
	rem.Title = fmt.Sprintf("Move Docker's data-root to %s (%s)", mv.To, bytesIEC(mv.FromBytes))
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
func isMountPoint(s *diag.Snapshot, p string) bool {
	for _, fs := range s.Filesystems {
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
