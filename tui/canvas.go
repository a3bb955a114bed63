package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// canvas is a grid of cells for drawing boxes and arrows: each cell holds a
// rune and a style, and a line is rendered as runs of equal style, so the
// diagram costs a few styled strings per line rather than one per cell.
type canvas struct {
	w, h   int
	cells  [][]cell
	styles []lipgloss.Style
}

type cell struct {
	r  rune
	st int // index into styles; 0 is unstyled
}

func newCanvas(w, h int) *canvas {
	c := &canvas{w: w, h: h, styles: []lipgloss.Style{lipgloss.NewStyle()}}
	c.cells = make([][]cell, h)
	for y := range c.cells {
		c.cells[y] = make([]cell, w)
		for x := range c.cells[y] {
			c.cells[y][x] = cell{r: ' '}
		}
	}
	return c
}

// style registers a style and returns its index.
func (c *canvas) style(s lipgloss.Style) int {
	c.styles = append(c.styles, s)
	return len(c.styles) - 1
}

func (c *canvas) set(x, y int, r rune, st int) {
	if x >= 0 && y >= 0 && x < c.w && y < c.h {
		c.cells[y][x] = cell{r: r, st: st}
	}
}

func (c *canvas) get(x, y int) rune {
	if x >= 0 && y >= 0 && x < c.w && y < c.h {
		return c.cells[y][x].r
	}
	return 0
}

// text writes s from x; wide runes take two cells.
func (c *canvas) text(x, y int, s string, st int) int {
	for _, r := range s {
		c.set(x, y, r, st)
		if ansi.StringWidth(string(r)) == 2 {
			x++
			c.set(x, y, 0, st) // placeholder: the wide rune covers it
		}
		x++
	}
	return x
}

// border is a box's line set: plain for boxes, heavy for the selected one.
type border struct{ tl, tr, bl, br, h, v rune }

var (
	thin  = border{'┌', '┐', '└', '┘', '─', '│'}
	heavy = border{'┏', '┓', '┗', '┛', '━', '┃'}
)

// box draws a w×3 box at x,y.
func (c *canvas) box(x, y, w int, b border, st int) {
	c.set(x, y, b.tl, st)
	c.set(x+w-1, y, b.tr, st)
	c.set(x, y+2, b.bl, st)
	c.set(x+w-1, y+2, b.br, st)
	for i := x + 1; i < x+w-1; i++ {
		c.set(i, y, b.h, st)
		c.set(i, y+2, b.h, st)
	}
	c.set(x, y+1, b.v, st)
	c.set(x+w-1, y+1, b.v, st)
}

// harrow draws a right-pointing arrow from x0 to x1 on row y with a label
// inside it: "─ label ───▶". The label is cut to fit.
func (c *canvas) harrow(x0, x1, y int, label string, st, labelSt int) {
	for x := x0; x < x1; x++ {
		c.set(x, y, '─', st)
	}
	c.set(x1, y, '▶', st)
	room := x1 - x0 - 3
	if label == "" || room < 3 {
		return
	}
	c.set(x0+1, y, ' ', st)
	end := c.text(x0+2, y, truncate(label, room), labelSt)
	c.set(end, y, ' ', st)
}

// vline draws a vertical line from y0 to y1 at x.
func (c *canvas) vline(x, y0, y1, st int) {
	for y := y0; y <= y1; y++ {
		c.set(x, y, '│', st)
	}
}

// render returns the canvas as lines of styled runs.
func (c *canvas) render() []string {
	out := make([]string, c.h)
	var run strings.Builder
	for y, row := range c.cells {
		var b strings.Builder
		cur := -1
		flush := func() {
			if run.Len() > 0 {
				if cur <= 0 {
					b.WriteString(run.String())
				} else {
					b.WriteString(c.styles[cur].Render(run.String()))
				}
			}
			run.Reset()
		}
		for _, cl := range row {
			if cl.r == 0 {
				continue
			}
			if cl.st != cur {
				flush()
				cur = cl.st
			}
			run.WriteRune(cl.r)
		}
		flush()
		out[y] = strings.TrimRight(b.String(), " ")
	}
	return out
}
