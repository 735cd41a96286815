// Package supervisor runs the local pipeline's functions as child processes,
// the way a cluster runs them as pods: each one is started with its own
// environment, watched for readiness over HTTP, restarted with backoff when
// it dies, and stopped with SIGTERM (then SIGKILL after a grace period or
// when the caller's deadline passes). The processes of one runner share a
// Group: one process group, and a parent-death signal that ends them with
// the runner.
package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Spec describes one child process.
type Spec struct {
	// Name labels the process in logs.
	Name string
	// Path and Args are the program and its arguments (Args excludes the program name).
	Path string
	Args []string
	// Env is added to the runner's own environment.
	Env []string
	// Dir is the working directory; empty means the runner's.
	Dir string
	// ReadyURL is polled until it answers 200 to tell when the process is ready.
	ReadyURL string
	// Restart restarts the process with backoff when it exits on its own.
	Restart bool
	// StopGrace is how long Stop gives SIGTERM before SIGKILL (default 10 s).
	StopGrace time.Duration
	// Group is the process group the process joins; nil gives it a group
	// of its own.
	Group *Group
	// HealthyAfter is how long a process must run before a crash counts
	// as a new one: its restart backoff then starts again from the shortest
	// delay (default 1 min).
	HealthyAfter time.Duration
	// Now is the clock the restart backoff reads (default time.Now).
	Now func() time.Time
}

// Restart delays: the first restart waits minRestartDelay, each crash in a
// row doubles it up to maxRestartDelay.
const (
	minRestartDelay = 500 * time.Millisecond
	maxRestartDelay = 30 * time.Second
)

// backoff is the delay before each restart of a crashing process. It
// doubles with every crash in a row and starts again from its minimum once
// the process has run for healthy without crashing, so that a function
// that crashed a few times long ago restarts at once when it crashes again.
type backoff struct {
	min, max, healthy time.Duration
	now               func() time.Time
	delay             time.Duration
	startedAt         time.Time
}

func newBackoff(min, max, healthy time.Duration, now func() time.Time) *backoff {
	return &backoff{min: min, max: max, healthy: healthy, now: now, delay: min, startedAt: now()}
}

// started records that the process (re)started now.
func (b *backoff) started() { b.startedAt = b.now() }

// next returns the delay before restarting the process that just exited.
func (b *backoff) next() time.Duration {
	if b.now().Sub(b.startedAt) >= b.healthy {
		b.delay = b.min
	}
	d := b.delay
	b.delay = min(b.delay*2, b.max)
	return d
}

// Process is one supervised child process.
type Process struct {
	spec   Spec
	log    *slog.Logger
	out    io.Writer
	client *http.Client

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	stopping bool
	starts   int
}

// New returns a Process for spec whose output lines are copied to out,
// each prefixed with the process name.
func New(spec Spec, log *slog.Logger, out io.Writer) *Process {
	if spec.StopGrace == 0 {
		spec.StopGrace = 10 * time.Second
	}
	if spec.Group == nil {
		spec.Group = NewGroup()
	}
	if spec.HealthyAfter == 0 {
		spec.HealthyAfter = time.Minute
	}
	if spec.Now == nil {
		spec.Now = time.Now
	}
	return &Process{spec: spec, log: log.With("process", spec.Name), out: out,
		client: &http.Client{Timeout: 2 * time.Second}}
}

// Name returns the process name.
func (p *Process) Name() string { return p.spec.Name }

// Starts returns how many times the process has been started.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Start starts the process. When Spec.Restart is set, a watcher restarts it
// with exponential backoff (up to 30 s, from 0.5 s again once the process
// ran for Spec.HealthyAfter) until Stop is called or ctx ends.
// Once the group is closed it fails with ErrClosed.
func (p *Process) Start(ctx context.Context) error {
	p.mu.Lock()
	p.stopping = false
	p.mu.Unlock()
	if err := p.startOnce(false); err != nil {
		return err
	}
	go p.watch(ctx)
	return nil
}

// startOnce starts the program once. A restart that races with Stop is
// killed at once rather than left running.
func (p *Process) startOnce(restart bool) error {
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = append(os.Environ(), p.spec.Env...)
	cmd.Dir = p.spec.Dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := p.spec.Group.Start(cmd, p.spec.Name); err != nil {
		_ = stdout.Close()
		return fmt.Errorf("start %s: %w", p.spec.Name, err)
	}
	exited := make(chan struct{})
	go p.copyLines(stdout)
	go func() {
		err := cmd.Wait()
		p.spec.Group.Exited(cmd.Process.Pid)
		p.log.Debug("process exited", "err", err)
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.starts++
	stopping := p.stopping
	p.mu.Unlock()
	if restart && stopping {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		return fmt.Errorf("start %s: %w", p.spec.Name, ErrClosed)
	}
	p.log.Info("process started", "pid", cmd.Process.Pid)
	return nil
}

func (p *Process) copyLines(r io.Reader) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		fmt.Fprintf(p.out, "%-13s| %s\n", p.spec.Name, s.Bytes())
	}
}

func (p *Process) watch(ctx context.Context) {
	b := newBackoff(minRestartDelay, maxRestartDelay, p.spec.HealthyAfter, p.spec.Now)
	for {
		p.mu.Lock()
		exited := p.exited
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-exited:
		}
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if stopping || !p.spec.Restart {
			return
		}
		delay := b.next()
		p.log.Warn("process died; restarting", "after", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		b.started()
		if err := p.startOnce(true); err != nil {
			if errors.Is(err, ErrClosed) {
				return
			}
			p.log.Error("restart failed", "err", err)
		}
	}
}

// WaitReady polls the readiness URL until it answers 200, the process exits
// or ctx ends.
func (p *Process) WaitReady(ctx context.Context) error {
	if p.spec.ReadyURL == "" {
		return nil
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.ready(ctx) {
			return nil
		}
		p.mu.Lock()
		exited := p.exited
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", p.spec.Name, ctx.Err())
		case <-exited:
			if !p.spec.Restart {
				return fmt.Errorf("%s exited before it was ready", p.spec.Name)
			}
		case <-tick.C:
		}
	}
}

func (p *Process) ready(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.spec.ReadyURL, nil)
	if err != nil {
		return false
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Kill stops the process at once with SIGKILL, as a crash would; a
// restarting process comes back after its backoff.
func (p *Process) Kill() error {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return errors.New("not started")
	}
	return cmd.Process.Signal(syscall.SIGKILL)
}

// Stop sends SIGTERM to the process, waits up to the grace period and then
// kills it.
func (p *Process) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), p.spec.StopGrace)
	defer cancel()
	return p.StopContext(ctx)
}

// ErrKilled is returned by StopContext when the process had to be killed.
var ErrKilled = errors.New("supervisor: process did not stop in time and was killed")

// StopContext sends SIGTERM to the process and waits for it to exit; when
// ctx ends first it kills the process with SIGKILL and returns ErrKilled.
// A stopped process is not restarted.
func (p *Process) StopContext(ctx context.Context) error {
	p.mu.Lock()
	p.stopping = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		p.log.Warn("process did not stop in time; killing", "pid", cmd.Process.Pid)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		return ErrKilled
	}
}

// PID returns the process id of the latest start, 0 before the first.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process is currently running.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}
