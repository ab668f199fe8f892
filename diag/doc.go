// Package diag holds ksdoctor's model and engine: the versioned facts
// snapshot that gatherers fill, the Check values that judge it, the findings
// and remediation plans they return, and the report a sweep produces.
//
// Nothing in this package touches the host. Gatherers (package gather) are
// the only code that reads the system, executors (package act) the only code
// that changes it; checks are pure functions of a Snapshot, so a recorded
// snapshot replays to the same findings.
package diag
