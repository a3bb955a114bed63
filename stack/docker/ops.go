package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/mossdev/mossdev/stack"
)

// onHost reports whether the service runs on the host (mossdev's fakes).
// DockerSpec builders are pure, so an empty Env is enough to ask.
func onHost(svc stack.Service) bool {
	if svc.Docker == nil {
		return false
	}
	spec, err := svc.Docker(&stack.Runtime{Backend: "docker"})
	return err == nil && spec.Host
}

// containers lists the stack's containers (all states), or one service's,
// newest first.
func (b *Backend) containers(ctx context.Context, cli *client.Client, service string) ([]container.Summary, error) {
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: b.filter(service)})
	if err != nil {
		return nil, &stack.Error{Op: "list containers", Err: err,
			Fix: "is the docker engine running? (`docker info`); DOCKER_HOST selects another one"}
	}
	sort.Slice(res.Items, func(i, j int) bool { return res.Items[i].Created > res.Items[j].Created })
	return res.Items, nil
}

// Observe lists the stack's containers by label (so it works after the
// mossdev that started them is gone), adds the host-run fakes, and
// measures each running container's CPU and memory.
func (b *Backend) Observe(ctx context.Context) (map[string]stack.Observed, error) {
	out, err := b.host.Observe(ctx)
	if err != nil {
		return nil, err
	}
	cli, err := b.client()
	if err != nil {
		return nil, err
	}
	list, err := b.containers(ctx, cli, "")
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	seen := map[string]bool{}
	for _, c := range list {
		name := c.Labels[LabelService]
		if name == "" || seen[name] {
			continue // an older container of the same service: the newest counts
		}
		seen[name] = true
		wg.Add(1)
		go func(c container.Summary) {
			defer wg.Done()
			o := b.observe(ctx, cli, c)
			mu.Lock()
			out[name] = o
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	return out, nil
}

func (b *Backend) observe(ctx context.Context, cli *client.Client, c container.Summary) stack.Observed {
	o := stack.Observed{Name: c.Labels[LabelService], Running: c.State == container.StateRunning,
		StandIn: c.Labels[LabelStandIn]}
	res, err := cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err == nil && res.Container.State != nil {
		st := res.Container.State
		o.Running = st.Running && !st.Paused && !st.Restarting
		o.ExitCode = st.ExitCode
		if o.Running {
			o.PID = st.Pid // the server's pid on this host, as on native
			if t, err := time.Parse(time.RFC3339Nano, st.StartedAt); err == nil {
				o.Since = t
			}
		}
	}
	if o.Running {
		b.usage(ctx, cli, c.ID, &o)
	}
	return o
}

// usage fills the container's CPU and memory from its stats stream (docker
// stats), started at the first observation and kept open while the
// container runs, so the terminal UI's once-a-second observations cost
// nothing. The engine sends a sample a second; the first arrives at once
// unless another client already watches the container, so an observation
// waits for it at most usageWait and reports no usage otherwise (a
// non-streamed stats request always takes a second on Docker 20.10).
func (b *Backend) usage(ctx context.Context, cli *client.Client, id string, o *stack.Observed) {
	b.statMu.Lock()
	u, ok := b.stats[id]
	if !ok {
		u = &usageStream{ready: make(chan struct{})}
		b.stats[id] = u
		go b.streamUsage(cli, id, u)
	}
	b.statMu.Unlock()
	select {
	case <-u.ready:
	case <-time.After(usageWait):
	case <-ctx.Done():
	}
	b.statMu.Lock()
	o.CPUPercent, o.MemBytes = u.cpu, u.mem
	if u.mem > 0 {
		o.MemKind = stack.MemCgroup
	}
	b.statMu.Unlock()
}

const usageWait = 150 * time.Millisecond

// usageStream is the latest figures of one container's stats stream.
type usageStream struct {
	ready    chan struct{} // closed at the first sample
	cpu      float64
	mem      uint64
	lastCPU  uint64
	lastSys  uint64
	received bool
}

func (b *Backend) streamUsage(cli *client.Client, id string, u *usageStream) {
	defer func() {
		b.statMu.Lock()
		delete(b.stats, id)
		if !u.received {
			close(u.ready)
		}
		b.statMu.Unlock()
	}()
	res, err := cli.ContainerStats(context.Background(), id, client.ContainerStatsOptions{Stream: true})
	if err != nil {
		return
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var s container.StatsResponse
		if err := dec.Decode(&s); err != nil {
			return // the container stopped, or the engine went away
		}
		if s.Read.IsZero() {
			return // a stopped container's stream sends empty samples
		}
		mem := s.MemoryStats.Usage
		// What `docker stats` shows: the page cache the kernel can drop is
		// not the server's memory.
		for _, k := range []string{"inactive_file", "total_inactive_file"} {
			if v, ok := s.MemoryStats.Stats[k]; ok && v < mem {
				mem -= v
				break
			}
		}
		cpus := float64(s.CPUStats.OnlineCPUs)
		if cpus == 0 {
			cpus = float64(len(s.CPUStats.CPUUsage.PercpuUsage))
		}
		total, sys := s.CPUStats.CPUUsage.TotalUsage, s.CPUStats.SystemUsage
		b.statMu.Lock()
		u.mem = mem
		if u.received && sys > u.lastSys && total >= u.lastCPU {
			u.cpu = float64(total-u.lastCPU) / float64(sys-u.lastSys) * cpus * 100
		}
		u.lastCPU, u.lastSys = total, sys
		if !u.received {
			u.received = true
			close(u.ready)
		}
		b.statMu.Unlock()
	}
}

// Stop stops the service's container (its stop signal, then SIGKILL after
// stack.Grace); the container stays, stopped, until the next start or down.
func (b *Backend) Stop(ctx context.Context, svc stack.Service) error {
	if onHost(svc) {
		return b.host.Stop(ctx, svc)
	}
	cli, err := b.client()
	if err != nil {
		return err
	}
	list, err := b.containers(ctx, cli, svc.Name)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range list {
		if c.State != container.StateRunning && c.State != container.StateRestarting && c.State != container.StatePaused {
			continue
		}
		if _, err := cli.ContainerStop(ctx, c.ID, client.ContainerStopOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("stop container %.12s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// removeContainers force-removes a service's containers and their
// anonymous volumes (image VOLUMEs not covered by the named data volume).
func (b *Backend) removeContainers(ctx context.Context, cli *client.Client, service string) error {
	list, err := b.containers(ctx, cli, service)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range list {
		_, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %.12s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Remove deletes everything labelled with the stack: containers (stopped
// gracefully first when data is kept, so it is consistent), the network,
// the volumes unless keepData, and the host-run fakes. It needs nothing but
// the labels, so it cleans up after an up that was killed at any point.
// The sweep repeats until it finds nothing: the engine finishes a create
// that a killed mossdev had sent, so a container can appear after the
// first listing and hold the network or a volume.
func (b *Backend) Remove(ctx context.Context, keepData bool) error {
	var errs []error
	if err := b.host.Remove(ctx, keepData); err != nil {
		errs = append(errs, err)
	}
	cli, err := b.engine(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if keepData {
		b.stopAll(ctx, cli)
	}
	var last []error
	for round := 0; round < 20; round++ {
		var found int
		found, last = b.sweep(ctx, cli, keepData)
		if found == 0 && len(last) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return errors.Join(append(append(errs, last...), ctx.Err())...)
		case <-time.After(250 * time.Millisecond):
		}
	}
	return errors.Join(append(errs, last...)...)
}

// stopAll stops the stack's running containers concurrently.
func (b *Backend) stopAll(ctx context.Context, cli *client.Client) {
	list, err := b.containers(ctx, cli, "")
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, c := range list {
		if c.State == container.StateRunning {
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				_, _ = cli.ContainerStop(ctx, id, client.ContainerStopOptions{})
			}(c.ID)
		}
	}
	wg.Wait()
}

// sweep removes what is labelled with the stack once and says how many
// resources it found and what failed.
func (b *Backend) sweep(ctx context.Context, cli *client.Client, keepData bool) (int, []error) {
	var errs []error
	found := 0
	list, err := b.containers(ctx, cli, "")
	if err != nil {
		return 0, []error{err}
	}
	found += len(list)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range list {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("remove container %.12s: %w", id, err))
				mu.Unlock()
			}
		}(c.ID)
	}
	wg.Wait()
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: b.filter("")})
	if err != nil {
		errs = append(errs, fmt.Errorf("list networks: %w", err))
	}
	found += len(nets.Items)
	for _, n := range nets.Items {
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	if !keepData {
		vols, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: b.filter("")})
		if err != nil {
			errs = append(errs, fmt.Errorf("list volumes: %w", err))
		}
		found += len(vols.Items)
		for _, v := range vols.Items {
			if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			}
		}
	}
	return found, errs
}

// Logs streams the service's container output (stdout and stderr, in the
// order Docker recorded them); the host-run fakes log to files as on native.
func (b *Backend) Logs(ctx context.Context, service string, follow bool) (io.ReadCloser, error) {
	cli, err := b.client()
	if err != nil {
		return nil, err
	}
	list, err := b.containers(ctx, cli, service)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return b.host.Logs(ctx, service, follow)
	}
	ctx, cancel := context.WithCancel(ctx)
	rc, err := cli.ContainerLogs(ctx, list[0].ID, client.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: follow})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("read logs of %s: %w", service, err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, rc)
		rc.Close()
		if ctx.Err() != nil {
			err = nil // the reader was closed or ctx ended: a normal end
		}
		pw.CloseWithError(err)
	}()
	return &logReader{PipeReader: pr, cancel: cancel}, nil
}

type logReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (r *logReader) Close() error {
	r.cancel()
	return r.PipeReader.Close()
}

// Exec runs a program in the service's running container (docker exec, as
// the image's user) and returns its combined output; a non-zero exit is an
// error. For host-run services it runs on the host, as on native.
func (b *Backend) Exec(ctx context.Context, svc stack.Service, env *stack.Runtime, args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("exec: no program given")
	}
	if onHost(svc) {
		return b.host.Exec(ctx, svc, env, args...)
	}
	cli, err := b.client()
	if err != nil {
		return "", err
	}
	list, err := b.containers(ctx, cli, svc.Name)
	if err != nil {
		return "", err
	}
	if len(list) == 0 || list[0].State != container.StateRunning {
		return "", fmt.Errorf("exec in %s: its container is not running", svc.Name)
	}
	id := list[0].ID
	ex, err := cli.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: args, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", fmt.Errorf("exec in %s: %w", svc.Name, err)
	}
	att, err := cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return "", fmt.Errorf("exec in %s: %w", svc.Name, err)
	}
	var buf bytes.Buffer
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&buf, &buf, att.Reader)
		copied <- err
	}()
	select {
	case err = <-copied:
	case <-ctx.Done():
		att.Close()
		<-copied
		return buf.String(), ctx.Err()
	}
	att.Close()
	if err != nil {
		return buf.String(), fmt.Errorf("exec in %s: read output: %w", svc.Name, err)
	}
	res, err := cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return buf.String(), fmt.Errorf("exec in %s: %w", svc.Name, err)
	}
	if res.ExitCode != 0 {
		return buf.String(), fmt.Errorf("%s exited with code %d", args[0], res.ExitCode)
	}
	return buf.String(), nil
}
