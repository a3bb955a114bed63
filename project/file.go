// Package project reads mossdev.toml, the file a team commits next to its
// code to pin how its stack is made: name, backend, services, Redis shards,
// RabbitMQ nodes, fixed ports, image overrides, seed and timeout. Commands
// find it by walking up from the working directory (as compose and
// Supabase do), and a stack with no name given is named after its project,
// so two checkouts on one machine get two stacks.
//
// Every problem in the file is a stack.ErrBadInput naming the file, line and
// column, and the fix; Parse never panics (FuzzParse).
package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/mossdev/mossdev/seed"
	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/platform"
	"github.com/mossdev/mossdev/stack/services"
	"github.com/mossdev/mossdev/stack/services/images"
)

// FileName is the project file's name.
const FileName = "mossdev.toml"

// Schema is the layout this mossdev writes. Schema 1 (the first layout:
// `only`, and seed/scale/no_seed at the top level) is still read: a team's
// committed file must keep working when someone upgrades mossdev.
const Schema = 2

// File is a parsed, validated project file. Set tells which keys the file
// gives (so a default is not mistaken for a pinned value), each with the
// line it is on.
type File struct {
	Path        string // absolute
	Schema      int
	Name        string
	Backend     string
	Services    []string
	RedisShards int
	RabbitNodes int
	Timeout     time.Duration
	Ports       map[string]int    // "postgres" or "rabbitmq-1:dist" → port
	Images      map[string]string // kind → image ref
	Seed        Seed
	Set         map[string]int // "redis_shards", "seed.scale", "ports.postgres" → line
}

// Seed is the [seed] table: what `mossdev up` loads after the stack is up.
type Seed struct {
	Number  uint64
	Scale   string
	Enabled bool
}

// Dir is the project's directory: the one holding the file.
func (f *File) Dir() string { return filepath.Dir(f.Path) }

// Find walks up from dir to the filesystem root and returns the path of the
// first mossdev.toml, or "" when there is none. Anything by that name
// counts, so a directory or unreadable file is reported by Load rather than
// silently skipped.
func Find(dir string) string {
	for {
		p := filepath.Join(dir, FileName)
		if _, err := os.Lstat(p); err == nil {
			return p
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// Load reads and validates the project file at path.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &stack.Error{Op: "read project file", Err: stack.ErrBadInput, Detail: fmt.Sprintf("%s: cannot read it: %v", path, err),
			Fix: "make " + FileName + " a readable file (or move it away: mossdev then runs without a project file)"}
	}
	return Parse(path, b)
}

// Parse validates a project file's bytes; path is only for messages.
func Parse(path string, data []byte) (*File, error) {
	p := &parser{path: path, doc: string(data), f: &File{Path: path, Set: map[string]int{},
		Ports: map[string]int{}, Images: map[string]string{}}}
	var raw map[string]any
	if _, err := toml.Decode(p.doc, &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, p.errAt(pe.Position.Line, pe.Position.Col, "not valid TOML: "+pe.Message,
				"fix the syntax there (TOML: key = value, [table]); `mossdev init` in an empty directory writes a commented example")
		}
		return nil, p.errAt(1, 1, "not valid TOML: "+err.Error(), "fix the file, or move it away and run `mossdev init`")
	}
	if err := p.file(raw); err != nil {
		return nil, err
	}
	return p.f, nil
}

type parser struct {
	path string
	doc  string
	f    *File
	// from maps a schema-2 key to where it was in an older file
	// ("services" → ["only"]), so errors point at what the user wrote.
	from map[string][]string
	// at caches locate: each lookup decodes the whole file again.
	at map[string][2]int
}

// file checks the schema and then every key, in an order where each check
// can use what came before (ports need the service list, which needs the
// shard and node counts).
func (p *parser) file(raw map[string]any) error {
	v, ok := raw["schema"]
	if !ok {
		return p.errAt(1, 1, "no schema key", fmt.Sprintf("add `schema = %d` as the first line (the layout `mossdev init` writes)", Schema))
	}
	n, ok := v.(int64)
	if !ok || n < 1 {
		return p.bad([]string{"schema"}, fmt.Sprintf("schema is %s, not a layout number", show(v)), fmt.Sprintf("write `schema = %d`", Schema))
	}
	if n > Schema {
		return p.bad([]string{"schema"}, fmt.Sprintf("schema %d is newer than this mossdev reads (%d)", n, Schema),
			"upgrade mossdev (go install github.com/mossdev/mossdev/cmd/mossdev@latest)")
	}
	p.f.Schema = int(n)
	if n == 1 {
		raw = p.upgrade1(raw)
	}
	if err := p.unknown(nil, raw, topKeys); err != nil {
		return err
	}
	if err := p.scalars(raw); err != nil {
		return err
	}
	if err := p.services(raw); err != nil {
		return err
	}
	if err := p.ports(raw); err != nil {
		return err
	}
	if err := p.images(raw); err != nil {
		return err
	}
	return p.seed(raw)
}

var (
	topKeys  = []string{"schema", "name", "backend", "services", "redis_shards", "rabbitmq_nodes", "timeout", "ports", "images", "seed"}
	seedKeys = []string{"number", "scale", "enabled"}
)

// upgrade1 rewrites a schema-1 file into schema 2's shape, remembering
// where each moved key came from.
func (p *parser) upgrade1(raw map[string]any) map[string]any {
	if err := p.unknown(nil, raw, []string{"schema", "name", "backend", "only", "redis_shards", "rabbitmq_nodes", "timeout", "ports", "seed", "scale", "no_seed"}); err != nil {
		// Reported by the schema-2 check below, with the schema-1 keys
		// still in place so the suggestion is one the user can use.
		return raw
	}
	p.from = map[string][]string{}
	out := map[string]any{}
	sd := map[string]any{}
	for k, v := range raw {
		switch k {
		case "only":
			out["services"], p.from["services"] = v, []string{"only"}
		case "seed":
			sd["number"], p.from["seed.number"] = v, []string{"seed"}
		case "scale":
			sd["scale"], p.from["seed.scale"] = v, []string{"scale"}
		case "no_seed":
			b, ok := v.(bool)
			if !ok {
				sd["enabled"] = v // wrong type: reported as such
			} else {
				sd["enabled"] = !b
			}
			p.from["seed.enabled"] = []string{"no_seed"}
		default:
			out[k] = v
		}
	}
	if len(sd) > 0 {
		out["seed"] = sd
	}
	return out
}

// unknown refuses keys the table does not have, suggesting a near miss.
func (p *parser) unknown(table []string, m map[string]any, valid []string) error {
	// The first in the file, so fixing errors top to bottom converges.
	for _, k := range p.ordered(table, m) {
		if slices.Contains(valid, k) {
			continue
		}
		where := "at the top level"
		if len(table) > 0 {
			where = "in [" + strings.Join(table, ".") + "]"
		}
		fix := "valid keys " + where + ": " + strings.Join(valid, ", ")
		d := fmt.Sprintf("unknown key %q %s", k, where)
		if near := nearest(k, valid); near != "" {
			d += fmt.Sprintf(" (did you mean %q?)", near)
		}
		line, col := p.locate(append(slices.Clone(table), k)...)
		// The library places a key at its value; point at the key itself.
		if lines := strings.Split(p.doc, "\n"); line > 0 && line <= len(lines) {
			if i := strings.Index(lines[line-1], k); i >= 0 && i+1 < col {
				col = i + 1
			}
		}
		return p.errAt(line, col, d, fix)
	}
	return nil
}

func (p *parser) scalars(raw map[string]any) error {
	f := p.f
	if v, ok := raw["name"]; ok {
		s, err := p.str(v, "name", `name = "myapp"`)
		if err != nil {
			return err
		}
		if stack.CheckName(s) != nil {
			return p.bad([]string{"name"}, fmt.Sprintf("name %q is not a stack name", s),
				`use lowercase letters, digits and dashes (1 to 31 characters), starting with a letter, e.g. name = "myapp"; or leave name out to use the project directory's`)
		}
		f.Name = s
		p.mark("name")
	}
	if v, ok := raw["backend"]; ok {
		s, err := p.str(v, "backend", `backend = "native"`)
		if err != nil {
			return err
		}
		if !slices.Contains(platform.Backends, s) {
			return p.bad([]string{"backend"}, fmt.Sprintf("backend %q is not one mossdev has", s), "use one of: "+strings.Join(platform.Backends, ", "))
		}
		f.Backend = s
		p.mark("backend")
	}
	o := stack.DefaultOptions()
	for _, k := range []string{"redis_shards", "rabbitmq_nodes"} {
		v, ok := raw[k]
		if !ok {
			continue
		}
		n, isInt := v.(int64)
		if !isInt {
			return p.bad([]string{k}, fmt.Sprintf("%s is %s, not an integer", k, show(v)), fmt.Sprintf("write a whole number, e.g. %s = 2", k))
		}
		opt := o
		if k == "redis_shards" {
			opt.RedisShards, f.RedisShards = clampInt(n), clampInt(n)
		} else {
			opt.RabbitNodes, f.RabbitNodes = clampInt(n), clampInt(n)
		}
		if err := opt.Validate(); err != nil {
			return p.bad([]string{k}, fmt.Sprintf("%s = %d is out of range", k, n), stack.Hint(err))
		}
		p.mark(k)
	}
	if v, ok := raw["timeout"]; ok {
		s, err := p.str(v, "timeout", `timeout = "5m"`)
		if err != nil {
			return err
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Second {
			return p.bad([]string{"timeout"}, fmt.Sprintf("timeout %q is not a duration of 1s or more", s), `write e.g. timeout = "5m" (the default is 3m)`)
		}
		f.Timeout = d
		p.mark("timeout")
	}
	return nil
}

// platformServices lists the services the file's stack would have.
func (p *parser) platformServices() []stack.Service {
	o := stack.Options{RedisShards: p.f.RedisShards, RabbitNodes: p.f.RabbitNodes}.OrDefault()
	return services.Platform(o, "native")
}

func (p *parser) services(raw map[string]any) error {
	v, ok := raw["services"]
	if !ok {
		return nil
	}
	var names []string
	for _, s := range p.platformServices() {
		names = append(names, s.Name)
	}
	list, isList := v.([]any)
	if !isList || len(list) == 0 {
		return p.bad([]string{"services"}, fmt.Sprintf("services is %s, not a list of service names", show(v)),
			`write e.g. services = ["pgbouncer", "redis-0"], or leave services out for all`)
	}
	for _, e := range list {
		s, isStr := e.(string)
		if !isStr {
			return p.bad([]string{"services"}, fmt.Sprintf("services holds %s, not a service name", show(e)), `write names in quotes, e.g. services = ["pgbouncer", "redis-0"]`)
		}
		if !slices.Contains(names, s) {
			d := fmt.Sprintf("services names %q, which this stack does not have", s)
			if near := nearest(s, names); near != "" {
				d += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return p.bad([]string{"services"}, d, "services: "+strings.Join(names, ", "))
		}
		p.f.Services = append(p.f.Services, s)
	}
	p.mark("services")
	return nil
}

func (p *parser) ports(raw map[string]any) error {
	m, err := p.table(raw, "ports", "write a [ports] table with lines like postgres = 15432")
	if m == nil {
		return err
	}
	svcs := p.platformServices()
	seen := map[int]string{}
	for _, k := range p.ordered([]string{"ports"}, m) {
		key := []string{"ports", k}
		n, isInt := m[k].(int64)
		if !isInt {
			return p.bad(key, fmt.Sprintf("port %s is %s, not an integer", k, show(m[k])), fmt.Sprintf("write %s = PORT with PORT from %d to %d", quoteKey(k), stack.MinPort, stack.MaxPort))
		}
		port := clampInt(n)
		// CheckFixedPorts holds the rules --port follows (which keys
		// exist, the range); one key at a time so the error has a line.
		if err := stack.CheckFixedPorts(svcs, map[string]int{k: port}); err != nil {
			var se *stack.Error
			if errors.As(err, &se) {
				return p.bad(key, fmt.Sprintf("ports: %s = %d: %s", k, n, se.Detail), se.Fix)
			}
			return p.bad(key, err.Error(), "")
		}
		if other, dup := seen[port]; dup {
			return p.bad(key, fmt.Sprintf("port %d is given twice: to %s and to %s", port, other, k), "give each service its own port")
		}
		seen[port] = k
		p.f.Ports[k] = port
		p.mark("ports." + k)
	}
	return nil
}

func (p *parser) images(raw map[string]any) error {
	m, err := p.table(raw, "images", `write an [images] table with lines like postgres = "postgres:16"`)
	if m == nil {
		return err
	}
	if err := p.unknown([]string{"images"}, m, images.Kinds()); err != nil {
		return err
	}
	for _, k := range p.ordered([]string{"images"}, m) {
		s, isStr := m[k].(string)
		if !isStr || strings.TrimSpace(s) == "" {
			return p.bad([]string{"images", k}, fmt.Sprintf("image %s is %s, not an image reference", k, show(m[k])), fmt.Sprintf(`write e.g. %s = %q`, k, images.Pinned[k]))
		}
		p.f.Images[k] = s
		p.mark("images." + k)
	}
	return nil
}

func (p *parser) seed(raw map[string]any) error {
	p.f.Seed.Enabled = true
	m, err := p.table(raw, "seed", "write a [seed] table with number, scale and enabled")
	if m == nil {
		return err
	}
	if err := p.unknown([]string{"seed"}, m, seedKeys); err != nil {
		return err
	}
	if v, ok := m["number"]; ok {
		n, isInt := v.(int64)
		if !isInt || n < 0 {
			return p.bad([]string{"seed", "number"}, fmt.Sprintf("seed number is %s, not a whole number of 0 or more", show(v)), "write e.g. number = 2016")
		}
		p.f.Seed.Number = uint64(n)
		p.mark("seed.number")
	}
	if v, ok := m["scale"]; ok {
		var names []string
		for _, s := range seed.Scales() {
			names = append(names, string(s))
		}
		s, isStr := v.(string)
		if !isStr {
			return p.bad([]string{"seed", "scale"}, fmt.Sprintf("seed scale is %s, not a name", show(v)), "use one of: "+strings.Join(names, ", "))
		}
		if (seed.Params{Scale: seed.Scale(s)}).Validate() != nil {
			d := fmt.Sprintf("seed scale %q does not exist", s)
			if near := nearest(s, names); near != "" {
				d += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return p.bad([]string{"seed", "scale"}, d, "use one of: "+strings.Join(names, ", "))
		}
		p.f.Seed.Scale = s
		p.mark("seed.scale")
	}
	if v, ok := m["enabled"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return p.bad([]string{"seed", "enabled"}, fmt.Sprintf("seed enabled is %s, not true or false", show(v)), "write enabled = true or enabled = false")
		}
		p.f.Seed.Enabled = b
		p.mark("seed.enabled")
	}
	return nil
}

// table returns the table at key: nil and no error when the file has
// none, nil and an error when key holds something else.
func (p *parser) table(raw map[string]any, key, fix string) (map[string]any, error) {
	v, ok := raw[key]
	if !ok {
		return nil, nil
	}
	m, isTable := v.(map[string]any)
	if !isTable {
		return nil, p.bad([]string{key}, fmt.Sprintf("%s is %s, not a table", key, show(v)), fix)
	}
	return m, nil
}

func (p *parser) str(v any, key, example string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", p.bad([]string{key}, fmt.Sprintf("%s is %s, not a string", key, show(v)), "write it in quotes, e.g. "+example)
	}
	return s, nil
}

// mark records that the file sets key, with its line.
func (p *parser) mark(key string) {
	line, _ := p.locate(p.origin(key)...)
	p.f.Set[key] = line
}

// origin is where a schema-2 key was written ("seed.scale" may have been
// "scale" in a schema-1 file).
func (p *parser) origin(key string) []string {
	if o, ok := p.from[key]; ok {
		return o
	}
	if t, k, ok := strings.Cut(key, "."); ok {
		return []string{t, k}
	}
	return []string{key}
}

// ordered returns a table's keys in file order.
func (p *parser) ordered(table []string, m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		la, ca := p.locate(append(slices.Clone(table), a)...)
		lb, cb := p.locate(append(slices.Clone(table), b)...)
		if la != lb {
			return la - lb
		}
		if ca != cb {
			return ca - cb
		}
		return strings.Compare(a, b)
	})
	return keys
}

func (p *parser) bad(key []string, detail, fix string) error {
	if len(key) > 0 {
		if o, ok := p.from[strings.Join(key, ".")]; ok {
			key = o
		}
	}
	line, col := p.locate(key...)
	return p.errAt(line, col, detail, fix)
}

func (p *parser) errAt(line, col int, detail, fix string) error {
	where := p.path
	if line > 0 {
		where = fmt.Sprintf("%s:%d:%d", p.path, line, col)
	}
	return &stack.Error{Op: "read project file", Err: stack.ErrBadInput, Detail: where + ": " + detail, Fix: fix}
}

// locator is decoded at exactly one key path so that the TOML library
// reports that key's position: BurntSushi/toml knows every key's line and
// column but exports them only on errors. Asking it beats re-lexing TOML
// by hand (quoted keys, dotted keys, inline tables).
type locator struct{}

var errLocate = errors.New("located")

func (locator) UnmarshalTOML(any) error { return errLocate }

// locate returns the line and column of a key path; 0, 0 when unknown.
func (p *parser) locate(key ...string) (line, col int) {
	if len(key) == 0 {
		return 0, 0
	}
	id := strings.Join(key, "\x00")
	if pos, ok := p.at[id]; ok {
		return pos[0], pos[1]
	}
	line, col = p.locateOnce(key)
	if p.at == nil {
		p.at = map[string][2]int{}
	}
	p.at[id] = [2]int{line, col}
	return line, col
}

func (p *parser) locateOnce(key []string) (line, col int) {
	t := reflect.TypeOf(locator{})
	for i := len(key) - 1; i >= 0; i-- {
		if strings.ContainsAny(key[i], ",\"\\") { // not expressible as a struct tag
			return 0, 0
		}
		t = reflect.StructOf([]reflect.StructField{{Name: "F", Type: t, Tag: reflect.StructTag(`toml:"` + key[i] + `"`)}})
	}
	v := reflect.New(t)
	_, err := toml.Decode(p.doc, v.Interface())
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return 0, 0
	}
	line, col = pe.Position.Line, pe.Position.Col
	// A string's position is its first character; point at its quote.
	if lines := strings.Split(p.doc, "\n"); line > 0 && line <= len(lines) && col >= 2 && col-2 < len(lines[line-1]) {
		if q := lines[line-1][col-2]; q == '"' || q == '\'' {
			col--
		}
	}
	return line, col
}

// show names a TOML value's type for messages: `the string "3"`, `an integer`.
func show(v any) string {
	switch v := v.(type) {
	case string:
		return "the string " + strconv.Quote(v)
	case int64:
		return "the integer " + strconv.FormatInt(v, 10)
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	case nil:
		return "empty"
	}
	return "a date or time"
}

func clampInt(n int64) int {
	// Out-of-range values must stay out of range after conversion, never
	// wrap into a valid port or count.
	const lim = 1 << 30
	if n > lim {
		return lim
	}
	if n < -lim {
		return -lim
	}
	return int(n)
}

func quoteKey(k string) string {
	if strings.ContainsAny(k, ":. ") {
		return strconv.Quote(k)
	}
	return k
}

// nearest returns the candidate within edit distance 2 of s (a typo), or
// "" when none is close. Ten lines of Levenshtein do not justify a module.
func nearest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
