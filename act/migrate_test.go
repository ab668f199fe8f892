package act

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/ksdoctor/ksdoctor/diag"
)

// phaseServices records service calls; the failStart-th start of
// docker.service fails.
type phaseServices struct {
	calls     []string
	starts    int
	failStart int
}

func (s *phaseServices) DaemonReload(context.Context) error {
	s.calls = append(s.calls, "reload")
	return nil
}
func (s *phaseServices) Restart(_ context.Context, u string) error {
	s.calls = append(s.calls, "restart "+u)
	return nil
}
func (s *phaseServices) Stop(_ context.Context, u string) error {
	s.calls = append(s.calls, "stop "+u)
	return nil
}
func (s *phaseServices) Start(_ context.Context, u string) error {
	s.calls = append(s.calls, "start "+u)
	if u == "docker.service" {
		s.starts++
		if s.starts == s.failStart {
			return errors.New("job failed")
		}
	}
	return nil
}

// phaseDocker answers the inventory and /_ping the migration asks for.
type phaseDocker struct{ DockerAPI }

func (phaseDocker) ImageList(context.Context, image.ListOptions) ([]image.Summary, error) {
	return []image.Summary{{ID: "sha256:aaa"}}, nil
}
func (phaseDocker) ContainerList(context.Context, container.ListOptions) ([]container.Summary, error) {
	return []container.Summary{{ID: "c1", Names: []string{"/web"}}}, nil
}
func (phaseDocker) Ping(context.Context) (types.Ping, error) { return types.Ping{}, nil }

// copyExcept copies a tree, leaving out the entries named skip.
func copyExcept(skip string) func(ctx context.Context, from, to string) error {
	return func(_ context.Context, from, to string) error {
		return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(from, p)
			if d.Name() == skip {
				return nil
			}
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(to, rel), 0o755)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(to, rel), data, 0o644)
		})
	}
}

// TestMigrationPhasesPutBack fails the data-root move in each phase after
// the copy and checks that every phase done was undone: the old data-root
// in place and whole, no target left, daemon.json as it was, docker (and
// its socket) started again last. Then the move succeeds.
func TestMigrationPhasesPutBack(t *testing.T) {
	const before = "{}\n"
	cases := []struct {
		phase     string
		copyTree  func(ctx context.Context, from, to string) error
		beforeSHA string
		failStart int
		want      string
	}{
		{phase: "copy", copyTree: func(context.Context, string, string) error { return errors.New("disk full") }, want: "copy: disk full"},
		{phase: "verify", copyTree: copyExcept("c"), want: "verify: copy differs"},
		{phase: "switch", copyTree: copyExcept(""), beforeSHA: sha256Hex([]byte("{\"debug\": true}\n")), want: "switch: /etc/docker/daemon.json changed since"},
		{phase: "start", copyTree: copyExcept(""), failStart: 1, want: "start: start docker on /data/docker: job failed"},
	}
	for _, c := range cases {
		t.Run(c.phase, func(t *testing.T) {
			root := migrationRoot(t, before)
			svc := &phaseServices{failStart: c.failStart}
			e := &Executor{HostRoot: root, Services: svc, Docker: phaseDocker{}, CopyTree: c.copyTree}
			sum := c.beforeSHA
			if sum == "" {
				sum = sha256Hex([]byte(before))
			}
			res := e.Apply(context.Background(), migrationRem(sum))
			if !strings.Contains(res.Error, c.want) || !strings.Contains(res.Error, "everything was put back") {
				t.Fatalf("error %q, want %q and everything put back", res.Error, c.want)
			}
			wantTree(t, filepath.Join(root, "var/lib/docker"), []string{"a", "a/b", "c"})
			for _, gone := range []string{"data/docker", "var/lib/docker.bak"} {
				if _, err := os.Lstat(filepath.Join(root, gone)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s left behind: %v", gone, err)
				}
			}
			if b, _ := os.ReadFile(filepath.Join(root, "etc/docker/daemon.json")); string(b) != before {
				t.Errorf("daemon.json not restored: %q", b)
			}
			n := len(svc.calls)
			if n < 2 || !slices.Equal(svc.calls[n-2:], []string{"start docker.service", "start docker.socket"}) {
				t.Errorf("service calls %q: docker and its socket not started last", svc.calls)
			}
		})
	}
	t.Run("done", func(t *testing.T) {
		root := migrationRoot(t, before)
		svc := &phaseServices{}
		e := &Executor{HostRoot: root, Services: svc, Docker: phaseDocker{}, CopyTree: copyExcept("")}
		res := e.Apply(context.Background(), migrationRem(sha256Hex([]byte(before))))
		if res.Error != "" || res.Steps[0].Outcome != diag.OutcomeDone {
			t.Fatalf("result %+v", res)
		}
		wantTree(t, filepath.Join(root, "data/docker"), []string{"a", "a/b", "c"})
		wantTree(t, filepath.Join(root, "var/lib/docker.bak"), []string{"a", "a/b", "c"})
		want := []string{"stop docker.socket", "stop docker.service", "reload", "start docker.service", "start docker.socket"}
		if !slices.Equal(svc.calls, want) {
			t.Errorf("service calls %q, want %q", svc.calls, want)
		}
		// Applied again: already moved.
		res = e.Apply(context.Background(), migrationRem(sha256Hex([]byte(before))))
		if res.Error != "" || res.Steps[0].Outcome != diag.OutcomeNoop {
			t.Errorf("second application: %+v", res)
		}
	})
}

func migrationRoot(t *testing.T, daemonJSON string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range map[string]string{"var/lib/docker/a/b": "bee", "var/lib/docker/c": "sea", "etc/docker/daemon.json": daemonJSON} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func migrationRem(beforeSHA string) diag.Remediation {
	return diag.Remediation{ID: "disk.docker-root-usage/migrate", Plan: diag.Plan{Steps: []diag.Step{{
		Kind: diag.StepDataRootMigrate,
		Migration: &diag.DataRootMove{From: "/var/lib/docker", To: "/data/docker", Backup: "/var/lib/docker.bak",
			Edit: &diag.FileEdit{Path: "/etc/docker/daemon.json", BeforeSHA256: beforeSHA, Content: "{\"data-root\": \"/data/docker\"}\n"}},
	}}}}
}

// wantTree checks the entries under dir.
func wantTree(t *testing.T, dir string, want []string) {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, p); rel != "." {
			got = append(got, rel)
		}
		return nil
	})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("%s holds %q (%v), want %q", dir, got, err, want)
	}
}
