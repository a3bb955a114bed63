package stack

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLockPinsRegistryImagesByDigestAndLocalOnesByID(t *testing.T) {
	lock := NewLock([]Image{
		{Ref: "redis:7", Digest: "redis@sha256:aaaaaaaaaaaaaaaaaaaa", ID: "sha256:1111111111111111"},
		{Ref: "mossdev-ci/mongo:7", ID: "sha256:2222222222222222", Local: true},
	})
	same := []Image{
		// Another platform's pull of the same manifest list: another ID, same digest.
		{Ref: "redis:7", Digest: "redis@sha256:aaaaaaaaaaaaaaaaaaaa", ID: "sha256:9999999999999999"},
		{Ref: "mossdev-ci/mongo:7", ID: "sha256:2222222222222222", Local: true},
	}
	if d := lock.Check(same); len(d) != 0 {
		t.Errorf("same bytes reported as drift: %v", d)
	}
	drifted := []Image{
		{Ref: "redis:7", Digest: "redis@sha256:bbbbbbbbbbbbbbbbbbbb", ID: "sha256:1111111111111111"},
		{Ref: "mossdev-ci/mongo:7", ID: "sha256:3333333333333333", Local: true},
		{Ref: "postgres:16", Digest: "postgres@sha256:cccccccccccccccccccc"},
	}
	got := lock.Check(drifted)
	want := []string{
		"redis:7 is redis@sha256:bbbbbbbbbbbb here, the lock pins redis@sha256:aaaaaaaaaaaa",
		"mossdev-ci/mongo:7 is sha256:333333333333 here, the lock pins sha256:222222222222",
		"postgres:16 is not in the lock (it pins other images)",
	}
	var gotS []string
	for _, d := range got {
		gotS = append(gotS, d.String())
	}
	if !reflect.DeepEqual(gotS, want) {
		t.Errorf("drifts:\n%q\nwant:\n%q", gotS, want)
	}
}

func TestLockFileRoundTripsAndRefusesGarbage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LockFile)
	if l, err := ReadLock(path); l != nil || err != nil {
		t.Fatalf("missing lock: %v, %v; want no lock and no error", l, err)
	}
	lock := NewLock([]Image{{Ref: "b:1", ID: "sha256:b", Local: true, Services: []string{"x"}}, {Ref: "a:1", Digest: "a@sha256:a", ID: "sha256:a"}})
	if err := lock.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Images[0].Ref != "a:1" || !reflect.DeepEqual(back.Images, lock.Images) {
		t.Errorf("read back %+v, wrote %+v (sorted by ref)", back.Images, lock.Images)
	}
	for _, bad := range []string{"not json", `{"version": 99, "images": []}`, `{}`} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadLock(path); !errors.Is(err, ErrBadInput) || Hint(err) == "" {
			t.Errorf("lock %q: %v; want bad input with a fix", bad, err)
		}
	}
}

func TestLockPinsARegistryDigestOnly(t *testing.T) {
	lock := NewLock([]Image{
		{Ref: "redis:7", Digest: "redis@sha256:aa", ID: "sha256:1"},
		{Ref: "mossdev-ci/mongo:7", ID: "sha256:2", Local: true},
	})
	for ref, want := range map[string]string{"redis:7": "redis@sha256:aa", "mossdev-ci/mongo:7": "", "postgres:16": ""} {
		if got := lock.Pinned(ref); got != want {
			t.Errorf("Pinned(%s) = %q, want %q", ref, got, want)
		}
	}
	if got := (*ImageLock)(nil).Pinned("redis:7"); got != "" {
		t.Errorf("no lock pins %q", got)
	}
}
