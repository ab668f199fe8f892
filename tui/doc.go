// Package tui is ksdoctor's terminal user interface, built on Bubble Tea.
//
// It is one more consumer of package doctor. Each screen is a component
// (component.go, after soft-serve's common.Component): a model with its own
// Update and View, its own keys and help (ShortHelp, FullHelp) and its own
// size (SetSize). A root model owns what spans screens and routes the rest:
//
//   - Model, a node's TUI (model.go): it runs the sweep and draws the
//     header, the status line and the help bar. Its components are the
//     sweep progress (sweep.go, sweepScreen), the findings list (list.go,
//     listScreen), a finding's detail (detail.go, detailScreen) and the fix
//     dialog with its preview and confirmation (fix.go and fixview.go,
//     fixDialog). They share a session (session.go): the context, the
//     engine, the report shown and the fixes applied.
//   - fleetModel, the fleet view of a fleet report (fleet.go): a stack of
//     components, checks with node counts, then a check's nodes, then one
//     node's finding with the exact 'ksdoctor fix' command to run on that
//     node (fleetscreens.go); the cluster's findings, checked once, beside
//     them (fleetcluster.go). It applies nothing.
//
// Components ask the root to navigate with messages (openDetailMsg,
// startFixMsg, closeFixMsg, openMsg, backMsg), never by reaching into it.
// Every piece of I/O (sweeping, preparing and applying a remediation,
// exporting the report) runs in a tea.Cmd that returns a message, and the
// engine is injected through the Engine interface so tests can record what
// would run. Node data is masked and its control characters made visible
// before it reaches a view.
//
// Keys are declared once (keys.go) and used both to dispatch and to draw the
// help bar, so the footer always shows what one key press will do.
package tui
