package supervisor

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sort"
	"sync"
	"syscall"
)

// ErrClosed is returned by Start once the group is closed: the runner is
// stopping and starts nothing new.
var ErrClosed = errors.New("supervisor: the runner is stopping; nothing more is started")

// Group keeps every child of a runner in one process group of their own,
// apart from the runner's, so that a terminal's Ctrl-C reaches only the
// runner (which stops them in order) while the runner can still signal all
// of them at once.
//
// Every child is started with the parent-death signal (Linux prctl
// PR_SET_PDEATHSIG) set to SIGKILL, so children end when the runner ends,
// however it ends (a crash, SIGKILL, the OOM killer). The kernel sends that
// signal when the thread that forked the child exits, not the process; Go
// ends an OS thread when a goroutine locked to it returns. A Group therefore
// forks every child from one goroutine locked to its own OS thread that
// never returns: the thread lives exactly as long as the runner.
type Group struct {
	starts chan startRequest

	mu      sync.Mutex
	pgid    int
	members map[int]string // pid → name
	closed  bool
}

type startRequest struct {
	cmd  *exec.Cmd
	name string
	err  chan error
}

// NewGroup returns an empty open group and starts its forking thread.
func NewGroup() *Group {
	g := &Group{starts: make(chan startRequest), members: map[int]string{}}
	go g.forkLoop()
	return g
}

// forkLoop serves start requests on a locked OS thread. It never returns:
// returning would end the thread and, with it, every child it forked.
func (g *Group) forkLoop() {
	runtime.LockOSThread()
	for req := range g.starts {
		req.err <- g.fork(req.cmd, req.name)
	}
	select {} // unreachable: starts is never closed
}

// fork starts cmd in the group; it runs on the forking thread.
func (g *Group) fork(cmd *exec.Cmd, name string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	// The first member founds the group; the others join it. The group
	// exists as long as one member is not yet reaped (see exited).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: g.pgid, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	if g.pgid == 0 {
		g.pgid = cmd.Process.Pid
	}
	g.members[cmd.Process.Pid] = name
	return nil
}

// Start starts cmd as a member of the group, under name in logs. It fails
// with ErrClosed once Close was called. The caller must call Exited with
// the pid once cmd.Wait has returned.
func (g *Group) Start(cmd *exec.Cmd, name string) error {
	req := startRequest{cmd: cmd, name: name, err: make(chan error, 1)}
	g.starts <- req
	return <-req.err
}

// Exited forgets a reaped member; after the last one the next Start founds
// a new process group.
func (g *Group) Exited(pid int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.members, pid)
	if len(g.members) == 0 {
		g.pgid = 0
	}
}

// Close makes every later Start fail with ErrClosed.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// Members lists the running members as "name (pid N)", sorted.
func (g *Group) Members() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.members))
	for pid, name := range g.members {
		out = append(out, fmt.Sprintf("%s (pid %d)", name, pid))
	}
	sort.Strings(out)
	return out
}

// Kill closes the group and sends SIGKILL to every member at once. It
// returns the members it killed.
func (g *Group) Kill() []string {
	g.Close()
	left := g.Members()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pgid != 0 {
		_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
	}
	return left
}

// PGID returns the process group's id, 0 while it has no member.
func (g *Group) PGID() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pgid
}
