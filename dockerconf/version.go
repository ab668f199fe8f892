package dockerconf

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a Docker Engine release, major and minor ("20.10", "28.0"). The zero value
// means the installed version is unknown: every flag of any release 18.09 to 29.0 is then
// accepted, and flags only some releases know are reported as doubtful, not fatal.
type Version struct {
	Major, Minor int
}

// Known reports whether v names a release.
func (v Version) Known() bool { return v.Major > 0 }

// Less reports whether v is an older release than w.
func (v Version) Less(w Version) bool {
	return v.Major < w.Major || v.Major == w.Major && v.Minor < w.Minor
}

// String renders v as Docker numbers its releases ("18.09", "20.10", "28.0").
func (v Version) String() string {
	if !v.Known() {
		return "unknown"
	}
	if v.Major < 23 {
		return fmt.Sprintf("%d.%02d", v.Major, v.Minor)
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

var versionRE = regexp.MustCompile(`(\d+)\.(\d+)(?:\.\d+)?`)

// ParseVersion reads a Docker Engine version as the API (/version, /info ServerVersion)
// or `dockerd --version` prints it: "20.10.24+dfsg1", "v28.0.1", "18.09.7",
// "Docker version 19.03.15, build 99e3ed8". Releases before 17.x carry no flag table here
// and come back as unknown.
func ParseVersion(s string) (Version, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "Docker version ")
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil || major < 17 || major > 99 {
		return Version{}, false
	}
	return Version{major, minor}, true
}

// in reports whether v lies in [since, until) (zero bounds are open); an unknown v lies in
// every range.
func (v Version) in(since, until Version) bool {
	if !v.Known() {
		return true
	}
	if since.Known() && v.Less(since) {
		return false
	}
	return !until.Known() || v.Less(until)
}

// beyond reports whether v is newer than the table knows (29.x): flags may have been added.
func (v Version) beyond() bool { return v.Known() && v29.Less(Version{v.Major, 0}) }

// before reports whether v is older than the table knows (18.09).
func (v Version) before() bool { return v.Known() && v.Less(v1809) }

// certain reports whether the table decides for v: a known release from 18.09 to 29.x.
func (v Version) certain() bool { return v.Known() && !v.beyond() && !v.before() }
