package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mossdev/mossdev/cmd/mossdev/display"
	"github.com/mossdev/mossdev/project"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/services/images"
	"github.com/spf13/cobra"
)

// projectContext is what every command knows about the project it runs in.
type projectContext struct {
	file     *project.File // nil without a mossdev.toml
	dir      string        // the project directory; "" with neither a file nor a git worktree
	nameFrom string        // where the stack name came from, for `mossdev config`
}

// findProject finds mossdev.toml from --workdir (the working directory)
// up, and refuses a bad one whatever the command: a team's pinned settings
// must not be half-applied.
func (g *globals) findProject() error {
	wd := g.workdir
	if wd == "" {
		var err error
		if wd, err = os.Getwd(); err != nil {
			return fmt.Errorf("find project file: %w", err)
		}
	}
	wd, err := filepath.Abs(wd)
	if err != nil {
		return fmt.Errorf("find project file: %w", err)
	}
	g.proj = projectContext{}
	if p := project.Find(wd); p != "" {
		f, err := project.Load(p)
		if err != nil {
			return err
		}
		g.proj.file, g.proj.dir = f, f.Dir()
		return nil
	}
	g.proj.dir = project.GitRoot(wd)
	return nil
}

// projectName is the stack name when --name is not given: MOSSDEV_STACK,
// else the file's name, else the project directory's, else "default".
func (g *globals) projectName() (name, from string) {
	if env := os.Getenv("MOSSDEV_STACK"); env != "" {
		return env, "env MOSSDEV_STACK"
	}
	if f := g.proj.file; f != nil && f.Name != "" {
		return f.Name, fileLine(f, "name")
	}
	if g.proj.dir != "" {
		return project.StackName(g.proj.dir), "project directory " + g.proj.dir
	}
	return "default", "default"
}

func fileLine(f *project.File, key string) string {
	return fmt.Sprintf("%s:%d", f.Path, f.Set[key])
}

// setting is one of up's values with where it came from.
type setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	From  string `json:"from"`
}

// upSetting ties a project file key to up's flag and its MOSSDEV_*
// variable.
type upSetting struct {
	key, flag, env string
	file           func(f *project.File) string // the flag's value as the file gives it
}

var upSettings = []upSetting{
	{"backend", "backend", "MOSSDEV_BACKEND", func(f *project.File) string { return f.Backend }},
	{"services", "only", "MOSSDEV_ONLY", func(f *project.File) string { return strings.Join(f.Services, ",") }},
	{"redis_shards", "redis-shards", "MOSSDEV_REDIS_SHARDS", func(f *project.File) string { return strconv.Itoa(f.RedisShards) }},
	{"rabbitmq_nodes", "rabbitmq-nodes", "MOSSDEV_RABBITMQ_NODES", func(f *project.File) string { return strconv.Itoa(f.RabbitNodes) }},
	{"timeout", "timeout", "MOSSDEV_TIMEOUT", func(f *project.File) string { return f.Timeout.String() }},
	{"seed.number", "seed", "MOSSDEV_SEED", func(f *project.File) string { return strconv.FormatUint(f.Seed.Number, 10) }},
	{"seed.scale", "scale", "MOSSDEV_SCALE", func(f *project.File) string { return f.Seed.Scale }},
	{"seed.enabled", "no-seed", "MOSSDEV_NO_SEED", func(f *project.File) string { return strconv.FormatBool(!f.Seed.Enabled) }},
}

// applySettings sets the named keys' flags of c that the user did not give
// from MOSSDEV_* or the project file, as resolve does for up: `mossdev
// seed` takes the dataset the team pinned.
func (g *globals) applySettings(c *cobra.Command, keys ...string) error {
	for _, s := range upSettings {
		if slices.Contains(keys, s.key) && c.Flags().Lookup(s.flag) != nil {
			if _, err := g.settle(c, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// settle gives s's flag its value by precedence (flag > MOSSDEV_* > the
// project file > default) and says where it came from.
func (g *globals) settle(c *cobra.Command, s upSetting) (from string, err error) {
	fl := c.Flags()
	switch {
	case fl.Changed(s.flag):
		return "flag --" + s.flag, nil
	case os.Getenv(s.env) != "":
		if err := fl.Set(s.flag, os.Getenv(s.env)); err != nil {
			return "", &stack.Error{Op: "read " + s.env, Err: stack.ErrBadInput, Detail: fmt.Sprintf("%s=%q: %v", s.env, os.Getenv(s.env), err),
				Fix: fmt.Sprintf("give %s a value --%s accepts, or unset it", s.env, s.flag)}
		}
		return "env " + s.env, nil
	case g.proj.file != nil && g.proj.file.Set[s.key] > 0:
		if err := fl.Set(s.flag, s.file(g.proj.file)); err != nil {
			return "", fmt.Errorf("apply %s: %w", fileLine(g.proj.file, s.key), err)
		}
		return fileLine(g.proj.file, s.key), nil
	}
	return "default", nil
}

// portsEnv holds fixed ports like --port does, comma-separated.
const portsEnv = "MOSSDEV_PORTS"

// resolve sets every up flag the user did not give from MOSSDEV_* or the
// project file (flags > environment > file > defaults) and says where each
// value came from. A bad environment value is bad input naming the variable.
func (g *globals) resolve(c *cobra.Command, o *upOptions) ([]setting, error) {
	fl := c.Flags()
	var out []setting
	for _, s := range upSettings {
		from, err := g.settle(c, s)
		if err != nil {
			return nil, err
		}
		v := fl.Lookup(s.flag).Value.String()
		switch s.key {
		case "seed.enabled":
			b, _ := strconv.ParseBool(v)
			v = strconv.FormatBool(!b)
		case "services":
			if v = strings.Trim(v, "[]"); v == "" {
				v = "all"
			}
		}
		out = append(out, setting{s.key, v, from})
	}
	ports, err := g.resolvePorts(o)
	if err != nil {
		return nil, err
	}
	return append(append(out, ports...), g.imageSettings()...), nil
}

// resolvePorts merges fixed ports per service: --port, then MOSSDEV_PORTS,
// then the file's [ports], so a flag moves one port and keeps the rest.
func (g *globals) resolvePorts(o *upOptions) ([]setting, error) {
	var out []setting
	have := map[string]bool{}
	add := func(specs []string, from func(k string) string) error {
		m, err := stack.ParsePorts(specs)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if have[k] {
				continue
			}
			have[k] = true
			spec := fmt.Sprintf("%s=%d", k, m[k])
			if !slices.Contains(o.ports, spec) {
				o.ports = append(o.ports, spec)
			}
			out = append(out, setting{"ports." + k, strconv.Itoa(m[k]), from(k)})
		}
		return nil
	}
	if err := add(o.ports, func(string) string { return "flag --port" }); err != nil {
		return nil, err
	}
	if env := os.Getenv(portsEnv); env != "" {
		if err := add(strings.Split(env, ","), func(string) string { return "env " + portsEnv }); err != nil {
			return nil, fmt.Errorf("read %s: %w", portsEnv, err)
		}
	}
	if f := g.proj.file; f != nil {
		var specs []string
		for k, p := range f.Ports {
			specs = append(specs, fmt.Sprintf("%s=%d", k, p))
		}
		if err := add(specs, func(k string) string { return fileLine(f, "ports."+k) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// imageSettings lists each image and its source. The file's overrides
// take effect through MOSSDEV_IMAGE_<KIND>, which package images reads;
// applyImages sets them, below any the environment already has.
func (g *globals) imageSettings() []setting {
	var out []setting
	for _, kind := range images.Kinds() {
		s := setting{"images." + kind, images.Ref(kind), "default"}
		switch f := g.proj.file; {
		case images.Overridden(kind):
			s.From = "env " + images.EnvVar(kind)
		case f != nil && f.Images[kind] != "":
			s.Value, s.From = f.Images[kind], fileLine(f, "images."+kind)
		}
		out = append(out, s)
	}
	return out
}

func (g *globals) applyImages() {
	if g.proj.file == nil {
		return
	}
	for kind, ref := range g.proj.file.Images {
		if !images.Overridden(kind) {
			os.Setenv(images.EnvVar(kind), ref)
		}
	}
}

func newConfig(g *globals) *cobra.Command {
	o := &upOptions{}
	c := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration of up, and where each value comes from",
		Long: `Prints what 'mossdev up' would use here: the stack name and every setting, each with its
source. Precedence: flags > MOSSDEV_* environment > mossdev.toml (found from the working directory
up) > defaults. Takes the same flags as up, so you can see what a flag would change.

Environment: MOSSDEV_STACK, MOSSDEV_BACKEND, MOSSDEV_ONLY, MOSSDEV_REDIS_SHARDS,
MOSSDEV_RABBITMQ_NODES, MOSSDEV_TIMEOUT, MOSSDEV_SEED, MOSSDEV_SCALE, MOSSDEV_NO_SEED,
MOSSDEV_PORTS (postgres=15432,redis-0=16379), MOSSDEV_IMAGE_<KIND>.`,
		Example: `  mossdev config
  mossdev config --json
  MOSSDEV_REDIS_SHARDS=2 mossdev config --backend native`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			sets, err := g.resolve(c, o)
			if err != nil {
				return err
			}
			if err := o.check(c); err != nil {
				return err
			}
			sets = append([]setting{{"name", g.name, g.proj.nameFrom}}, sets...)
			doc := struct {
				File       string    `json:"file,omitempty"`
				Schema     int       `json:"schema,omitempty"`
				ProjectDir string    `json:"projectDir,omitempty"`
				Root       string    `json:"root"`
				Settings   []setting `json:"settings"`
			}{ProjectDir: g.proj.dir, Root: g.root(), Settings: sets}
			if f := g.proj.file; f != nil {
				doc.File, doc.Schema = f.Path, f.Schema
			}
			if o.json {
				return display.WriteJSON(g.stdout, doc)
			}
			w := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			file := "none (mossdev init writes one)"
			if doc.File != "" {
				file = fmt.Sprintf("%s (schema %d)", doc.File, doc.Schema)
			}
			fmt.Fprintf(w, "project file\t%s\n", file)
			if doc.ProjectDir != "" {
				fmt.Fprintf(w, "project dir\t%s\n", doc.ProjectDir)
			}
			fmt.Fprintf(w, "stacks in\t%s\n\n", doc.Root)
			fmt.Fprintln(w, "KEY\tVALUE\tFROM")
			for _, s := range sets {
				fmt.Fprintf(w, "%s\t%s\t%s\n", s.Key, s.Value, s.From)
			}
			return w.Flush()
		},
	}
	o.addFlags(c)
	for _, f := range []string{"quiet", "no-tui", "cards"} {
		_ = c.Flags().MarkHidden(f)
	}
	c.Flags().Lookup("json").Usage = "print the configuration as JSON"
	return c
}

// root is the directory holding the stacks, as Open will resolve it.
func (g *globals) root() string {
	r := g.home
	if r == "" {
		r = stack.DefaultRoot()
	}
	if abs, err := filepath.Abs(r); err == nil {
		return abs
	}
	return r
}
