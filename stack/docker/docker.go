// Package docker runs the platform's servers as containers of official
// images (or stand-ins for them, named so in every output), created and
// started with testcontainers-go; what testcontainers-go does not do —
// finding a stack's containers by label, stats, networks, volumes, exec,
// logs — goes through the Docker client it uses (github.com/moby/moby/client).
//
// One stack is one private Docker network (mossdev-<stack>-<id>) on which
// each container's alias and hostname are its service name; every host
// port is published on 127.0.0.1 only, at the ports the stack chose, so
// URLs are the same as on the native backend. Containers, the network and
// one named volume per service carry the labels org.mossdev.stack,
// org.mossdev.stack-dir and org.mossdev.service: Observe, Stop, Logs and
// Remove find everything by label, so they work after the mossdev that
// started the stack was killed, and nothing depends on testcontainers'
// reaper (Ryuk), which is turned off: it would kill a stack that must
// outlive the command, and its image cannot be pulled offline.
//
// mossdev's own fakes (the S3 bucket and the CDN) are not containers: they
// run on the host through the native backend, under this backend's
// lifecycle (see DockerSpec.Host), so nothing has to be built or pulled for
// them.
package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/mossdev/mossdev/stack"
	"github.com/mossdev/mossdev/stack/native"
)

// Labels on every container, network and volume of a stack.
const (
	LabelStack    = "org.mossdev.stack"     // the stack's name, for people
	LabelStackDir = "org.mossdev.stack-dir" // the stack's directory: its identity
	LabelService  = "org.mossdev.service"
	// LabelStandIn on an image says it is a stand-in for the official one
	// (CI's offline images); its text is shown as the service's stand-in note.
	LabelStandIn = "org.mossdev.stand-in"
)

// Backend is the docker backend of one stack.
type Backend struct {
	stack string
	dir   string
	id    string // mossdev-<stack>-<hash of dir>: network, container and volume prefix
	host  *native.Backend

	cliOnce sync.Once
	cli     *client.Client
	cliErr  error

	netMu sync.Mutex // one network per stack: create it once

	pullMu sync.Mutex
	pulls  map[string]*pull

	statMu sync.Mutex
	stats  map[string]*usageStream // per running container, for CPU and memory
}

var (
	_ stack.Backend = (*Backend)(nil)
	_ stack.Execer  = (*Backend)(nil)
)

// New returns the docker backend for the stack in dir. Nothing is contacted
// until the first call that needs the engine.
func New(stackName, dir string) *Backend {
	configure()
	sum := sha256.Sum256([]byte(dir))
	return &Backend{
		stack: stackName, dir: dir,
		id:    fmt.Sprintf("mossdev-%s-%s", stackName, hex.EncodeToString(sum[:3])),
		host:  native.New(stackName, dir),
		pulls: map[string]*pull{},
		stats: map[string]*usageStream{},
	}
}

func (b *Backend) Name() string { return "docker" }

var configureOnce sync.Once

// configure sets testcontainers-go up before its first use (it reads its
// configuration once per process): no reaper, since the stack must outlive
// the command and mossdev cleans up by its own labels; and no chatter on
// stderr, which belongs to mossdev's own progress output.
//
// The host where published ports are reached is 127.0.0.1, since every
// port is published on 127.0.0.1 only. Left alone, testcontainers would
// dial the default gateway on CI machines, where /.dockerenv makes it
// believe it runs in a container, and "localhost" elsewhere, which macOS
// may resolve to ::1 first. 127.0.0.1 is right for every engine on this
// machine: Linux's, and Docker Desktop, Colima and OrbStack on a Mac, which
// forward a port published on the VM's 127.0.0.1 to the Mac's. An engine on
// another machine cannot work with loopback-only ports; newClient refuses
// it. A TESTCONTAINERS_HOST_OVERRIDE set by the user wins.
//
// The MySQL driver's logger is silenced for the same reason: Docker's port
// proxy accepts connections before MariaDB listens and then closes them, and
// the driver logs every such EOF, which the probe already reports as its
// error.
func configure() {
	configureOnce.Do(func() {
		_ = mysql.SetLogger(log.New(io.Discard, "", 0))
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
			_ = os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
		}
		tclog.SetDefault(tclog.NewNoopLogger())
	})
}

// client returns the Docker client, created on first use (see newClient).
func (b *Backend) client() (*client.Client, error) {
	b.cliOnce.Do(func() {
		b.cli, b.cliErr = newClient(context.Background())
	})
	return b.cli, b.cliErr
}

// engineHost caches the engine endpoint testcontainers resolves: resolving
// pings the engine, and clients are made per call in places.
var engineHost struct {
	sync.Mutex
	host string
}

// newClient returns a client of the engine testcontainers-go starts the
// containers on, so the containers mossdev then lists, stops and removes by
// label are on the same engine. testcontainers resolves DOCKER_HOST, then
// the docker CLI's current context (where Colima and OrbStack put their
// sockets, under the home directory), then the default socket; the Docker
// client alone reads DOCKER_HOST only and would miss a Colima engine.
// Environment TLS settings (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) still
// apply.
func newClient(ctx context.Context) (*client.Client, error) {
	configure()
	host, err := resolveHost(ctx)
	if err != nil {
		return nil, err
	}
	if err := local(host); err != nil {
		return nil, err
	}
	return client.New(client.FromEnv, client.WithHost(host))
}

func resolveHost(ctx context.Context) (string, error) {
	// DOCKER_HOST comes first for testcontainers too (after a tc.host in
	// ~/.testcontainers.properties, which mossdev does not expect); read
	// it each time rather than cache it, as the docker CLI does.
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h, nil
	}
	engineHost.Lock()
	defer engineHost.Unlock()
	if engineHost.host == "" {
		tc, err := testcontainers.NewDockerClientWithOpts(ctx)
		if err != nil {
			return "", fmt.Errorf("find docker engine: %w", err)
		}
		engineHost.host = tc.DaemonHost()
		_ = tc.Close()
	}
	return engineHost.host, nil
}

// Endpoint is the engine mossdev uses (unix:///var/run/docker.sock, a
// Colima or OrbStack socket, ...) and its version, or why none answers.
func Endpoint(ctx context.Context) (host, version string, err error) {
	cli, err := newClient(ctx)
	if err != nil {
		return "", "", unreachable(err)
	}
	defer cli.Close()
	v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return cli.DaemonHost(), "", unreachable(err)
	}
	return cli.DaemonHost(), v.Version, nil
}

// local refuses an engine on another machine: mossdev publishes every port
// on this machine's 127.0.0.1 (see configure). A unix socket or named pipe
// is local, whatever VM runs the engine behind it (Docker Desktop, Colima,
// OrbStack); so is TCP to a loopback address.
func local(host string) error {
	u, err := url.Parse(host)
	if err == nil {
		switch u.Scheme {
		case "unix", "npipe":
			return nil
		case "tcp", "http", "https":
			h := u.Hostname()
			if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
				return nil
			}
		}
	}
	return &stack.Error{Op: "reach docker engine", Err: stack.ErrBadInput,
		Detail: fmt.Sprintf("the engine at %s is not on this machine, and mossdev publishes every port on 127.0.0.1 only", host),
		Fix:    "use a local engine: unset DOCKER_HOST or pick a local `docker context use` (Docker Desktop, Colima, OrbStack)"}
}

// unreachable is the user-facing error when no engine answers; errors
// that are already user-facing pass through.
func unreachable(err error) error {
	var se *stack.Error
	if errors.As(err, &se) {
		return err
	}
	detail, _, _ := strings.Cut(err.Error(), "\n") // the first line says what failed
	return &stack.Error{Op: "reach docker engine", Err: stack.ErrBinaryMissing, Detail: detail,
		Fix: "start Docker (on a Mac: Docker Desktop, `colima start` or OrbStack; or set DOCKER_HOST), or on Linux use --backend native"}
}

// engine returns the client after checking the engine answers, with a
// user-facing error when it does not.
func (b *Backend) engine(ctx context.Context) (*client.Client, error) {
	cli, err := b.client()
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err = cli.Ping(pctx, client.PingOptions{})
	}
	if err != nil {
		return nil, unreachable(err)
	}
	return cli, nil
}

// labels of a resource of this stack; service may be empty (the network).
func (b *Backend) labels(service string) map[string]string {
	l := map[string]string{LabelStack: b.stack, LabelStackDir: b.dir}
	if service != "" {
		l[LabelService] = service
	}
	return l
}

// filter selects this stack's resources, or one service's.
func (b *Backend) filter(service string) client.Filters {
	f := make(client.Filters).Add("label", LabelStackDir+"="+b.dir)
	if service != "" {
		f.Add("label", LabelService+"="+service)
	}
	return f
}

func (b *Backend) network() string               { return b.id }
func (b *Backend) containerName(s string) string { return b.id + "-" + s }
func (b *Backend) volumeName(s string) string    { return b.id + "-" + s }

// Engine is what doctor's preflight needs to know about the engine.
type Engine struct {
	Host     string
	Version  string
	MemTotal int64  // bytes the engine's containers can use (Docker Desktop: its VM's)
	RootDir  string // where images and volumes live, on the engine's machine
	OS       string // the engine's OS ("Docker Desktop", "Ubuntu 24.04", ...)
}

// EngineInfo asks the engine mossdev would use for its resources.
func EngineInfo(ctx context.Context) (Engine, error) {
	cli, err := newClient(ctx)
	if err != nil {
		return Engine{}, unreachable(err)
	}
	defer cli.Close()
	res, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return Engine{Host: cli.DaemonHost()}, unreachable(err)
	}
	i := res.Info
	return Engine{Host: cli.DaemonHost(), Version: i.ServerVersion, MemTotal: i.MemTotal,
		RootDir: i.DockerRootDir, OS: i.OperatingSystem}, nil
}
