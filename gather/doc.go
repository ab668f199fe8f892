// Package gather is the only code in ksdoctor that reads the system. Each
// source fills its part of one diag.Snapshot; sources run concurrently, each
// under its own deadline, and a failed source is recorded in the snapshot
// instead of stopping the sweep.
package gather
