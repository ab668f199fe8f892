// Package checks holds ksdoctor's checks: documented values with stable
// IDs, each a pure function of a diag.Snapshot. All lists them; nothing is
// registered by side effect.
package checks
