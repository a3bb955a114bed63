package stack

import "testing"

// The stack's total is PSS only when every figure is; one RSS figure makes
// the whole sum an RSS-kind (overstating) figure, and it says so.
func TestMemoryOf(t *testing.T) {
	sts := []Status{
		{Name: "postgres", Mem: 100 << 20, MemKind: MemPSS, Procs: 12},
		{Name: "redis-0", Mem: 4 << 20, MemKind: MemPSS, Procs: 1},
		{Name: "haproxy"}, // stopped or unknown: not counted
	}
	m := MemoryOf(sts)
	if m.Bytes != 104<<20 || m.Kind != MemPSS || m.Procs != 13 || m.Services != 2 {
		t.Errorf("MemoryOf = %+v", m)
	}
	if got := m.String(); got != "104 MiB PSS over 13 processes" {
		t.Errorf("String = %q", got)
	}
	sts = append(sts, Status{Name: "s3", Mem: 1 << 20, MemKind: MemRSS, Procs: 1}, Status{Name: "cdn", Mem: 1 << 20, MemKind: MemPSS})
	if m := MemoryOf(sts); m.Kind != MemRSS {
		t.Errorf("with one RSS figure the kind is %q, want rss", m.Kind)
	}
	if m := MemoryOf(nil); m.Services != 0 || m.Bytes != 0 {
		t.Errorf("MemoryOf(nil) = %+v", m)
	}
}
