//go:build linux

package native

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseStat(t *testing.T) {
	for _, c := range []struct {
		stat string
		want proc
		ok   bool
	}{
		{"42 (epmd) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0\n",
			proc{pid: 42, ppid: 1, name: "epmd", start: 12345}, true},
		// A name may hold spaces and parentheses: fields count from the last ')'.
		{"7 (a (b) c) Z 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0\n",
			proc{pid: 7, ppid: 3, name: "a (b) c", start: 99, zombie: true}, true},
		{"7 (short) S 3\n", proc{}, false},
		{"garbage", proc{}, false},
	} {
		pid := c.want.pid
		if !c.ok {
			pid = 7
		}
		got, ok := parseStat(pid, c.stat)
		if ok != c.ok || got.pid != c.want.pid || got.ppid != c.want.ppid || got.name != c.want.name ||
			got.start != c.want.start || got.zombie != c.want.zombie {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", c.stat, got, ok, c.want, c.ok)
		}
	}
}

func TestProcfsListsLabelsAndChildren(t *testing.T) {
	root := t.TempDir()
	for path, content := range map[string]string{
		"1/stat":      "1 (init) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
		"1/environ":   "",
		"200/stat":    "200 (beam.smp) S 1 200 200 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 800 0 0",
		"200/environ": LabelDir + "=/s\x00" + LabelService + "=rabbitmq-0\x00",
		"201/stat":    "201 (epmd) S 200 201 201 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 801 0 0",
		"201/environ": LabelDir + "=/s\x00",
		"self/stat":   "not a pid dir",
		"202/environ": "a process that exited between the listing and the read: no stat",
		"meminfo":     "MemTotal: 1 kB",
		// Anyone can put the label in an environment: another user's
		// process must not count (chowned below).
		"300/stat":    "300 (sleep) S 1 300 300 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 900 0 0",
		"300/environ": LabelDir + "=/s\x00",
	} {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(filepath.Join(root, "300"), 4242, 4242); err != nil {
			t.Fatal(err)
		}
	} else {
		// Not root: 300 cannot be given away, so take it out.
		os.RemoveAll(filepath.Join(root, "300"))
	}
	useHost(t, procfs{root: root})
	b := New("s", "/s")
	if got := b.labelled(""); len(got) != 2 {
		t.Errorf("labelled(\"\") = %v, want [200 201]: not 300, another user's", got)
	}
	if got := b.labelled(LabelService + "=rabbitmq-0"); len(got) != 1 || got[0] != 200 {
		t.Errorf("labelled(rabbitmq-0) = %v, want [200]", got)
	}
	if kids := childrenMap(); len(kids[200]) != 1 || kids[200][0] != 201 || len(kids[1]) != 2 {
		t.Errorf("childrenMap = %v", kids)
	}
	if comm(201) != "epmd" || startTime(200) != 800 || !alive(1) || alive(202) {
		t.Errorf("comm/startTime/alive read the tree wrongly")
	}
}

// The real /proc: this test process is alive, has a start time, and its
// parent lists it as a child.
func TestProcfsReadsThisProcess(t *testing.T) {
	me := os.Getpid()
	p, ok := sys.get(me)
	if !ok || p.zombie || p.start == 0 || p.ppid != os.Getppid() {
		t.Fatalf("get(self) = %+v, %v", p, ok)
	}
	found := false
	for _, k := range childrenMap()[int32(os.Getppid())] {
		found = found || int(k) == me
	}
	if !found {
		t.Fatal("childrenMap does not list this process under its parent")
	}
	if _, ok := sys.get(1 << 30); ok {
		t.Fatal("a pid that cannot exist was found")
	}
}

// mem prefers PSS from smaps_rollup and falls back to VmRSS where the
// kernel gives no rollup (older kernels, another user's process).
func TestProcfsMemPrefersPSS(t *testing.T) {
	root := t.TempDir()
	for path, content := range map[string]string{
		"10/smaps_rollup": "55d4c0000000-7ffc00000000 ---p 00000000 00:00 0 [rollup]\nRss:   9000 kB\nPss:   4096 kB\nPss_Anon:  100 kB\n",
		"10/status":       "Name:\tbeam.smp\nVmRSS:\t9000 kB\n",
		"11/status":       "Name:\tredis\nVmRSS:\t  2048 kB\n",
	} {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := procfs{root: root}
	if n, pss, ok := f.mem(10); !ok || !pss || n != 4096<<10 {
		t.Errorf("mem(10) = %d, pss %v, ok %v; want 4 MiB PSS", n, pss, ok)
	}
	if n, pss, ok := f.mem(11); !ok || pss || n != 2048<<10 {
		t.Errorf("mem(11) = %d, pss %v, ok %v; want 2 MiB RSS", n, pss, ok)
	}
	if _, _, ok := f.mem(12); ok {
		t.Error("mem of a missing process must say not ok")
	}
}
