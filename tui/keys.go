package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap declares every key once; the same bindings dispatch key presses
// and draw the help bar.
type keyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Open     key.Binding
	Back     key.Binding
	NextLink key.Binding
	Fix      key.Binding
	Pick     key.Binding
	Apply    key.Binding
	Cancel   key.Binding
	Submit   key.Binding
	Resweep  key.Binding
	Export   key.Binding
	Filter   key.Binding
	Severity key.Binding
	Help     key.Binding
	Quit     key.Binding
	// Interrupt works on every screen, even in the fix dialog: it quits,
	// or first aborts a fix that is being applied.
	Interrupt key.Binding
}

func newKeyMap(fixes bool) keyMap {
	k := keyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:    key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Open:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:      key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
		NextLink:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next link")),
		Fix:       key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "fix")),
		Pick:      key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "pick fix")),
		Apply:     key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "apply")),
		Cancel:    key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc/any key", "cancel")),
		Submit:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "submit")),
		Resweep:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-sweep")),
		Export:    key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export")),
		Filter:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Severity:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "severity")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Interrupt: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "abort")),
	}
	if !fixes {
		k.Fix.SetEnabled(false)
		k.Pick.SetEnabled(false)
		k.Apply.SetEnabled(false)
	}
	return k
}

// fullHelp lists every key, by area.
func (k keyMap) fullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown},
		{k.Open, k.Back, k.NextLink, k.Filter, k.Severity},
		{k.Fix, k.Pick, k.Apply, k.Cancel},
		{k.Resweep, k.Export, k.Help, k.Quit},
	}
}
