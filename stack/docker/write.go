package docker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/mossdev/mossdev/stack"
)

// Write puts the project into dir so that nobody else can read its
// credentials or redirect a write:
//   - dir is created mode 0700; an existing dir must be a real directory
//     (not a symbolic link) owned by the caller and empty, unless force
//     (then it must still be the caller's own);
//   - every file is written through an os.Root, which refuses paths that
//     leave dir by a symbolic link, to a new temporary name opened with
//     O_EXCL and renamed into place, so a link planted at a file's name is
//     replaced, never followed;
//   - the compose file, which holds every credential, is 0600, and so is
//     any other file of c.Private (one that holds a secret). The config
//     files it bind-mounts are 0644 because the servers in the containers
//     read them as their own users (postgres, haproxy, redis), which a 0600
//     file owned by the caller would lock out. So they hold no secret:
//     ExportCompose has each server read its secrets from the compose
//     file's environment (psql's \getenv in PostgreSQL's init script,
//     HAProxy's "${VAR}", a wrapper entrypoint writing PgBouncer's userlist
//     and Redis's requirepass inside the container), and marks private
//     any file that still holds one. The 0700 directory keeps the rest
//     (topology, ports, user names) from other users on the host.
func (c *Compose) Write(dir string, force bool) error {
	if err := ownDir(dir, force); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return writeErr(dir, err)
	}
	defer root.Close()
	names := make([]string, 0, len(c.Files))
	for n := range c.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		mode := fs.FileMode(0o644)
		if n == ComposeFile || c.Private[n] {
			mode = 0o600
		}
		if d := path.Dir(n); d != "." {
			if err := root.MkdirAll(d, 0o700); err != nil {
				return writeErr(filepath.Join(dir, d), err)
			}
		}
		if err := replace(root, n, c.Files[n], mode); err != nil {
			return writeErr(filepath.Join(dir, n), err)
		}
	}
	return nil
}

// replace writes data to name inside root by a fresh temporary file and a
// rename.
func replace(root *os.Root, name string, data []byte, mode fs.FileMode) error {
	tmp := name + ".mossdev-tmp"
	_ = root.Remove(tmp) // a leftover of an interrupted write (or a planted link): removed, not followed
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		_ = root.Remove(tmp)
		return err
	}
	if err := f.Chmod(mode); err != nil { // past the umask
		f.Close()
		_ = root.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		_ = root.Remove(tmp)
		return err
	}
	return root.Rename(tmp, name)
}

// ownDir makes sure dir is a private directory of the caller's.
func ownDir(dir string, force bool) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return writeErr(filepath.Dir(dir), err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return writeErr(dir, err) // EEXIST too: someone made it meanwhile
		}
		return os.Chmod(dir, 0o700)
	}
	if err != nil {
		return writeErr(dir, err)
	}
	refuse := func(why, fix string) error {
		return &stack.Error{Op: "export to " + dir, Err: stack.ErrBadInput, Detail: why, Fix: fix}
	}
	other := "pick a new directory with --out (it is created mode 0700)"
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return refuse("it is a symbolic link", other)
	case !fi.IsDir():
		return refuse("it exists and is not a directory", other)
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		return refuse(fmt.Sprintf("it is owned by uid %d, not by you (uid %d): its owner could read the credentials or plant links", uid, os.Geteuid()), other)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return writeErr(dir, err)
	}
	if len(ents) > 0 && !force {
		return refuse(fmt.Sprintf("it is not empty (%d entries)", len(ents)),
			"pass --force to overwrite your own export, or "+other)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return writeErr(dir, err)
	}
	return nil
}

// owner is the uid owning fi, where the platform says.
func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

func writeErr(p string, err error) error {
	fix := "pick a writable directory with --out"
	if errors.Is(err, fs.ErrExist) {
		fix = "it appeared while writing: run the export again, into a new directory"
	}
	return &stack.Error{Op: "write " + p, Err: err, Fix: fix}
}
