package project

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	"github.com/mossdev/mossdev/stack"
)

// Root is the project directory for a working directory: the one holding
// mossdev.toml, else the git worktree's top (each worktree has its own
// .git, so two worktrees of one repository are two projects), else "".
func Root(wd string) string {
	if f := Find(wd); f != "" {
		return filepath.Dir(f)
	}
	return GitRoot(wd)
}

// GitRoot walks up from dir to the nearest directory holding .git (a
// directory in a clone, a file in a worktree); "" when there is none.
func GitRoot(dir string) string {
	for {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// StackName turns a project directory into a stack name: its base name
// when that is already a valid name, else a cleaned, shortened form with a
// short hash of the full path, so different directories that clean to the
// same text still get different stacks.
func StackName(dir string) string {
	base := filepath.Base(dir)
	if stack.CheckName(base) == nil {
		return base
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(base) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	switch {
	case s == "":
		s = "project"
	case s[0] < 'a' || s[0] > 'z':
		s = "p-" + s
	}
	sum := sha256.Sum256([]byte(dir))
	h := hex.EncodeToString(sum[:3])
	const keep = 31 - 1 - 6 // room for "-" and the hash
	if len(s) > keep {
		s = strings.TrimRight(s[:keep], "-")
	}
	return s + "-" + h
}
