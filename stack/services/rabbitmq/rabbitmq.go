// Package rabbitmq is the Mossi platform's Celery broker: a RabbitMQ cluster
// that carried hundreds of MB/s of async, delayed and cache→DB write-behind
// jobs. Mossi first used Redis as the broker and moved to RabbitMQ because
// Redis was unstable under that load. Apps reach the cluster only through
// HAProxy.
//
// The native backend runs N real nodes on one machine: each with its own
// node name, AMQP and distribution ports, all sharing one Erlang cookie and
// one per-stack epmd port. A new cluster boots node 1, then nodes 2..N
// together, each joining node 1 during its own boot (see bootJoin): one boot
// per node instead of a boot plus rabbitmqctl's stop_app/join_cluster/
// start_app cycle (each CLI call a fresh Erlang VM: seconds of CPU on 2
// cores). A restarted cluster boots all nodes at once. On docker nodes join
// with rabbitmqctl (docker.go).
//
// Every node also serves Prometheus metrics on its "metrics" port (the
// rabbitmq_prometheus plugin, which the official image enables too): the
// queue counters read depths there, because a passive declare over AMQP of
// a queue nobody has declared yet makes the broker log an error each time.
package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/probe"
)

// Kind is the service kind; nodes are rabbitmq-1..rabbitmq-N.
const Kind = "rabbitmq"

// NodeName is the service id of node i (1-based).
func NodeName(i int) string { return fmt.Sprintf("rabbitmq-%d", i) }

// erlNode is the Erlang node name of node i: on one host the nodes share
// "localhost" and differ by name; in Docker each container's hostname is its
// service name (and network alias), as RabbitMQ's image expects.
func erlNode(e *stack.Runtime, i int) string {
	if e.Backend == "docker" {
		return "rabbit@" + NodeName(i)
	}
	return fmt.Sprintf("rabbit%d@localhost", i)
}

// Debian's /usr/sbin wrappers switch to the rabbitmq user and refuse anyone
// else; the scripts behind them run as whoever calls them.
const (
	serverBin = "/usr/lib/rabbitmq/bin/rabbitmq-server"
	ctlBin    = "/usr/lib/rabbitmq/bin/rabbitmqctl"
)

// explain is the cluster's part in the platform for a new hire.
const explain = "The Celery broker, a cluster of nodes: async jobs, delayed jobs and the cache→database " +
	"write-behind flushes. Redis as a broker was unstable under Mossi's load. Stop one node: HAProxy " +
	"moves its sessions to the others and the queues stay available."

// Nodes describes an n-node cluster.
func Nodes(n int) []stack.Service { return nodes(n, true) }

// HandJoined describes the same nodes run the straightforward way, the
// baseline `bench up` measures against: the stock server script (its own VM
// flags and plugins directory), no cluster config, and nodes 2..N joined
// once node 1 answers with rabbitmqctl stop_app, join_cluster, start_app.
func HandJoined(n int) []stack.Service { return nodes(n, false) }

// tuned: the cluster forms at boot, and the VM and code path are sized for
// a development machine (vmEnv, run1).
func nodes(n int, tuned bool) []stack.Service {
	out := make([]stack.Service, n)
	for i := 1; i <= n; i++ {
		name := NodeName(i)
		ports := []string{"main", "dist", "metrics"}
		if i == 1 {
			ports = append(ports, "epmd") // one epmd per stack, owned by node 1
		}
		role := fmt.Sprintf("Celery broker, cluster node %d of %d (apps reach the cluster through HAProxy)", i, n)
		i := i
		out[i-1] = stack.Service{
			Name: name, Kind: Kind, Role: role, Ports: ports,
			Shared: []string{"epmd"}, // one per stack, registered with by every node
			StartAfter: func(e *stack.Runtime) []string {
				if tuned && i > 1 && fresh(e, i) {
					return []string{NodeName(1)}
				}
				return nil
			},
			Native: func(e *stack.Runtime) (stack.NativeSpec, error) { return native(e, i, tuned) },
			Docker: func(e *stack.Runtime) (stack.DockerSpec, error) { return docker(e, i, tuned) },
			Probe: func(e *stack.Runtime) probe.Probe {
				return probe.AMQP(NodeURL(e, i))
			},
			Setup: func(ctx context.Context, e *stack.Runtime, wait func(string) error) error {
				if i == 1 {
					return nil
				}
				if err := wait(NodeName(1)); err != nil {
					return err
				}
				if tuned && joined(ctx, e, i) {
					return nil
				}
				return join(ctx, e, i)
			},
			URL:      func(e *stack.Runtime) string { return NodeURL(e, i) },
			Counters: nodeCounters(i),
			Explain:  explain,
		}
	}
	return out
}

// NodeURL reaches node i directly (debugging; apps use HAProxy's URL).
func NodeURL(e *stack.Runtime, i int) string {
	return fmt.Sprintf("amqp://%s:%s@%s/", e.Secrets.AppUser, e.Secrets.RabbitPassword, e.Addr(NodeName(i), "main"))
}

// Config renders rabbitmq.conf: AMQP on listen, the Prometheus endpoint
// (queue depths for the counters) on metrics.
func Config(e *stack.Runtime, listen, metrics string) string {
	host, port, _ := strings.Cut(metrics, ":")
	return fmt.Sprintf(`# generated by mossdev for stack %s
listeners.tcp.default = %s
prometheus.tcp.ip = %s
prometheus.tcp.port = %s
loopback_users = none
default_user = %s
default_pass = %s
default_vhost = /
cluster_name = mossi-%s
log.console = true
log.console.level = warning
log.file = false
`, e.Stack, listen, host, port, e.Secrets.AppUser, e.Secrets.RabbitPassword, e.Stack)
}

// bootJoin is node i's peer discovery config on native: nodes 2..N list
// node 1 (and themselves, as classic_config's lock wants), so a fresh node
// joins node 1 as part of its own boot. Node 1 has none: it is always the
// seed. Listing every node on every node (as an exported compose project
// does) lets any node race to be the seed: each waits for a peer, gives up
// after the retries and starts alone, which was measured about twice as
// slow as joining by hand. A fresh node starts only once node 1 answers
// (StartAfter): booted alongside it, a node can join while node 1 is still
// enabling its feature flags and then stop on a schema mismatch (seen 1 run
// in ~8). Should a node give up anyway, setup joins it by hand.
func bootJoin(e *stack.Runtime, i int) string {
	if i == 1 {
		return ""
	}
	return fmt.Sprintf(`cluster_formation.peer_discovery_backend = classic_config
cluster_formation.classic_config.nodes.1 = %s
cluster_formation.classic_config.nodes.2 = %s
cluster_formation.discovery_retry_limit = %d
cluster_formation.discovery_retry_interval = %d
`, erlNode(e, 1), erlNode(e, i), joinRetries, joinInterval.Milliseconds())
}

// The boot join waits up to joinRetries×joinInterval (2 min) for node 1.
const (
	joinRetries  = 600
	joinInterval = 200 * time.Millisecond
)

// vmEnv sizes every node's Erlang VM for a development machine, on both
// backends (the official image's scripts read the same variables). The
// script's own flags already turn scheduler busy-waiting off (+sbwt none,
// +sbwtdcpu none, +sbwtdio none). One scheduler: the nodes of a stack
// share the machine's cores (three nodes on two cores had six schedulers
// competing), and each scheduler carries its own allocator instances; a
// process table for 256 Ki processes instead of 1 Mi and an atom table for
// 1 Mi atoms instead of 5 Mi, both far above what a development broker
// uses (a node boots with ~350 processes and ~46 k atoms). Together about
// 15 MiB PSS less per node, measured; boot CPU unchanged.
var vmEnv = []string{
	"RABBITMQ_MAX_NUMBER_OF_PROCESSES=262144",
	"RABBITMQ_MAX_NUMBER_OF_ATOMS=1048576",
}

// vmArgs are the VM flags added after the script's own.
const vmArgs = "+S 1:1 +SDcpu 1:1"

// erlArgs are native's VM flags: vmArgs, and Erlang distribution kept on
// loopback.
const erlArgs = vmArgs + " -kernel inet_dist_use_interface {127,0,0,1}"

func nodeEnv(e *stack.Runtime, i int, tuned bool) []string {
	run := e.RunDir(NodeName(i))
	args, env := "-kernel inet_dist_use_interface {127,0,0,1}", []string(nil)
	if tuned {
		args, env = erlArgs, slices.Clone(vmEnv)
	}
	return append(env,
		"RABBITMQ_NODENAME="+erlNode(e, i),
		fmt.Sprintf("RABBITMQ_NODE_PORT=%d", e.Port(NodeName(i), "main")),
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		fmt.Sprintf("RABBITMQ_DIST_PORT=%d", e.Port(NodeName(i), "dist")),
		fmt.Sprintf("ERL_EPMD_PORT=%d", e.Port(NodeName(1), "epmd")),
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"RABBITMQ_MNESIA_BASE="+e.DataDir(NodeName(i)),
		"RABBITMQ_LOG_BASE="+filepath.Join(run, "log"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(run, "rabbitmq.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(run, "enabled_plugins"),
		"RABBITMQ_PID_FILE="+filepath.Join(run, "rabbitmq.pid"),
		// Keep Erlang distribution on loopback.
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+args,
		"RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
		"HOME="+run,
	)
}

func native(e *stack.Runtime, i int, tuned bool) (stack.NativeSpec, error) {
	run := e.RunDir(NodeName(i))
	conf := Config(e, e.Addr(NodeName(i), "main"), e.Addr(NodeName(i), "metrics"))
	cmd := stack.Command{Path: serverBin, Env: nodeEnv(e, i, false)}
	if tuned {
		conf += bootJoin(e, i)
		cmd = run1(filepath.Join(run, "plugins"), nodeEnv(e, i, true))
	}
	return stack.NativeSpec{
		Files: map[string]string{
			filepath.Join(run, "rabbitmq.conf"): conf,
			// The queue counters read the Prometheus endpoint, as on the
			// official image, which enables this plugin too.
			filepath.Join(run, "enabled_plugins"): "[" + plugin + "].\n",
			filepath.Join(run, ".erlang.cookie"):  e.Secrets.ErlangCookie,
		},
		Run: cmd,
	}, nil
}

// plugin is the one plugin every node enables: the queue counters read its
// Prometheus endpoint.
const plugin = "rabbitmq_prometheus"

// run1 is the server's command. Where the installed plugins can be read,
// the node gets a plugins directory of its own holding (as links) only the
// applications it loads: rabbit, its prelauncher, the enabled plugin and
// what they need, 27 of the 70 Debian installs. An Erlang VM in interactive
// mode searches every directory of its code path for each module it loads,
// and a node loads about a thousand at boot (finding its boot steps loads
// every module of every application): the short path was measured to cut a
// node's boot CPU by about a sixth. The links are remade at every start (a
// shell before the server, which execs it, keeping the pid), so a package
// upgrade never leaves a node pointing at removed versions. Only the server
// sees the directory: rabbitmqctl keeps the installed one.
func run1(dir string, env []string) stack.Command {
	apps, err := needed(pluginsOf(serverBin), "rabbit", "rabbitmq_prelaunch", plugin)
	if err != nil || len(apps) == 0 {
		return stack.Command{Path: serverBin, Env: env}
	}
	args := append([]string{"-c", `d="$1"; shift; rm -rf "$d" && mkdir -p "$d" && ln -s "$@" "$d"/ && RABBITMQ_PLUGINS_DIR="$d" exec ` + serverBin, "sh", dir}, apps...)
	return stack.Command{Path: "/bin/sh", Args: args, Env: env}
}

// pluginsOf is the plugins directory of the installation a server script
// belongs to (Debian links /usr/lib/rabbitmq/bin into the versioned tree).
func pluginsOf(bin string) string {
	real, err := filepath.EvalSymlinks(bin)
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(filepath.Dir(real)), "plugins")
}

// appDeps finds the applications an .app file names as needed.
var appDeps = regexp.MustCompile(`\{\s*(?:included_)?applications\s*,\s*\[([^\]]*)\]`)

// needed is the directories under plugins of roots and every application
// they need, read from the ebin/*.app files (applications and
// included_applications); applications not found there are OTP's own.
func needed(plugins string, roots ...string) ([]string, error) {
	ents, err := os.ReadDir(plugins)
	if err != nil {
		return nil, err
	}
	dirs, deps := map[string]string{}, map[string][]string{}
	for _, e := range ents {
		name, _, ok := strings.Cut(e.Name(), "-")
		if !ok || !e.IsDir() && e.Type()&os.ModeSymlink == 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(plugins, e.Name(), "ebin", name+".app"))
		if err != nil {
			continue
		}
		dirs[name] = filepath.Join(plugins, e.Name())
		for _, m := range appDeps.FindAllStringSubmatch(string(b), -1) {
			for _, d := range strings.Split(m[1], ",") {
				if d = strings.TrimSpace(d); d != "" {
					deps[name] = append(deps[name], d)
				}
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	var visit func(string)
	visit = func(a string) {
		if seen[a] || dirs[a] == "" {
			return
		}
		seen[a] = true
		out = append(out, dirs[a])
		for _, d := range deps[a] {
			visit(d)
		}
	}
	for _, r := range roots {
		if dirs[r] == "" {
			return nil, fmt.Errorf("application %s not found in %s", r, plugins)
		}
		visit(r)
	}
	sort.Strings(out)
	return out, nil
}

// Ctl runs rabbitmqctl against node i, where the
// node runs (a local process with the node's environment on native, docker
// exec in the node's container): one code path for both backends.
func Ctl(ctx context.Context, e *stack.Runtime, i int, args ...string) (string, error) {
	if e.Exec == nil {
		return "", fmt.Errorf("rabbitmqctl %s: the %s backend cannot run commands where a node runs", strings.Join(args, " "), e.Backend)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	bin := ctlBin
	if e.Backend == "docker" {
		bin = "rabbitmqctl" // on the image's PATH
	}
	// No --erlang-cookie: an argument is readable by every local user in
	// /proc, and the cookie lets its holder run code on the nodes. The
	// cookie file in the node's HOME (native, 0600, owned by the server
	// user) or the container's RABBITMQ_ERLANG_COOKIE (docker) is where
	// rabbitmqctl finds it.
	full := append([]string{bin, "-n", erlNode(e, i)}, args...)
	out, err := e.Exec(ctx, NodeName(i), full...)
	if err != nil {
		return out, fmt.Errorf("rabbitmqctl %s: %w: %s", strings.Join(args, " "), err, lastLine(out))
	}
	return out, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// fresh says whether node i has never booted on native: no node directory
// in its data directory yet. A restarted node says false: it starts
// alongside the others, which it may have to wait for (mnesia waits for the
// peer that stopped last). The docker backend cannot look into a volume
// before the container starts: there nodes boot together and join by hand.
func fresh(e *stack.Runtime, i int) bool {
	if e.Backend != "native" {
		return false
	}
	_, err := os.Stat(filepath.Join(e.DataDir(NodeName(i)), erlNode(e, i)))
	return errors.Is(err, os.ErrNotExist)
}

// joined says whether node i is already in node 1's cluster, from the
// cluster state the node keeps in its data directory (written when it
// joins). Reading that file costs nothing next to rabbitmqctl, which starts
// an Erlang VM per call.
func joined(ctx context.Context, e *stack.Runtime, i int) bool {
	if e.Exec == nil {
		return false
	}
	out, err := e.Exec(ctx, NodeName(i), "cat", clusterFile(e, i))
	return err == nil && strings.Contains(out, erlNode(e, 1))
}

// clusterFile is where node i records its cluster's members.
func clusterFile(e *stack.Runtime, i int) string {
	dir := e.DataDir(NodeName(i))
	if e.Backend == "docker" {
		dir = "/var/lib/rabbitmq/mnesia"
	}
	return filepath.Join(dir, erlNode(e, i), "cluster_nodes.config")
}

// join makes node i a member of node 1's cluster unless it already is (a
// restarted node rejoins by itself from its data dir).
func join(ctx context.Context, e *stack.Runtime, i int) error {
	out, err := Ctl(ctx, e, i, "cluster_status", "--formatter", "json")
	if err == nil && strings.Contains(out, erlNode(e, 1)) {
		return nil
	}
	for _, step := range [][]string{{"stop_app"}, {"join_cluster", erlNode(e, 1)}, {"start_app"}} {
		if _, err := Ctl(ctx, e, i, step...); err != nil {
			return fmt.Errorf("join %s to %s: %w", erlNode(e, i), erlNode(e, 1), err)
		}
	}
	return nil
}

// Members lists the running nodes of the cluster as node 1 sees them.
func Members(ctx context.Context, e *stack.Runtime) (string, error) {
	return Ctl(ctx, e, 1, "cluster_status", "--formatter", "json")
}

// QueueMembers lists the nodes holding replicas of a quorum queue.
func QueueMembers(ctx context.Context, e *stack.Runtime, queue string) ([]string, error) {
	out, err := Ctl(ctx, e, 1, "list_queues", "name", "members", "--formatter", "json", "--quiet")
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	if err := json.Unmarshal([]byte(jsonPart(out)), &rows); err != nil {
		return nil, fmt.Errorf("read list_queues: %w", err)
	}
	for _, r := range rows {
		if r.Name == queue {
			return r.Members, nil
		}
	}
	return nil, fmt.Errorf("queue %s not found", queue)
}

// jsonPart skips any banner rabbitmqctl prints before its JSON.
func jsonPart(s string) string {
	if i := strings.IndexAny(s, "[{"); i >= 0 {
		return s[i:]
	}
	return s
}
