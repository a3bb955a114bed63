package stack

import (
	"errors"
	"strings"
	"testing"
)

func svcs() []Service {
	return []Service{
		{Name: "postgres"}, {Name: "pgbouncer", Needs: []string{"postgres"}},
		{Name: "rabbitmq-1"}, {Name: "rabbitmq-2"},
		{Name: "haproxy", Needs: []string{"rabbitmq-1", "rabbitmq-2"}},
		{Name: "redis-0"},
	}
}

func TestPlanOrdersByDependencyAndKeepsHealthy(t *testing.T) {
	obs := map[string]Observed{
		"postgres":   {Running: true},
		"rabbitmq-1": {Running: true},
		"redis-0":    {Running: false},
	}
	got := MakePlan(svcs(), obs, map[string]bool{"postgres": true}).String()
	want := `keep postgres
wait rabbitmq-1
start rabbitmq-2
start redis-0
start pgbouncer after postgres
start haproxy after rabbitmq-1,rabbitmq-2
`
	if got != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlanOfHealthyStackChangesNothing(t *testing.T) {
	obs, ok := map[string]Observed{}, map[string]bool{}
	for _, s := range svcs() {
		obs[s.Name] = Observed{Running: true}
		ok[s.Name] = true
	}
	if p := MakePlan(svcs(), obs, ok); p.Changes() != 0 {
		t.Fatalf("plan of a healthy stack has %d changes:\n%s", p.Changes(), p)
	}
}

func TestSelectPullsInNeeds(t *testing.T) {
	sel, err := Select(svcs(), []string{"haproxy,pgbouncer"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range sel {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "postgres pgbouncer rabbitmq-1 rabbitmq-2 haproxy" {
		t.Fatalf("selected %s", got)
	}
}

func TestSelectUnknownListsValidNames(t *testing.T) {
	_, err := Select(svcs(), []string{"redis-9"})
	if !errors.Is(err, ErrUnknown) || !strings.Contains(Hint(err), "redis-0") {
		t.Fatalf("err = %v, hint %q", err, Hint(err))
	}
}

func TestCriticalChain(t *testing.T) {
	tl := []Timing{{Service: "postgres", Healthy: 1}, {Service: "rabbitmq-1", Healthy: 5},
		{Service: "rabbitmq-2", Healthy: 9}, {Service: "haproxy", Healthy: 10}}
	if got := strings.Join(critical(svcs(), tl), " "); got != "rabbitmq-2 haproxy" {
		t.Fatalf("critical chain %q", got)
	}
}

func TestAllocatePortsHonoursFixedAndKeepsChosen(t *testing.T) {
	have := map[string]map[string]int{"postgres": {"main": 21001}}
	got, err := allocatePorts(svcsWithPorts(), have, map[string]int{"redis-0": 21002})
	if err != nil {
		t.Fatal(err)
	}
	if got["postgres"]["main"] != 21001 || got["redis-0"]["main"] != 21002 {
		t.Fatalf("ports %v", got)
	}
	p := got["pgbouncer"]["main"]
	if p < portLow || p >= portHigh {
		t.Fatalf("pgbouncer port %d outside %d-%d", p, portLow, portHigh)
	}
}

func svcsWithPorts() []Service {
	out := svcs()
	for i := range out {
		out[i].Ports = []string{"main"}
	}
	return out
}

func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"default", "ci-1", "", "../x", "A", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckName(name) == nil && (strings.ContainsAny(name, "/. \x00") || name == "") {
			t.Fatalf("accepted unsafe name %q", name)
		}
	})
}
