package stack

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// State is what a stack remembers between commands: it is written at the
// first up and read by every later command. Ports and secrets stay stable
// across restarts so a developer's config keeps working.
type State struct {
	Name    string                    `json:"name"`
	Backend string                    `json:"backend"`
	Created time.Time                 `json:"created"`
	Options Options                   `json:"options"`
	Ports   map[string]map[string]int `json:"ports"`
	Secrets Secrets                   `json:"secrets"`
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// CheckName validates a stack name (it becomes part of paths and labels).
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return &Error{Op: "check stack name", Err: ErrBadInput, Detail: fmt.Sprintf("%q", name),
			Fix: "use lowercase letters, digits and dashes (1 to 31 characters), starting with a letter (e.g. --name ci-1)"}
	}
	return nil
}

// DefaultRoot is where stacks live: $MOSSDEV_HOME, else /var/lib/mossdev for
// root (the unprivileged server user must reach it, which /root forbids),
// else $XDG_STATE_HOME/mossdev or ~/.local/state/mossdev.
func DefaultRoot() string {
	if h := os.Getenv("MOSSDEV_HOME"); h != "" {
		return h
	}
	if os.Geteuid() == 0 {
		return "/var/lib/mossdev"
	}
	if x := os.Getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "mossdev")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "mossdev-"+fmt.Sprint(os.Getuid()))
	}
	return filepath.Join(home, ".local", "state", "mossdev")
}

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

// LoadState reads a stack's state; ErrNoStack when it was never brought up.
func LoadState(dir string) (*State, error) {
	b, err := os.ReadFile(statePath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoStack
	}
	if err != nil {
		return nil, fmt.Errorf("read stack state: %w", err)
	}
	var st State
	err = json.Unmarshal(b, &st)
	if err == nil {
		err = st.check(filepath.Base(dir))
	}
	if err != nil {
		return nil, &Error{Op: "read stack state", Err: ErrDamaged, Detail: fmt.Sprintf("%s: %v", statePath(dir), err),
			Fix: fmt.Sprintf("run `mossdev down --name %s`: it removes the stack by its labels, whatever the file says", filepath.Base(dir))}
	}
	if st.Secrets.addMissing() {
		// Saved at once, so every later command sees the same secrets.
		if err := saveState(dir, &st); err != nil {
			return nil, fmt.Errorf("save stack state with new secrets: %w", err)
		}
	}
	return &st, nil
}

// check refuses a state that would make later commands misbehave (empty
// secrets saved into configs, ports out of range, an unknown backend).
func (st *State) check(name string) error {
	if st.Name != name {
		return fmt.Errorf("name %q, but the stack's directory is %q", st.Name, name)
	}
	if st.Backend != "native" && st.Backend != "docker" {
		return fmt.Errorf("backend %q is neither native nor docker", st.Backend)
	}
	if err := st.Options.Validate(); err != nil {
		return err
	}
	if len(st.Ports) == 0 {
		return errors.New("no ports")
	}
	for svc, m := range st.Ports {
		for n, p := range m {
			if p < MinPort || p > MaxPort {
				return fmt.Errorf("port %s:%s is %d, out of range %d–%d", svc, n, p, MinPort, MaxPort)
			}
		}
	}
	sc := st.Secrets
	for name, v := range map[string]string{"postgresPassword": sc.PostgresPassword, "appUser": sc.AppUser,
		"appPassword": sc.AppPassword, "mariadbRootPassword": sc.MariaDBRoot, "redisPassword": sc.RedisPassword,
		"erlangCookie": sc.ErlangCookie, "s3AccessKey": sc.S3AccessKey, "s3SecretKey": sc.S3SecretKey,
		"statsPassword": sc.StatsPassword} {
		if v == "" {
			return fmt.Errorf("secret %s is missing", name)
		}
	}
	return nil
}

func saveState(dir string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(statePath(dir), b, 0o600)
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ListStacks returns the names of stacks under root that have state.
func ListStacks(root string) []string {
	ents, _ := os.ReadDir(root)
	var names []string
	for _, e := range ents {
		if _, err := os.Stat(statePath(filepath.Join(root, e.Name()))); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

func newSecrets() Secrets {
	return Secrets{
		PostgresPassword: token(18),
		AppUser:          "mossi",
		AppPassword:      token(18),
		MariaDBPassword:  token(18),
		RabbitPassword:   token(18),
		FerretDBPassword: token(18),
		MongoPassword:    token(18),
		MariaDBRoot:      token(18),
		RedisPassword:    token(18),
		ErlangCookie:     strings.ToUpper(token(24)),
		S3AccessKey:      "MOSSDEV" + strings.ToUpper(token(9)),
		S3SecretKey:      token(30),
		StatsPassword:    token(12),
		ElasticPassword:  token(18),
		CDNPurgeToken:    token(24),
	}
}

// addMissing fills the secrets a state file written by an older mossdev
// lacks (every field is a string) with fresh ones, and says whether it
// added any. Without it such a stack would start services with empty
// credentials.
func (s *Secrets) addMissing() bool {
	// A stack made before each store had its own app password keeps the
	// shared one there: MariaDB's and RabbitMQ's images set it only when
	// their data is first made.
	for _, p := range []*string{&s.MariaDBPassword, &s.RabbitPassword} {
		if *p == "" && s.AppPassword != "" {
			*p = s.AppPassword
		}
	}
	fresh := reflect.ValueOf(newSecrets())
	v := reflect.ValueOf(s).Elem()
	added := false
	for i := range v.NumField() {
		if f := v.Field(i); f.String() == "" {
			f.SetString(fresh.Field(i).String())
			added = true
		}
	}
	return added
}

// token returns n random bytes as URL-safe text without characters that need
// quoting in URLs, ini files or shell (base64 '-' and '_' are safe there).
func token(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // the kernel's RNG does not fail
	}
	s := base64.RawURLEncoding.EncodeToString(b)
	return strings.NewReplacer("-", "x", "_", "y").Replace(s)
}
