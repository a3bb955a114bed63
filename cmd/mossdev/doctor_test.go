package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mossdev/mossdev/stack/docker"
)

func find(checks []check, name string) (check, bool) {
	for _, c := range checks {
		if c.Name == name {
			return c, true
		}
	}
	return check{}, false
}

// Where the native backend does not run (macOS, or an OS mossdev does not
// know), doctor says so without failing, and the docker engine becomes the
// one requirement, with the fix naming the Mac's engines.
func TestDoctorWhereOnlyDockerRuns(t *testing.T) {
	plan9 := osFacts{name: "plan9", native: notNative("plan9"), dockerOnly: true}
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "dead.sock"))
	checks := doctorChecks(t.Context(), t.TempDir(), plan9)
	nb, ok := find(checks, "native backend")
	if !ok || !nb.OK || !strings.Contains(nb.Info, "not supported on plan9") || !strings.Contains(nb.Info, "docker") {
		t.Errorf("native backend check = %+v", nb)
	}
	if _, ok := find(checks, "binary initdb"); ok {
		t.Error("binaries checked where the native backend does not run")
	}
	de, _ := find(checks, "docker engine")
	if de.OK || !strings.Contains(de.Fix, "colima start") || !strings.Contains(de.Info, "none answers") {
		t.Errorf("docker engine check without an engine = %+v; want a failure whose fix names the Mac's engines", de)
	}
	// Where native runs too, the missing engine is a note, not a failure.
	linuxLike := plan9
	linuxLike.dockerOnly = false
	if de, _ := find(doctorChecks(t.Context(), t.TempDir(), linuxLike), "docker engine"); !de.OK || de.Fix != "" {
		t.Errorf("docker engine check where native runs = %+v; want a passing note", de)
	}
}

func TestDoctorReadsDiskAndMemory(t *testing.T) {
	home := filepath.Join(t.TempDir(), "stacks")
	checks := doctorChecks(t.Context(), home, osFacts{native: notNative("test")})
	if dc, _ := find(checks, "stack dir"); !strings.Contains(dc.Info, "GiB free") {
		t.Errorf("stack dir check = %+v; want free space", dc)
	}
	if m, ok := find(checks, "memory"); !ok || !strings.HasSuffix(m.Info, "GiB") {
		t.Errorf("memory check = %+v", m)
	}
	if _, err := os.Stat(home); err != nil {
		t.Errorf("stack dir not created: %v", err)
	}
}

// With an engine answering, doctor checks the docker path itself: the
// engine's memory and disk, the images (none can be pulled here), the CPU.
// Where only docker runs, images that cannot be had are a failure naming
// `mossdev pull`; where native runs too they are a note.
func TestDoctorPreflightsTheDockerPath(t *testing.T) {
	if _, _, err := docker.Endpoint(t.Context()); err != nil {
		t.Fatalf("this test needs the machine's docker engine: %v", err)
	}
	for _, o := range []osFacts{
		{name: "plan9", native: notNative("plan9"), dockerOnly: true},
		{name: "Linux", native: func() []check { return nil }},
	} {
		checks := doctorChecks(t.Context(), t.TempDir(), o)
		for _, name := range []string{"docker memory", "docker disk", "docker images", "cpu"} {
			if _, ok := find(checks, name); !ok {
				t.Fatalf("%s: no %q check in %+v", o.name, name, checks)
			}
		}
		mem, _ := find(checks, "docker memory")
		if !mem.OK || !strings.Contains(mem.Info, "GiB for containers") {
			t.Errorf("%s: docker memory = %+v", o.name, mem)
		}
		img, _ := find(checks, "docker images")
		if strings.Contains(img.Info, "present or known") {
			continue // a registry answered after all: nothing more to see
		}
		if o.dockerOnly && (img.OK || !strings.Contains(img.Fix, "mossdev pull")) {
			t.Errorf("docker only: missing images must fail with `mossdev pull` as the fix: %+v", img)
		}
		if !o.dockerOnly && (!img.OK || !strings.Contains(img.Info, "only the docker backend needs it")) {
			t.Errorf("native too: missing images must be a note: %+v", img)
		}
	}
}
