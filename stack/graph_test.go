package stack

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckGraphAcceptsThePlatformShape(t *testing.T) {
	if err := CheckGraph(svcs()); err != nil {
		t.Fatal(err)
	}
}

func TestCheckGraphRefusesAnUnknownNeed(t *testing.T) {
	err := CheckGraph([]Service{{Name: "pgbouncer", Needs: []string{"postgress"}}})
	if !errors.Is(err, ErrBadInput) {
		t.Fatalf("err = %v, want ErrBadInput", err)
	}
	if want := `pgbouncer needs "postgress", which is not a service of this stack`; !strings.Contains(err.Error(), want) {
		t.Fatalf("err %q lacks %q", err, want)
	}
}

func TestCheckGraphNamesTheCycle(t *testing.T) {
	err := CheckGraph([]Service{
		{Name: "redis-0"},
		{Name: "a", Needs: []string{"b"}},
		{Name: "b", Needs: []string{"redis-0", "c"}},
		{Name: "c", Needs: []string{"a"}},
	})
	if !errors.Is(err, ErrBadInput) {
		t.Fatalf("err = %v, want ErrBadInput", err)
	}
	if want := "cycle: a → b → c → a"; !strings.Contains(err.Error(), want) {
		t.Fatalf("err %q lacks %q", err, want)
	}
}

func TestOpenRefusesACycle(t *testing.T) {
	_, err := Open(Config{Name: "t", Root: t.TempDir(),
		Services: func(Options, string) []Service {
			return []Service{{Name: "a", Needs: []string{"a"}}}
		},
		NewBackend: func(string, string, string) (Backend, error) { return nil, errors.New("not reached") }})
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "cycle: a → a") {
		t.Fatalf("err = %v, want a bad-input cycle error", err)
	}
}

func TestPlanStepsSayWhy(t *testing.T) {
	p := MakePlan(svcs(), map[string]Observed{"postgres": {Running: true}, "redis-0": {Running: true}},
		map[string]bool{"postgres": true})
	causes := map[string]string{}
	for _, s := range p {
		causes[s.Service] = string(s.Action) + ": " + s.Cause
	}
	for svc, want := range map[string]string{
		"postgres":  "keep: running and answering its probe",
		"redis-0":   "wait: running, not answering its probe yet",
		"pgbouncer": "start: not running",
	} {
		if causes[svc] != want {
			t.Errorf("%s: %q, want %q", svc, causes[svc], want)
		}
	}
}
