package tui

import (
	"bytes"
	"context"
	"sync"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// BenchmarkFirstFrameModel times what the TUI does before its first frame:
// build the model, take the terminal size, render.
func BenchmarkFirstFrameModel(b *testing.B) {
	f := newFake()
	checks := fixtureChecks(f.rep)
	for b.Loop() {
		m := New(context.Background(), f, Options{Checks: checks})
		next, _ := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		if v := next.(Model).View(); len(v) == 0 {
			b.Fatal("empty frame")
		}
	}
}

// frameWriter signals when the first frame showing the sweep is written.
type frameWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first chan struct{}
	once  sync.Once
}

func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), []byte("Sweeping this node")) {
		w.once.Do(func() { close(w.first) })
	}
	return len(p), nil
}

// BenchmarkFirstFrameProgram times a real Bubble Tea program from start to
// the first frame written, while the engine is still gathering (it blocks
// until the frame is out): the frame never waits for the sweep.
func BenchmarkFirstFrameProgram(b *testing.B) {
	for b.Loop() {
		eng := blockingEngine{fakeEngine: newFake(), release: make(chan struct{})}
		w := &frameWriter{first: make(chan struct{})}
		m := New(context.Background(), eng, Options{Checks: fixtureChecks(eng.rep)})
		p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(w), tea.WithoutSignalHandler())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = p.Run()
		}()
		<-w.first
		b.StopTimer()
		close(eng.release)
		p.Kill()
		<-done
		b.StartTimer()
	}
}
