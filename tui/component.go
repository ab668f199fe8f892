package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// component is one screen (soft-serve's common.Component): a Bubble Tea
// model that owns its keys, its size and its help. The root model routes
// key presses to the component on top and draws the help bar from the
// component's ShortHelp; components ask the root to navigate by returning
// messages (openMsg, backMsg), never by reaching into it.
type component interface {
	tea.Model
	help.KeyMap
	// SetSize gives the component the cells it may draw in.
	SetSize(width, height int)
}

// frame is what every component shares (soft-serve's common.Common):
// styles, the key bindings and the size the root gave it.
type frame struct {
	st            styles
	keys          keyMap
	width, height int
}

func newFrame(st styles, keys keyMap) frame {
	return frame{st: st, keys: keys, width: defaultWidth, height: defaultHeight}
}

// SetSize implements component.
func (f *frame) SetSize(w, h int) { f.width, f.height = w, h }

// backMsg asks the root to leave the current component.
type backMsg struct{}

func back() tea.Msg { return backMsg{} }

// openMsg asks the root to show a new component on top of the current one.
type openMsg struct{ c component }

func open(c component) tea.Cmd { return func() tea.Msg { return openMsg{c} } }

// menu is the cursor of a list of rows: it moves with the keys and
// scrolls so the cursor stays in view.
type menu struct {
	cursor, offset, n int
}

// key moves the cursor for up/down/pgup/pgdown; it reports whether the
// key was one of them.
func (mn *menu) key(msg tea.KeyMsg, k keyMap, page int) bool {
	d := 0
	switch {
	case key.Matches(msg, k.Up):
		d = -1
	case key.Matches(msg, k.Down):
		d = 1
	case key.Matches(msg, k.PageUp):
		d = -max(page-1, 1)
	case key.Matches(msg, k.PageDown):
		d = max(page-1, 1)
	default:
		return false
	}
	mn.cursor = max(min(mn.cursor+d, mn.n-1), 0)
	return true
}

// view renders h lines of rows with the cursor's row in view.
func (mn *menu) view(rows []string, h int) string {
	sc := scroller{lines: rows, offset: mn.offset}
	sc.show(mn.cursor, h)
	mn.offset = sc.offset
	return sc.view(h)
}

// cursorMark is the mark before the selected row.
func cursorMark(selected bool) string {
	if selected {
		return "› "
	}
	return "  "
}
