package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/mossdev/mossdev/stack"
)

// Start creates and starts the service's container and returns once it
// runs; readiness is the probes' business, as on native. Whatever an earlier
// start left for the service (a stopped container, one half-created by a
// killed up) is removed first, so a start always runs the current config.
// The exited channel reports the container ending, with its exit code.
func (b *Backend) Start(ctx context.Context, svc stack.Service, env *stack.Runtime) (<-chan error, error) {
	if svc.Docker == nil {
		return nil, fmt.Errorf("service %s has no docker form", svc.Name)
	}
	spec, err := svc.Docker(env)
	if err != nil {
		return nil, err
	}
	if spec.Host {
		return b.host.Start(ctx, svc, env)
	}
	cli, err := b.engine(ctx)
	if err != nil {
		return nil, err
	}
	note, err := b.ensureImage(ctx, cli, svc, spec.Image)
	if err != nil {
		return nil, err
	}
	net, err := b.ensureNetwork(ctx, cli)
	if err != nil {
		return nil, err
	}
	if err := b.removeContainers(ctx, cli, svc.Name); err != nil {
		return nil, err
	}
	req := b.request(svc, spec, net, env)
	if note != "" {
		req.Labels[LabelStandIn] = note // what runs, for status after the env changed
	}
	gen := testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true, Logger: tclog.NewNoopLogger()}
	ctr, err := testcontainers.GenericContainer(ctx, gen)
	for try := 0; err != nil && strings.Contains(err.Error(), "is already in use") && try < 50; try++ {
		// A create sent by an up that was killed is still finishing: the
		// engine holds the name before the container shows in a listing.
		// Remove it by name once it exists, and create again.
		_, rmErr := cli.ContainerRemove(ctx, req.Name, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if rmErr != nil && !cerrdefs.IsNotFound(rmErr) && !cerrdefs.IsConflict(rmErr) {
			return nil, fmt.Errorf("remove leftover container %s: %w", req.Name, rmErr)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		ctr, err = testcontainers.GenericContainer(ctx, gen)
	}
	if err != nil {
		if msg := err.Error(); strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use") {
			b.discard(cli, ctr)
			return nil, &stack.Error{Op: "publish ports", Service: svc.Name, Err: stack.ErrPortInUse,
				Detail: "a host port of the service was taken between mossdev's check and Docker's bind: " + stack.FirstLine(msg),
				Fix:    fmt.Sprintf("stop what holds it, or choose another port with --port %s=PORT", svc.Name)}
		}
		if ctr != nil {
			// Created but not started: its log says why (a bad command, a
			// port taken between the check and the bind).
			tail := b.logTail(context.Background(), cli, ctr.GetContainerID(), 15)
			return nil, &stack.Error{Op: "start container", Service: svc.Name, Err: stack.ErrExited,
				Detail: stack.FirstLine(err.Error()), LogTail: tail,
				Fix: fmt.Sprintf("see `mossdev logs %s`; `mossdev down` removes what is left", svc.Name)}
		}
		return nil, fmt.Errorf("create container: %w", err)
	}
	id := ctr.GetContainerID()
	logDone := b.copyLogs(cli, id, svc.Name, spec.Image, env)
	exited := make(chan error, 1)
	go b.watch(cli, id, logDone, exited)
	return exited, nil
}

// discard removes a container that was created but could not start.
func (b *Backend) discard(cli *client.Client, ctr testcontainers.Container) {
	if ctr == nil {
		return
	}
	_, _ = cli.ContainerRemove(context.Background(), ctr.GetContainerID(), client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// request is the container as testcontainers-go creates it: labelled, on
// the stack's network under the service's name, ports on 127.0.0.1 only,
// data on the service's named volume, and no auto-removal or restart
// policy (mossdev decides what runs).
func (b *Backend) request(svc stack.Service, spec stack.DockerSpec, net string, env *stack.Runtime) testcontainers.ContainerRequest {
	var exposed []string
	bindings := network.PortMap{}
	for name, cport := range spec.Ports {
		p := network.MustParsePort(fmt.Sprintf("%d/tcp", cport))
		exposed = append(exposed, p.String())
		bindings[p] = []network.PortBinding{{HostIP: loopback, HostPort: fmt.Sprint(env.Port(svc.Name, name))}}
	}
	var files []testcontainers.ContainerFile
	for path, content := range spec.Files {
		files = append(files, testcontainers.ContainerFile{
			Reader: strings.NewReader(content), ContainerFilePath: path, FileMode: 0o644})
	}
	var mounts testcontainers.ContainerMounts
	if spec.DataPath != "" {
		mounts = append(mounts, testcontainers.ContainerMount{
			Source: testcontainers.DockerVolumeMountSource{Name: b.volumeName(svc.Name),
				VolumeOptions: &mount.VolumeOptions{Labels: b.labels(svc.Name)}},
			Target: testcontainers.ContainerMountTarget(spec.DataPath),
		})
	}
	stopSignal := ""
	if svc.StopSignal != "" {
		stopSignal = "SIG" + svc.StopSignal
	}
	grace := int(stack.Grace / time.Second)
	return testcontainers.ContainerRequest{
		Image:          spec.Image,
		Name:           b.containerName(svc.Name),
		Env:            spec.Env,
		Cmd:            spec.Cmd,
		Labels:         b.labels(svc.Name),
		ExposedPorts:   exposed,
		Networks:       []string{net},
		NetworkAliases: map[string][]string{net: {svc.Name}},
		Files:          files,
		Mounts:         mounts,
		ConfigModifier: func(c *container.Config) {
			c.Hostname = svc.Name // RabbitMQ's node name is rabbit@<hostname>
			c.User = spec.User
			if stopSignal != "" {
				c.StopSignal = stopSignal
			}
			c.StopTimeout = &grace
		},
		HostConfigModifier: func(h *container.HostConfig) {
			h.PortBindings = bindings
			h.AutoRemove = false
			h.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyDisabled}
		},
	}
}

// loopback is the only address ports are published on.
var loopback = netip.MustParseAddr("127.0.0.1")

// ensureImage makes the image present and returns its stand-in label.
// Up's pull phase (Pull) has normally done so; this covers a start on its
// own (`mossdev start`) after the image was removed. testcontainers-go
// would pull too, but with retries until the deadline and an error that
// names nothing; here a pull that fails says which image, why, and the
// fixes.
func (b *Backend) ensureImage(ctx context.Context, cli *client.Client, svc stack.Service, ref string) (string, error) {
	img, err := cli.ImageInspect(ctx, ref)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if err != nil {
		var n sofar
		if err := b.pull(ctx, cli, ref, n.set); err != nil {
			return "", pullError(ctx, ref, []stack.Service{svc}, &n, err)
		}
		if img, err = cli.ImageInspect(ctx, ref); err != nil {
			return "", fmt.Errorf("inspect image %s: %w", ref, err)
		}
	}
	if img.Config == nil {
		return "", nil
	}
	return img.Config.Labels[LabelStandIn], nil
}

// ImageEnvVar names the variable that overrides a kind's image
// (MOSSDEV_IMAGE_POSTGRES), as package images reads it.
func ImageEnvVar(kind string) string {
	return "MOSSDEV_IMAGE_" + strings.ToUpper(strings.ReplaceAll(kind, "-", "_"))
}

// ensureNetwork creates the stack's network unless it exists. Docker allows
// two networks of the same name, so creation is serialised here.
func (b *Backend) ensureNetwork(ctx context.Context, cli *client.Client) (string, error) {
	b.netMu.Lock()
	defer b.netMu.Unlock()
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: b.filter("")})
	if err != nil {
		return "", fmt.Errorf("list networks: %w", err)
	}
	for _, n := range nets.Items {
		if n.Name == b.network() {
			return n.Name, nil
		}
	}
	_, err = cli.NetworkCreate(ctx, b.network(), client.NetworkCreateOptions{Driver: "bridge", Labels: b.labels("")})
	if err != nil {
		return "", fmt.Errorf("create network %s: %w", b.network(), err)
	}
	return b.network(), nil
}

// copyLogs appends the container's output to the service's log file while
// this process lives, so a failed start shows its tail as on native; the
// channel closes when the container's output ends.
func (b *Backend) copyLogs(cli *client.Client, id, service, image string, env *stack.Runtime) <-chan struct{} {
	done := make(chan struct{})
	path := env.LogFile(service)
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		close(done)
		return done
	}
	fmt.Fprintf(f, "\n--- mossdev: started %s at %s (container %.12s, image %s) ---\n",
		service, time.Now().Format(time.RFC3339), id, image)
	go func() {
		defer close(done)
		defer f.Close()
		rc, err := cli.ContainerLogs(context.Background(), id, client.ContainerLogsOptions{
			ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			return
		}
		defer rc.Close()
		_, _ = stdcopy.StdCopy(f, f, rc)
	}()
	return done
}

// watch reports the container's exit on exited, after its last output
// reached the log file.
func (b *Backend) watch(cli *client.Client, id string, logDone <-chan struct{}, exited chan<- error) {
	w := cli.ContainerWait(context.Background(), id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	var code int64
	select {
	case r := <-w.Result:
		code = r.StatusCode
	case err := <-w.Error:
		if err != nil && !cerrdefs.IsNotFound(err) {
			return // lost the engine, not the container: report nothing
		}
	}
	select {
	case <-logDone:
	case <-time.After(2 * time.Second):
	}
	msg := fmt.Sprintf("container exited with code %d", code)
	if res, err := cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{}); err == nil &&
		res.Container.State != nil && res.Container.State.OOMKilled {
		msg += " (killed: out of memory)"
	}
	exited <- errors.New(msg)
}

// logTail returns the last n lines a container printed.
func (b *Backend) logTail(ctx context.Context, cli *client.Client, id string, n int) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(n)})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var buf bytes.Buffer
	_, _ = stdcopy.StdCopy(&buf, &buf, rc)
	lines, _ := stack.LastLines(&buf, n)
	return strings.Join(lines, "\n")
}
