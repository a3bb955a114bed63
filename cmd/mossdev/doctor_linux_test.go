//go:build linux

package main

import "testing"

func TestPackager(t *testing.T) {
	for release, want := range map[string]struct {
		pm     string
		debian bool
	}{
		"ID=debian\nVERSION_ID=\"12\"\n":            {"apt-get", true},
		"ID=ubuntu\nID_LIKE=debian\n":               {"apt-get", true},
		"ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n": {"apt-get", true},
		"ID=fedora\n": {"dnf", false},
		"ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"": {"dnf", false},
		"ID=arch\n":   {"pacman", false},
		"ID=alpine\n": {"apk", false},
		"ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"": {"zypper", false},
		"ID=nixos\n": {"", false},
		"":           {"", false},
	} {
		pm, debian := packager(release)
		if pm != want.pm || debian != want.debian {
			t.Errorf("packager(%q) = %q, %v; want %q, %v", release, pm, debian, want.pm, want.debian)
		}
	}
}
