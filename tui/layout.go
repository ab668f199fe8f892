package tui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/x/ansi"
)

// fit makes s exactly h lines of at most w cells: long lines are cut with an
// ellipsis, missing lines are blank. Every frame goes through it, so no view
// can break the layout at any size.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "…")
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// wrap word-wraps s to w cells, breaking words longer than a line.
func wrap(s string, w int) []string {
	if w < 10 {
		w = 10
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// truncate cuts s to w cells with an ellipsis.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// padRight pads s with spaces to w cells.
func padRight(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// scroller is a window over lines of text.
type scroller struct {
	lines  []string
	offset int
}

func (s *scroller) set(lines []string) {
	s.lines = lines
}

func (s *scroller) clamp(h int) {
	if maxOff := len(s.lines) - h; s.offset > maxOff {
		s.offset = max(maxOff, 0)
	}
	if s.offset < 0 {
		s.offset = 0
	}
}

func (s *scroller) scroll(delta, h int) {
	s.offset += delta
	s.clamp(h)
}

// show makes line i visible in a window of h lines.
func (s *scroller) show(i, h int) {
	if i < s.offset {
		s.offset = i
	}
	if i >= s.offset+h {
		s.offset = i - h + 1
	}
	s.clamp(h)
}

// view renders h lines, with a scroll indicator on the last line when there
// is more below.
func (s *scroller) view(h int) string {
	if h <= 0 {
		return ""
	}
	s.clamp(h)
	end := min(s.offset+h, len(s.lines))
	out := append([]string(nil), s.lines[s.offset:end]...)
	if len(s.lines) > h {
		more := len(s.lines) - end
		if more > 0 && len(out) == h {
			out[h-1] = "  ↓ " + strconv.Itoa(more) + " more lines (↓/pgdn)"
		}
	}
	return strings.Join(out, "\n")
}

// newTextInput returns a text input with a steady cursor: a blinking one
// needs timer messages and makes frames differ from one instant to the next.
func newTextInput() textinput.Model {
	ti := textinput.New()
	ti.Cursor.SetMode(cursor.CursorStatic)
	return ti
}
