package checks

import (
	"strings"
	"testing/fstest"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/dockerconf"
)

const testUnit = "[Service]\nType=notify\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n"

func confSnapshot(files map[string]string, running []string) *diag.Snapshot {
	m := fstest.MapFS{}
	for p, c := range files {
		m[strings.TrimPrefix(p, "/")] = &fstest.MapFile{Data: []byte(c), Mode: 0o644}
	}
	s := &diag.Snapshot{Sources: map[diag.Source]*diag.SourceStatus{diag.SourceDockerConf: {OK: true}}}
	s.DockerConf = dockerconf.Resolve(m, running)
	return s
}

func findingIDs(fs []diag.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

// kubesprayWrapped is kubespray's docker-options.conf as its template renders it with
// the defaults: the value is continued over lines, two of them holding only " \".
const kubesprayWrapped = "[Service]\nEnvironment=\"DOCKER_OPTS= --iptables=false \\\n--exec-opt native.cgroupdriver=systemd \\\n \\\n \\\n" +
	"--data-root=/var/lib/docker \\\n--log-opt max-size=50m --log-opt max-file=5 \\\n\"\n\n"
