package docker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mossdev/mossdev/stack"
)

func project() *Compose {
	return &Compose{Files: map[string][]byte{
		ComposeFile:                        []byte("services: {} # password=s3cret\n"),
		"files/pgbouncer/etc/userlist.txt": []byte(`"mossi" "s3cret"` + "\n"),
	}}
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestWriteMakesAPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if err := project().Write(dir, false); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m.Perm() != 0o700 || !m.IsDir() {
		t.Fatalf("dir mode %v, want drwx------", m)
	}
	if m := mode(t, filepath.Join(dir, ComposeFile)); m.Perm() != 0o600 {
		t.Fatalf("compose file mode %v, want 0600 (it holds every credential)", m)
	}
	if m := mode(t, filepath.Join(dir, "files")); m.Perm() != 0o700 {
		t.Fatalf("files dir mode %v, want 0700", m)
	}
}

func TestWriteRefusesANonEmptyDirectoryWithoutForce(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := project().Write(dir, false)
	if !errors.Is(err, stack.ErrBadInput) || !strings.Contains(stack.Hint(err), "--force") {
		t.Fatalf("err = %v (fix %q), want bad input naming --force", err, stack.Hint(err))
	}
	if err := project().Write(dir, true); err != nil {
		t.Fatalf("--force on my own directory: %v", err)
	}
}

// A link planted at a file's name is replaced, never written through.
func TestWriteDoesNotFollowAPlantedLink(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("root-only secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(victim, filepath.Join(dir, ComposeFile)); err != nil {
		t.Fatal(err)
	}
	if err := project().Write(dir, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "root-only secret\n" {
		t.Fatalf("the link's target was overwritten: %q", b)
	}
	if m := mode(t, filepath.Join(dir, ComposeFile)); !m.IsRegular() || m.Perm() != 0o600 {
		t.Fatalf("%s is %v, want a regular 0600 file in place of the link", ComposeFile, m)
	}
}

// A planted directory link that leads out of the export is refused.
func TestWriteRefusesALinkOutOfTheDirectory(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "files")); err != nil {
		t.Fatal(err)
	}
	if err := project().Write(dir, true); err == nil {
		t.Fatal("wrote through a link that leaves the directory")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("files appeared outside the export: %v", ents)
	}
}

func TestWriteRefusesALinkOrAFileAsTheDirectory(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "out")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := project().Write(link, true); !errors.Is(err, stack.ErrBadInput) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("err = %v, want a refusal naming the link", err)
	}
	file := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := project().Write(file, true); !errors.Is(err, stack.ErrBadInput) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v, want a refusal: not a directory", err)
	}
}

// A directory someone else owns (made ready for the victim's export, say
// under /tmp) is refused even with --force.
func TestWriteRefusesADirectoryOwnedBySomeoneElse(t *testing.T) {
	dir := "/tmp" // not ours unless we are root
	if os.Geteuid() == 0 {
		dir = t.TempDir()
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	err := project().Write(dir, true)
	if !errors.Is(err, stack.ErrBadInput) || !strings.Contains(err.Error(), "not by you") {
		t.Fatalf("err = %v, want a refusal: owned by someone else", err)
	}
}
