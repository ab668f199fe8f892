package dockerconf

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/ksdoctor/ksdoctor/diag"
)

// jsonKey is one key dockerd validates in daemon.json: a top-level key, or a key of an
// object dockerd flattens ("proxies" → "http-proxy").
type jsonKey struct {
	key string
	at  diag.Provenance
}

// validatedKeys lists daemon.json's keys as dockerd release v validates them: object
// values that are not options of their own are replaced by their keys
// (daemon/config configValuesSet).
func validatedKeys(dj *DaemonJSON, file string, v Version) []jsonKey {
	var out []jsonKey
	for _, d := range dj.Directives {
		at := diag.Provenance{Origin: "daemon.json", File: file, Line: d.Line, Column: d.Column}
		var inner map[string]json.RawMessage
		if !flatOption(d.Key, v) && json.Unmarshal(d.Raw, &inner) == nil {
			for _, k := range slices.Sorted(maps.Keys(inner)) {
				out = append(out, jsonKey{key: k, at: at})
			}
			continue
		}
		out = append(out, jsonKey{key: d.Key, at: at})
	}
	return out
}

// keyKnown reports whether release v accepts key in daemon.json: a flag's name or its
// named option's name, or a key dockerd skips. For an uncertain release it returns the
// releases that know the key, "" when none does.
func keyKnown(key string, v Version) (ok bool, releases string) {
	if skipValidate(key, v) {
		return true, ""
	}
	var spans []string
	for i := range flagTable {
		f := &flagTable[i]
		if f.key != key && f.name != key {
			continue
		}
		if v.certain() && v.in(f.since, f.until) {
			return true, ""
		}
		spans = append(spans, f.releases())
	}
	if !v.certain() && len(spans) > 0 {
		return true, strings.Join(spans, ", ")
	}
	return false, strings.Join(spans, ", ")
}

// checkDaemonJSONKeys judges daemon.json's keys as dockerd release v does. It returns the
// problems and, when v is certain and some key is unknown, the error dockerd stops with.
func checkDaemonJSONKeys(dj *DaemonJSON, file string, v Version) ([]diag.ConfProblem, string) {
	var probs []diag.ConfProblem
	var unknown []string
	for _, k := range validatedKeys(dj, file, v) {
		ok, releases := keyKnown(k.key, v)
		p := diag.ConfProblem{File: k.at.File, Line: k.at.Line, Column: k.at.Column}
		switch {
		case ok && releases == "":
			continue
		case ok:
			// Uncertain release; the key exists in some releases only, or in all.
			if !onlySome(k.key) {
				continue
			}
			p.Message = fmt.Sprintf("directive %q is an option of dockerd %s only; the installed release is %s", k.key, releases, v)
		case v.certain():
			p.Fatal = true
			unknown = append(unknown, k.key)
			p.Message = fmt.Sprintf("directive %q is not a configuration option of dockerd %s", k.key, v)
			if releases != "" {
				p.Message += " (dockerd " + releases + " has it)"
			}
		default:
			p.Message = fmt.Sprintf("directive %q is not a configuration option of any dockerd release from 18.09 to 29.0 (the installed release is %s)", k.key, v)
		}
		probs = append(probs, p)
	}
	if len(unknown) == 0 {
		return probs, ""
	}
	sort.Strings(unknown)
	return probs, fmt.Sprintf("unable to configure the Docker daemon with file %s: the following directives don't match any configuration option: %s",
		file, strings.Join(unknown, ", "))
}

// onlySome reports whether some release from 18.09 to 29.0 lacks key.
func onlySome(key string) bool {
	for i := range flagTable {
		f := &flagTable[i]
		if (f.key == key || f.name == key) && !f.since.Known() && !f.until.Known() {
			return false
		}
	}
	return !skipValidate(key, Version{18, 9})
}

// checkRefused judges directives release v parses but refuses to start with (graph and
// the cluster store from 23.0, a non-zero oom-score-adjust from 25.0), and graph beside
// data-root before 23.0. file are daemon.json's options.
func checkRefused(file []diag.DockerOption, daemonJSON string, v Version) ([]diag.ConfProblem, string) {
	var probs []diag.ConfProblem
	startErr := ""
	for _, o := range file {
		f := specByKey(o.Key, v)
		if f == nil || f.refused == "" || f.kind == kInt && o.Value == "0" {
			continue
		}
		p := diag.ConfProblem{File: o.At.File, Line: o.At.Line, Column: o.At.Column}
		if f.refusedIn(v) {
			p.Fatal, p.Message = true, f.refused
			if startErr == "" {
				startErr = f.refused
				if o.Key == "graph" || o.Key == "oom-score-adjust" {
					startErr = fmt.Sprintf("unable to configure the Docker daemon with file %s: merged configuration validation from file and command line flags failed: %s", daemonJSON, f.refused)
				}
			}
		} else if !v.certain() {
			p.Message = fmt.Sprintf("directive %q is refused by dockerd %s and later (%s); the installed release is %s", o.Key, f.refusedFrom, f.refused, v)
		} else {
			continue
		}
		probs = append(probs, p)
	}
	if v.certain() && v.Less(v23) {
		_, fileGraph := diag.Option(file, "graph")
		_, fileRoot := diag.Option(file, "data-root")
		if fileGraph && fileRoot {
			msg := `cannot specify both "graph" and "data-root" config file options`
			g, _ := diag.Option(file, "graph")
			probs = append(probs, diag.ConfProblem{File: g.At.File, Line: g.At.Line, Column: g.At.Column, Message: msg, Fatal: true})
			if startErr == "" {
				startErr = fmt.Sprintf("unable to configure the Docker daemon with file %s: %s", daemonJSON, msg)
			}
		}
	}
	return probs, startErr
}

// firstFatal returns the message of the first fatal problem, "" when none.
func firstFatal(ps []diag.ConfProblem) string {
	for _, p := range ps {
		if p.Fatal {
			return p.Message
		}
	}
	return ""
}
