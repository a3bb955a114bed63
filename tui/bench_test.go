package tui

import (
	"testing"
)

// BenchmarkView measures drawing one frame of each screen at 80×24 with
// every service reporting (no I/O: the in-memory source).
func BenchmarkView(b *testing.B) {
	for _, sc := range []struct {
		name string
		keys []string
	}{{"services", nil}, {"detail", []string{"enter"}}, {"architecture", []string{"2"}}} {
		b.Run(sc.name, func(b *testing.B) {
			f := newFake()
			m := ready(b, f, 80, 24)
			press(m, sc.keys...)
			for range 20 {
				m.Update(pollStatusNow(f))
			}
			b.ResetTimer()
			for b.Loop() {
				m.View()
			}
		})
	}
}
