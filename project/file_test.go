package project

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mossdev/mossdev/stack"
)

// Every bad input names file, line and column, says what is wrong and how
// to fix it, and is stack.ErrBadInput (exit 2).
func TestParseRefusesBadInput(t *testing.T) {
	for _, tc := range []struct{ name, doc, want, fix string }{
		{"unknown key", "schema = 2\nredis_shard = 3\n",
			`f.toml:2:1: unknown key "redis_shard" at the top level (did you mean "redis_shards"?)`, "valid keys at the top level: schema, name"},
		{"unknown key in table", "schema = 2\n[seed]\nscael = \"small\"\n",
			`f.toml:3:1: unknown key "scael" in [seed] (did you mean "scale"?)`, "number, scale, enabled"},
		{"unknown key far from any", "schema = 2\nfrobnicate = 1\n", `f.toml:2:1: unknown key "frobnicate" at the top level`, "valid keys"},
		{"wrong type", "schema = 2\nredis_shards = \"3\"\n", `f.toml:2:16: redis_shards is the string "3", not an integer`, "redis_shards = 2"},
		{"wrong type table", "schema = 2\nports = 5\n", `f.toml:2:9: ports is the integer 5, not a table`, "[ports]"},
		{"port out of range", "schema = 2\n[ports]\npostgres = 70000\n", `f.toml:3:12: ports: postgres = 70000: port 70000 is out of range 1024–65535`, "use a port from 1024 to 65535"},
		{"port privileged", "schema = 2\n[ports]\npostgres = 80\n", `f.toml:3:12: ports: postgres = 80: port 80 is privileged`, "1024"},
		{"port twice", "schema = 2\n[ports]\npostgres = 15432\nmariadb = 15432\n", `f.toml:4:11: port 15432 is given twice: to postgres and to mariadb`, "its own port"},
		{"port unknown service", "schema = 2\n[ports]\npostgress = 15432\n", `f.toml:3:13: ports: postgress = 15432: no service "postgress" in this stack`, "services: postgres"},
		{"key twice", "schema = 2\nname = \"a\"\nname = \"b\"\n", `f.toml:3:12: not valid TOML: Key 'name' has already been defined.`, "fix the syntax"},
		{"unknown service", "schema = 2\nservices = [\"pgbouncer\", \"redis-9\"]\n", `f.toml:2:13: services names "redis-9", which this stack does not have (did you mean "redis-0"?)`, "services: postgres"},
		{"redis shards zero", "schema = 2\nredis_shards = 0\n", `f.toml:2:16: redis_shards = 0 is out of range`, "use a value from 1 to 16"},
		{"scale missing", "schema = 2\n[seed]\nscale = \"huge\"\n", `f.toml:3:9: seed scale "huge" does not exist`, "small, default, large, prod"},
		{"not toml", "{\"schema\": 2}\n", `f.toml:1:1: not valid TOML: expected '.' or '=', but got '{' instead`, "mossdev init"},
		{"no schema", "name = \"x\"\n", `f.toml:1:1: no schema key`, "schema = 2"},
		{"newer schema", "schema = 9\n", `f.toml:1:10: schema 9 is newer than this mossdev reads (2)`, "upgrade mossdev"},
		{"bad name", "schema = 2\nname = \"My App\"\n", `f.toml:2:8: name "My App" is not a stack name`, "lowercase"},
		{"bad backend", "schema = 2\nbackend = \"podman\"\n", `f.toml:2:11: backend "podman" is not one mossdev has`, "auto, native, docker"},
		{"bad timeout", "schema = 2\ntimeout = \"soon\"\n", `f.toml:2:11: timeout "soon" is not a duration of 1s or more`, `timeout = "5m"`},
		{"unknown image kind", "schema = 2\n[images]\npostgress = \"x\"\n", `f.toml:3:1: unknown key "postgress" in [images] (did you mean "postgres"?)`, "valid keys in [images]"},
		{"older schema wrong type", "schema = 1\nno_seed = \"yes\"\n", `f.toml:2:11: seed enabled is the string "yes", not true or false`, "enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(tc.doc))
			if !errors.Is(err, stack.ErrBadInput) {
				t.Fatalf("err = %v, want ErrBadInput", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q\nwant it to contain %q", err, tc.want)
			}
			if !strings.Contains(stack.Hint(err), tc.fix) {
				t.Errorf("fix = %q, want it to contain %q", stack.Hint(err), tc.fix)
			}
		})
	}
}

func TestParseReadsEveryKey(t *testing.T) {
	doc := `schema = 2
name = "shop"
backend = "native"
services = ["pgbouncer", "redis-0"]
redis_shards = 2
rabbitmq_nodes = 1
timeout = "5m"

[ports]
postgres = 15432
"rabbitmq-1:dist" = 25672

[images]
postgres = "registry.local/postgres:16"

[seed]
number = 7
scale = "small"
enabled = false
`
	f, err := Parse("f.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "shop" || f.Backend != "native" || strings.Join(f.Services, ",") != "pgbouncer,redis-0" ||
		f.RedisShards != 2 || f.RabbitNodes != 1 || f.Timeout != 5*time.Minute ||
		f.Ports["postgres"] != 15432 || f.Ports["rabbitmq-1:dist"] != 25672 ||
		f.Images["postgres"] != "registry.local/postgres:16" || f.Seed != (Seed{Number: 7, Scale: "small", Enabled: false}) {
		t.Errorf("parsed %+v", f)
	}
	if f.Set["redis_shards"] != 5 || f.Set["seed.enabled"] != 19 || f.Set["ports.rabbitmq-1:dist"] != 11 {
		t.Errorf("lines: %v", f.Set)
	}
}

// A file written for schema 1 (only, and seed/scale/no_seed at the top)
// reads as the same settings in schema 2.
func TestParseReadsSchemaOne(t *testing.T) {
	f, err := Parse("f.toml", []byte("schema = 1\nonly = [\"redis-0\"]\nseed = 7\nscale = \"small\"\nno_seed = true\nredis_shards = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Schema != 1 || strings.Join(f.Services, ",") != "redis-0" || f.Seed != (Seed{Number: 7, Scale: "small", Enabled: false}) || f.RedisShards != 1 {
		t.Errorf("parsed %+v", f)
	}
	if f.Set["seed.scale"] != 4 || f.Set["services"] != 2 {
		t.Errorf("lines: %v", f.Set)
	}
	// A schema-1 key in a schema-2 file is unknown there.
	if _, err := Parse("f.toml", []byte("schema = 2\nno_seed = true\n")); err == nil || !strings.Contains(err.Error(), `unknown key "no_seed"`) {
		t.Errorf("schema 2 with no_seed: %v", err)
	}
}

func TestLoadRefusesWhatCannotBeRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if !errors.Is(err, stack.ErrBadInput) || !strings.Contains(err.Error(), p+": cannot read it: is a directory") {
		t.Errorf("err = %v", err)
	}
}

func TestFindWalksUp(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Find(sub); got != "" && !strings.HasPrefix(dir, filepath.Dir(got)) {
		t.Fatalf("found %s with no file in the tree", got)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("schema = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := Find(sub), filepath.Join(dir, FileName); got != want {
		t.Errorf("Find(%s) = %q, want %q", sub, got, want)
	}
	if got := Root(sub); got != dir {
		t.Errorf("Root = %q, want %q", got, dir)
	}
}

func TestRootIsTheGitWorktree(t *testing.T) {
	dir := t.TempDir()
	for _, wt := range []string{"main", "feature"} {
		if err := os.MkdirAll(filepath.Join(dir, wt, "src"), 0o755); err != nil {
			t.Fatal(err)
		}
		// A worktree's .git is a file.
		if err := os.WriteFile(filepath.Join(dir, wt, ".git"), []byte("gitdir: x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, b := Root(filepath.Join(dir, "main", "src")), Root(filepath.Join(dir, "feature", "src"))
	if StackName(a) != "main" || StackName(b) != "feature" {
		t.Errorf("stacks %q and %q, want main and feature", StackName(a), StackName(b))
	}
}

func TestStackName(t *testing.T) {
	for dir, want := range map[string]string{
		"/src/shop":      "shop",
		"/src/Shop":      "shop-",
		"/src/my_app.v2": "my-app-v2-",
		"/src/2024-site": "p-2024-site-",
		"/src/___":       "project-",
		"/src/a-really-long-project-directory-name": "a-really-long-project-di-",
	} {
		got := StackName(dir)
		if !strings.HasPrefix(got, want) || stack.CheckName(got) != nil {
			t.Errorf("StackName(%q) = %q, want a valid name starting %q", dir, got, want)
		}
	}
	if StackName("/a/Shop") == StackName("/b/Shop") {
		t.Error("two directories that clean to the same name got the same stack")
	}
}
