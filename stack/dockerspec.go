package stack

// DockerSpec is a server run as a container by the docker backend.
//
// Inside the stack's private network services reach each other by service
// name and container port (pgbouncer → postgres:5432); the host reaches
// them on 127.0.0.1 at the ports in Runtime.Ports, so URLs, `mossdev env` and
// probes have the same shape on both backends.
type DockerSpec struct {
	// Image is the reference to run: the pinned default of package images,
	// or the MOSSDEV_IMAGE_<KIND> override (a mirror, a CI stand-in).
	Image string
	// Env is the container's environment.
	Env map[string]string
	// Cmd replaces the image's command; its entrypoint stays, so official
	// images still initialise their data directory.
	Cmd []string
	// Ports maps the service's named ports to container ports. Each is
	// published on 127.0.0.1 at the named port's host port; named ports
	// missing here (RabbitMQ's dist and epmd) are native-only.
	Ports map[string]int
	// Files are copied into the container before it starts (mode 0644:
	// servers run as their own users inside). Keys are container paths.
	Files map[string]string
	// DataPath is where the server keeps state; a named volume of the stack
	// is mounted there, so data survives `down --keep-data` and restarts.
	DataPath string
	// User overrides the image's user ("uid:gid"); empty keeps the image's.
	User string
	// Health is the check an exported compose file runs inside the
	// container, in compose's test form (["CMD", ...] or ["CMD-SHELL", "..."]).
	// mossdev itself never uses it: its probes speak the protocol from the
	// host, the same on both backends.
	Health []string
	// ComposeFiles are extra files for an exported compose project, which
	// cannot run mossdev's setup hooks: what setup does, as files the images
	// act on at boot (PostgreSQL's role and databases as an init script,
	// RabbitMQ's clustering as peer discovery config). Keys are container
	// paths. An entry at a path of Files replaces that file in the export,
	// and an empty one leaves it out: an export's files lie on the host,
	// readable by the containers' own users, so none may hold a secret
	// (Files copied into a container by the backend never touch the host).
	ComposeFiles map[string]string
	// ComposeEnv is environment added in an exported compose project: the
	// secrets its files leave out, for the servers, init scripts or
	// ComposeEntrypoint to read at start. The compose file (0600) is the
	// one place of an export that holds secrets.
	ComposeEnv map[string]string
	// ComposeEntrypoint, when set, replaces the image's entrypoint in an
	// exported compose project, with Cmd as its arguments: a shell wrapper
	// that writes a secret from ComposeEnv where a server needs it, then
	// execs the image's own entrypoint. Never a secret in it: argv is
	// readable by every user of the host through /proc.
	ComposeEntrypoint []string
	// Host runs the service as a host process through the native backend
	// instead of a container: mossdev's own fakes (S3, CDN), so nothing has
	// to be built or pulled for them.
	Host bool
}
