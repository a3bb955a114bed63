package stack

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Action is what Up does with one service.
type Action string

const (
	ActStart Action = "start" // not running: launch it and wait for its probe
	ActWait  Action = "wait"  // running but not answering yet: wait for its probe
	ActKeep  Action = "keep"  // running and healthy: leave it alone
)

// Step is one service's part of a plan.
type Step struct {
	Service string
	Action  Action
	Needs   []string
	// Cause says why the action: what was observed.
	Cause string
}

// Plan is the ordered list of steps Up executes; dependencies come first.
type Plan []Step

// String renders the plan one step a line, for tests and logs.
func (p Plan) String() string {
	var b strings.Builder
	for _, s := range p {
		fmt.Fprintf(&b, "%s %s", s.Action, s.Service)
		if len(s.Needs) > 0 {
			fmt.Fprintf(&b, " after %s", strings.Join(s.Needs, ","))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Changes counts the steps that do something.
func (p Plan) Changes() int {
	n := 0
	for _, s := range p {
		if s.Action != ActKeep {
			n++
		}
	}
	return n
}

// MakePlan is the pure reconcile step: desired services against what the
// backend observed and which of those answered their probe.
func MakePlan(svcs []Service, observed map[string]Observed, healthy map[string]bool) Plan {
	var p Plan
	for _, s := range order(svcs) {
		act, cause := ActStart, "not running"
		if o, ok := observed[s.Name]; ok && o.Running {
			act, cause = ActWait, "running, not answering its probe yet"
			if healthy[s.Name] {
				act, cause = ActKeep, "running and answering its probe"
			}
		}
		p = append(p, Step{Service: s.Name, Action: act, Needs: s.Needs, Cause: cause})
	}
	return p
}

// CheckGraph refuses a service list whose needs name a service that is not
// in it, or go round in a cycle: either would leave Up's goroutines waiting
// on each other until the deadline.
func CheckGraph(svcs []Service) error {
	idx := map[string]int{}
	for i, s := range svcs {
		idx[s.Name] = i
	}
	for _, s := range svcs {
		for _, n := range s.Needs {
			if _, ok := idx[n]; !ok {
				return &Error{Op: "check services", Service: s.Name, Err: ErrBadInput,
					Detail: fmt.Sprintf("%s needs %q, which is not a service of this stack", s.Name, n),
					Fix:    "fix the Needs of " + s.Name + " in its service package"}
			}
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(svcs))
	var path []string
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case done:
			return nil
		case onPath:
			from := slices.Index(path, svcs[i].Name)
			cycle := append(append([]string(nil), path[from:]...), svcs[i].Name)
			return &Error{Op: "check services", Err: ErrBadInput,
				Detail: "cycle: " + strings.Join(cycle, " → "),
				Fix:    "break the cycle in the services' Needs"}
		}
		state[i] = onPath
		path = append(path, svcs[i].Name)
		for _, n := range svcs[i].Needs {
			if err := visit(idx[n]); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		return nil
	}
	for i := range svcs {
		if err := visit(i); err != nil {
			return err
		}
	}
	return nil
}

// order sorts services so that every service comes after its needs, ties
// broken by the catalog's order (stable, so plans read the same every time).
func order(svcs []Service) []Service {
	idx := map[string]int{}
	for i, s := range svcs {
		idx[s.Name] = i
	}
	depth := map[string]int{}
	var d func(string, int) int
	d = func(n string, guard int) int {
		if v, ok := depth[n]; ok || guard > len(svcs) {
			return v
		}
		m := 0
		if i, ok := idx[n]; ok {
			for _, need := range svcs[i].Needs {
				if v := d(need, guard+1) + 1; v > m {
					m = v
				}
			}
		}
		depth[n] = m
		return m
	}
	out := append([]Service(nil), svcs...)
	for _, s := range out {
		d(s.Name, 0)
	}
	sort.SliceStable(out, func(i, j int) bool { return depth[out[i].Name] < depth[out[j].Name] })
	return out
}

// Select returns the named services plus everything they need, in catalog
// order; no names selects all. Unknown names are an error listing valid ones.
func Select(all []Service, only []string) ([]Service, error) {
	if len(only) == 0 {
		return all, nil
	}
	byName := map[string]Service{}
	var names []string
	for _, s := range all {
		byName[s.Name] = s
		names = append(names, s.Name)
	}
	want := map[string]bool{}
	var add func(string) error
	add = func(n string) error {
		if want[n] {
			return nil
		}
		s, ok := byName[n]
		if !ok {
			return &Error{Op: "select services", Err: ErrUnknown, Detail: fmt.Sprintf("%q", n),
				Fix: "valid services: " + strings.Join(names, ", ")}
		}
		want[n] = true
		for _, need := range s.Needs {
			if err := add(need); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range only {
		for _, part := range strings.Split(n, ",") {
			if part = strings.TrimSpace(part); part != "" {
				if err := add(part); err != nil {
					return nil, err
				}
			}
		}
	}
	var out []Service
	for _, s := range all {
		if want[s.Name] {
			out = append(out, s)
		}
	}
	return out, nil
}
