package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mossdev/mossdev/stack/probe"
)

// Service is one component of the platform, as data. Package services builds
// them; backends only read them.
type Service struct {
	// Name is the stable id used in flags, labels, JSON and env vars
	// ("redis-0" → MOSSDEV_REDIS_0_URL).
	Name string
	// Kind groups instances of the same server ("redis" for redis-0..N).
	Kind string
	// Role is one line on what the component does in the Mossi platform.
	Role string
	// Explain is the component's part in the platform for a new hire, a few
	// sentences the TUI shows under its diagram and in the detail view:
	// why it is there and what to try (stop it, watch what follows).
	Explain string
	// StandIn is non-empty when mossdev runs a compatible stand-in instead of
	// the real server; every output shows it.
	StandIn string
	// Ports names the ports the service listens on; the first is the one
	// apps use.
	Ports []string
	// Needs lists services that must be healthy before this one starts.
	Needs []string
	// Shared names helper programs that instances of this kind share and
	// that outlive the instance that spawned them (Erlang's epmd, started by
	// whichever RabbitMQ node boots first): the native backend leaves them
	// when one instance stops and stops them with the last one.
	Shared []string
	// StopSignal overrides SIGTERM where a server's SIGTERM is too polite
	// (PostgreSQL's "smart" shutdown waits for clients).
	StopSignal string
	// StartAfter, when set, names services this one is started after (once
	// they are healthy, when they are part of the same Up) without needing
	// them: ordering only, decided at each start, and nothing about what
	// turns unhealthy when they stop. A fresh RabbitMQ node joins node 1 at
	// boot and must not find it half-booted; a restarted one must not wait,
	// since node 1 may be waiting for its tables.
	StartAfter func(e *Runtime) []string
	// Native describes the supervised process of the native backend.
	Native func(e *Runtime) (NativeSpec, error)
	// Docker describes the container of the docker backend.
	Docker func(e *Runtime) (DockerSpec, error)
	// Probe returns the protocol-level readiness check, run through the path
	// apps use (SQL through PgBouncer, AMQP through HAProxy, ...).
	Probe func(e *Runtime) probe.Probe
	// Readiness says how Up polls the probe; the zero value is
	// probe.DefaultPolicy.
	Readiness probe.Policy
	// Setup runs after the first successful probe and before the service is
	// reported healthy: one-time initialisation (roles, databases) or joining
	// a cluster. It must be idempotent. wait blocks until another service of
	// the stack is healthy (a cluster member waiting for its seed node).
	Setup func(ctx context.Context, e *Runtime, wait func(name string) error) error
	// URL is how an app reaches the service (exported as MOSSDEV_<NAME>_URL).
	URL func(e *Runtime) string
	// Extra returns more variables for `mossdev env` (credentials, buckets).
	Extra func(e *Runtime) map[string]string
	// Counters reads live figures from the service itself (pools, queue
	// depths, keys, documents) for the terminal UI. Optional.
	Counters func(ctx context.Context, e *Runtime) ([]Counter, error)
}

// Counter is one live figure read from a service. Readers find a counter
// by Key, a constant of the service's package (pgbouncer.ClientsActive);
// Label is for people and may change.
type Counter struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// EnvVar is the environment variable that carries the service's URL.
func (s Service) EnvVar() string { return EnvName(s.Name, "URL") }

// EnvName builds MOSSDEV_<SERVICE>_<SUFFIX> with dashes as underscores.
func EnvName(service, suffix string) string {
	n := strings.ToUpper(strings.ReplaceAll(service, "-", "_"))
	return "MOSSDEV_" + n + "_" + suffix
}

// NativeSpec is a server run as a supervised OS process.
type NativeSpec struct {
	// Files are written (0600) before every start, so a config change takes
	// effect on the next start. Keys are absolute paths.
	Files map[string]string
	// Prepare runs once, before the first start (initdb, install-db). A
	// marker in the data dir records success; an interrupted prepare is
	// wiped and redone.
	Prepare []Command
	// Run is the long-running server, in the foreground.
	Run Command
}

// Command is one program invocation.
type Command struct {
	Path string
	Args []string
	Env  []string
	Dir  string
}

// Runtime holds the facts of one running stack that service definitions need:
// where things live, which ports were chosen, which secrets were generated.
type Runtime struct {
	Stack   string
	Dir     string
	Backend string
	Ports   map[string]map[string]int
	Secrets Secrets
	Options Options
	// Exe is the program that runs mossdev's own fakes in serve mode (the
	// mossdev binary, or a test binary whose TestMain calls stacktest.Main).
	Exe string
	// Exec runs a program where a service runs (docker exec in its
	// container; on native, a local process with the service's environment
	// and user) and returns its combined output. Nil when the backend
	// cannot (see Execer).
	Exec func(ctx context.Context, service string, args ...string) (string, error)
}

// Port returns the host port chosen for a service's named port.
func (e *Runtime) Port(service, name string) int { return e.Ports[service][name] }

// Addr is host:port on loopback for a service's named port.
func (e *Runtime) Addr(service, name string) string {
	return fmt.Sprintf("127.0.0.1:%d", e.Port(service, name))
}

// DataDir is where a service keeps state that survives restarts.
func (e *Runtime) DataDir(service string) string { return filepath.Join(e.Dir, "data", service) }

// RunDir holds a service's generated config, sockets and pid files.
func (e *Runtime) RunDir(service string) string { return filepath.Join(e.Dir, "run", service) }

// LogFile is the service's combined stdout/stderr.
func (e *Runtime) LogFile(service string) string {
	return filepath.Join(e.Dir, "logs", service+".log")
}

// Secrets are generated once per stack and kept in its state file (0600).
type Secrets struct {
	PostgresPassword string `json:"postgresPassword"` // superuser "postgres"
	AppUser          string `json:"appUser"`          // the user apps log in as, in every store
	AppPassword      string `json:"appPassword"`      // PostgreSQL's (through PgBouncer)
	MariaDBPassword  string `json:"mariadbPassword"`  // the app user's in MariaDB
	RabbitPassword   string `json:"rabbitPassword"`   // the app user's in RabbitMQ
	FerretDBPassword string `json:"ferretdbPassword"` // PostgreSQL role "ferretdb", the MongoDB stand-in's storage
	MongoPassword    string `json:"mongoPassword"`    // the app user's in MongoDB (its root user, in admin)
	MariaDBRoot      string `json:"mariadbRootPassword"`
	RedisPassword    string `json:"redisPassword"`
	ErlangCookie     string `json:"erlangCookie"`
	S3AccessKey      string `json:"s3AccessKey"`
	S3SecretKey      string `json:"s3SecretKey"`
	StatsPassword    string `json:"statsPassword"`   // HAProxy stats page
	ElasticPassword  string `json:"elasticPassword"` // Elasticsearch's "elastic" user
	CDNPurgeToken    string `json:"cdnPurgeToken"`   // bearer token of the CDN's purge endpoint
}

// Options shape the service set; they are fixed when a stack is created.
type Options struct {
	RedisShards int `json:"redisShards"`
	RabbitNodes int `json:"rabbitNodes"`
}

// DefaultOptions is the full platform: 3 Redis shards, a 3-node RabbitMQ cluster.
func DefaultOptions() Options { return Options{RedisShards: 3, RabbitNodes: 3} }

// OrDefault fills the fields left zero (not asked for) with the defaults.
func (o Options) OrDefault() Options {
	d := DefaultOptions()
	if o.RedisShards == 0 {
		o.RedisShards = d.RedisShards
	}
	if o.RabbitNodes == 0 {
		o.RabbitNodes = d.RabbitNodes
	}
	return o
}

// Differs refuses asked-for options (non-zero fields) that an existing
// stack, made with o, does not have: they are fixed when a stack is made.
func (o Options) Differs(asked Options, stack string) error {
	var diff []string
	if asked.RedisShards != 0 && asked.RedisShards != o.RedisShards {
		diff = append(diff, fmt.Sprintf("--redis-shards %d (it has %d)", asked.RedisShards, o.RedisShards))
	}
	if asked.RabbitNodes != 0 && asked.RabbitNodes != o.RabbitNodes {
		diff = append(diff, fmt.Sprintf("--rabbitmq-nodes %d (it has %d)", asked.RabbitNodes, o.RabbitNodes))
	}
	if len(diff) == 0 {
		return nil
	}
	return &Error{Op: "open stack " + stack, Err: ErrBadInput,
		Detail: "the stack exists and its shape is fixed: " + strings.Join(diff, ", "),
		Fix:    fmt.Sprintf("drop the flag to use the stack as it is, or `mossdev down --name %s` and up again with it (a resize is not supported)", stack)}
}

// Validate checks option ranges.
func (o Options) Validate() error {
	if o.RedisShards < 1 || o.RedisShards > 16 {
		return &Error{Op: "check options", Err: ErrBadInput,
			Detail: fmt.Sprintf("--redis-shards is %d", o.RedisShards), Fix: "use a value from 1 to 16"}
	}
	if o.RabbitNodes < 1 || o.RabbitNodes > 5 {
		return &Error{Op: "check options", Err: ErrBadInput,
			Detail: fmt.Sprintf("--rabbitmq-nodes is %d", o.RabbitNodes), Fix: "use a value from 1 to 5 (3 is the platform's cluster)"}
	}
	return nil
}

// exePath is the program that serves mossdev's fakes: this very binary.
func exePath() string {
	p, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return p
}

// Timings of one service during Up, for the startup timeline.
type Timing struct {
	Service string        `json:"service"`
	Action  string        `json:"action"`
	Queued  time.Duration `json:"queuedMs"`
	Started time.Duration `json:"startedMs"`
	Healthy time.Duration `json:"healthyMs"`
}
