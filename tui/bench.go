package tui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/mossdev/mossdev/stack"
)

// BenchPhase is one measured run of the UI's loop.
type BenchPhase struct {
	Name    string        `json:"name"`
	Screen  string        `json:"screen"`
	Data    string        `json:"data"` // "real stack" or "replayed"
	Render  bool          `json:"render"`
	Wall    time.Duration `json:"wallNs"`
	CPU     time.Duration `json:"cpuNs"` // user+system time of this process
	Updates int           `json:"updates"`
	Views   int           `json:"views"`
}

// Percent is CPU time as a share of one core.
func (p BenchPhase) Percent() float64 {
	if p.Wall <= 0 {
		return 0
	}
	return 100 * float64(p.CPU) / float64(p.Wall)
}

// Bench measures the UI's CPU against a live stack at the interactive
// refresh (status at 1 Hz with 800 ms probes, counters every 2 s, the log
// tail), headless at 80×24 in true colour, for d per phase. For each screen
// (services, detail, architecture) it runs the real program four ways:
//
//	real stack, rendering      the UI as a person runs it
//	real stack, poller only    the same, View drawing nothing: probes, counters, logs
//	replayed, rendering        the same data replayed from memory: the UI's own cost
//	replayed, no rendering     the loop alone (ticks, Update) without drawing
//
// The replay source answers instantly with what the real stack answered in
// the first phase, so "replayed, rendering" is what the UI itself costs
// (Update, View, lipgloss, the renderer), apart from the probes and client
// libraries it drives. A first phase measures the process idle.
func Bench(ctx context.Context, src Source, d time.Duration, progress io.Writer) ([]BenchPhase, error) {
	var out []BenchPhase
	idle, err := measure(func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	})
	if err != nil {
		return nil, err
	}
	idle.Name = "idle process"
	out = append(out, idle)
	fmt.Fprintf(progress, "%-40s %6.2f%% of one core\n", idle.Name, idle.Percent())
	for _, screen := range []Screen{ScreenServices, ScreenDetail, ScreenArchitecture} {
		rec := &recorder{Source: src}
		for _, ph := range []struct {
			src    Source
			data   string
			render bool
		}{
			{rec, "real stack", true},
			{src, "real stack", false},
			{rec.replay(), "replayed", true},
			{rec.replay(), "replayed", false},
		} {
			p, err := benchProgram(ctx, ph.src, screen, ph.render, d)
			if err != nil {
				return out, err
			}
			p.Data = ph.data
			p.Name = fmt.Sprintf("%s, %s, %s", screen, ph.data, map[bool]string{false: "no rendering", true: "rendering"}[ph.render])
			out = append(out, p)
			fmt.Fprintf(progress, "%-40s %6.2f%% of one core (%d updates, %d views)\n", p.Name, p.Percent(), p.Updates, p.Views)
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
		}
	}
	return out, nil
}

// tracked counts the calls in flight so a phase can wait for them.
type tracked struct {
	Source
	n atomic.Int64
}

func (t *tracked) drain(limit time.Duration) {
	for end := time.Now().Add(limit); t.n.Load() > 0 && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // client libraries' own goroutines wind down
}

func (t *tracked) Status(ctx context.Context, limit time.Duration) ([]stack.Status, error) {
	t.n.Add(1)
	defer t.n.Add(-1)
	return t.Source.Status(ctx, limit)
}

func (t *tracked) Counters(ctx context.Context, name string) ([]stack.Counter, error) {
	t.n.Add(1)
	defer t.n.Add(-1)
	return t.Source.Counters(ctx, name)
}

func (t *tracked) Logs(ctx context.Context, name string, follow bool) (io.ReadCloser, error) {
	t.n.Add(1)
	defer t.n.Add(-1)
	return t.Source.Logs(ctx, name, follow)
}

// recorder passes calls to the stack and keeps the last answers; its
// replay answers from them without touching the stack.
type recorder struct {
	Source
	mu       sync.Mutex
	statuses []stack.Status
	counters map[string][]stack.Counter
	logs     map[string][]byte
}

func (r *recorder) Status(ctx context.Context, limit time.Duration) ([]stack.Status, error) {
	sts, err := r.Source.Status(ctx, limit)
	if err == nil {
		r.mu.Lock()
		r.statuses = sts
		r.mu.Unlock()
	}
	return sts, err
}

func (r *recorder) Counters(ctx context.Context, name string) ([]stack.Counter, error) {
	cs, err := r.Source.Counters(ctx, name)
	if err == nil {
		r.mu.Lock()
		if r.counters == nil {
			r.counters = map[string][]stack.Counter{}
		}
		r.counters[name] = cs
		r.mu.Unlock()
	}
	return cs, err
}

func (r *recorder) Logs(ctx context.Context, name string, follow bool) (io.ReadCloser, error) {
	rc, err := r.Source.Logs(ctx, name, false)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	lines, err := lastLines(rc, 200)
	if err != nil {
		return nil, err
	}
	b := []byte(strings.Join(lines, "\n") + "\n")
	r.mu.Lock()
	if r.logs == nil {
		r.logs = map[string][]byte{}
	}
	r.logs[name] = b
	r.mu.Unlock()
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (r *recorder) replay() Source { return replaySource{r} }

// replaySource answers with the recorder's last answers.
type replaySource struct{ r *recorder }

func (p replaySource) Name() string              { return p.r.Name() }
func (p replaySource) Backend() string           { return p.r.Backend() }
func (p replaySource) Services() []stack.Service { return p.r.Services() }

func (p replaySource) Status(context.Context, time.Duration) ([]stack.Status, error) {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	return append([]stack.Status(nil), p.r.statuses...), nil
}

func (p replaySource) Counters(_ context.Context, name string) ([]stack.Counter, error) {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	return p.r.counters[name], nil
}

func (p replaySource) Logs(_ context.Context, name string, _ bool) (io.ReadCloser, error) {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	return io.NopCloser(bytes.NewReader(p.r.logs[name])), nil
}

func (p replaySource) Stop(context.Context, string) error { return nil }

func (p replaySource) Start(context.Context, string) (*stack.Report, error) {
	return &stack.Report{}, nil
}

// measure runs f and reports its wall and CPU time.
func measure(f func() error) (BenchPhase, error) {
	cpu0, t0 := cpuTime(), time.Now()
	err := f()
	return BenchPhase{Wall: time.Since(t0), CPU: cpuTime() - cpu0}, err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchModel counts the loop's work and, for the baseline, draws nothing.
type benchModel struct {
	m       *Model
	render  bool
	updates *int
	views   *int
}

func (b benchModel) Init() tea.Cmd { return b.m.Init() }

func (b benchModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	*b.updates++
	_, cmd := b.m.Update(msg)
	return b, cmd
}

func (b benchModel) View() tea.View {
	*b.views++
	if !b.render {
		return tea.View{}
	}
	return b.m.View()
}

func benchProgram(ctx context.Context, src Source, screen Screen, render bool, d time.Duration) (BenchPhase, error) {
	// Reads still running when a phase ends (a status refresh takes up to
	// a second) would be billed to the next phase: wait them out, and
	// collect the garbage, before measuring.
	tr := &tracked{Source: src}
	defer tr.drain(30 * time.Second)
	runtime.GC()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var updates, views int
	m := New(ctx, tr, Options{Start: screen})
	bm := benchModel{m: m, render: render, updates: &updates, views: &views}
	p := tea.NewProgram(bm, tea.WithContext(ctx), tea.WithInput(nil), tea.WithOutput(io.Discard),
		tea.WithWindowSize(80, 24), tea.WithColorProfile(colorprofile.TrueColor), tea.WithFPS(30),
		tea.WithoutSignalHandler())
	ph, err := measure(func() error {
		_, err := p.Run()
		if ctx.Err() != nil {
			return nil // the phase ended
		}
		return err
	})
	ph.Screen, ph.Render, ph.Updates, ph.Views = screen.String(), render, updates, views
	return ph, err
}

// PrintBench writes the phases and, per screen, the UI's own cost next to
// the poller's.
func PrintBench(w io.Writer, phases []BenchPhase) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\twall s\tcpu ms\t% of one core\tupdates\tviews\t")
	for _, p := range phases {
		fmt.Fprintf(tw, "%s\t%.1f\t%.0f\t%.2f\t%d\t%d\t\n", p.Name, p.Wall.Seconds(),
			float64(p.CPU.Microseconds())/1000, p.Percent(), p.Updates, p.Views)
	}
	tw.Flush()
	fmt.Fprintln(w)
	get := func(screen, data string, render bool) BenchPhase {
		for _, p := range phases {
			if p.Screen == screen && p.Data == data && p.Render == render {
				return p
			}
		}
		return BenchPhase{}
	}
	for _, s := range []string{"services", "detail", "architecture"} {
		full, poll := get(s, "real stack", true), get(s, "real stack", false)
		own, loop := get(s, "replayed", true), get(s, "replayed", false)
		if full.Wall == 0 {
			continue
		}
		perView := 0.0
		if own.Views > 0 {
			perView = float64((own.CPU - loop.CPU).Microseconds()) / 1000 / float64(own.Views)
		}
		fmt.Fprintf(w, "%-12s UI's own %.2f%% of one core (drawing %.2f ms/view), poller %.2f%%, whole UI on the real stack %.2f%%; own/whole %.3f\n",
			s, own.Percent(), perView, poll.Percent(), full.Percent(), ratio(own.Percent(), full.Percent()))
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
