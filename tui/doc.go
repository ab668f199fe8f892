// Package tui is ksdoctor's terminal user interface, built on Bubble Tea.
//
// It is one more consumer of package doctor: a root Model routes messages to
// sub-models (sweep progress, findings list, finding detail, the fix dialog
// with its preview and confirmation, the result, and help), every piece of
// I/O (sweeping, preparing and applying a remediation, exporting the report)
// runs in a tea.Cmd that returns a message, and the engine is injected
// through the Engine interface so tests can record what would run.
//
// Keys are declared once (keys.go) and used both to dispatch and to draw the
// help bar, so the footer always shows what one key press will do.
package tui
