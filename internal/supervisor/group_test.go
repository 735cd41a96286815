package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Modes the test binary runs in as a child (SUPERVISOR_TEST_MODE).
const (
	modeSleep      = "sleep"       // wait for SIGTERM
	modeIgnoreTerm = "ignore-term" // ignore SIGTERM
	modeRunner     = "runner"      // a runner with one child in a Group
)

// runMode runs the test binary as one of the children above and reports
// whether it did.
func runMode() bool {
	switch os.Getenv("SUPERVISOR_TEST_MODE") {
	case modeSleep:
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		fmt.Println("ready")
		<-sig
		os.Exit(0)
	case modeIgnoreTerm:
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		select {}
	case modeRunner:
		runRunner()
	default:
		return false
	}
	return true
}

// runRunner starts one child in a Group from a goroutine locked to its OS
// thread, waits until that goroutine's thread has ended (which is when a
// parent-death signal tied to it would be sent) and a little longer, then
// prints the child's pid, or "dead" when the child did not survive, and
// waits to be killed.
func runRunner() {
	// Keep the main thread, which Go never ends, for this goroutine.
	runtime.LockOSThread()
	g := NewGroup()
	type started struct {
		p   *Process
		tid int
	}
	ch := make(chan started)
	go func() {
		runtime.LockOSThread() // the thread ends with this goroutine
		ch <- started{startChild(g, modeSleep), syscall.Gettid()}
	}()
	s := <-ch
	if s.p == nil {
		os.Exit(3)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", s.tid)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			fmt.Println("thread did not end")
			os.Exit(5)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if !s.p.Running() {
		fmt.Println("dead")
		os.Exit(4)
	}
	fmt.Println("child", s.p.cmd.Process.Pid)
	select {}
}

func startChild(g *Group, mode string) *Process {
	return startChildTo(g, mode, io.Discard)
}

func startChildTo(g *Group, mode string, out io.Writer) *Process {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	p := New(Spec{Name: mode, Path: exe, Env: []string{"SUPERVISOR_TEST_MODE=" + mode}, Group: g},
		slog.New(slog.DiscardHandler), out)
	if err := p.Start(context.Background()); err != nil {
		return nil
	}
	return p
}

// alive reports whether pid is a live process (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive after %s", pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChildrenDieWithTheRunnerButNotWithAThread(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	runner := exec.Command(exe)
	runner.Env = append(os.Environ(), "SUPERVISOR_TEST_MODE="+modeRunner)
	out, err := runner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = runner.Process.Kill(); _ = runner.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("runner said nothing: %v", err)
	}
	if strings.TrimSpace(line) == "dead" {
		t.Fatal("the child died when the thread of the goroutine that started it ended")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "child ")))
	if err != nil {
		t.Fatalf("runner said %q", line)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	pgid, err := syscall.Getpgid(pid)
	if err != nil || pgid != pid {
		t.Fatalf("child pgid = %d (%v), want a group of its own led by %d", pgid, err, pid)
	}

	if err := runner.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = runner.Wait()
	waitGone(t, pid, 10*time.Second)
}

func TestGroupHoldsEveryChildAndRefusesStartsOnceClosed(t *testing.T) {
	g := NewGroup()
	a, b := startChild(g, modeSleep), startChild(g, modeIgnoreTerm)
	if a == nil || b == nil {
		t.Fatal("children did not start")
	}
	pa, pb := a.cmd.Process.Pid, b.cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(pa, syscall.SIGKILL); _ = syscall.Kill(pb, syscall.SIGKILL) })
	ga, _ := syscall.Getpgid(pa)
	gb, _ := syscall.Getpgid(pb)
	if ga != pa || gb != pa || g.PGID() != pa || ga == syscall.Getpgrp() {
		t.Fatalf("pgids %d and %d, group %d, test %d: want both in the first child's group", ga, gb, g.PGID(), syscall.Getpgrp())
	}
	if m := g.Members(); len(m) != 2 {
		t.Fatalf("members %v", m)
	}

	killed := g.Kill()
	if len(killed) != 2 {
		t.Fatalf("Kill reported %v", killed)
	}
	waitGone(t, pa, 10*time.Second)
	waitGone(t, pb, 10*time.Second)
	c := startChild(g, modeSleep)
	if c != nil {
		t.Fatal("a closed group started a child")
	}
	err := New(Spec{Name: "late", Path: "/bin/true", Group: g}, slog.New(slog.DiscardHandler), io.Discard).Start(context.Background())
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Start on a closed group: %v, want ErrClosed", err)
	}
}

func TestGroupFoundsANewProcessGroupAfterTheLastMemberLeft(t *testing.T) {
	g := NewGroup()
	first := startChild(g, modeSleep)
	if first == nil {
		t.Fatal("child did not start")
	}
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	if g.PGID() != 0 {
		t.Fatalf("group %d kept after its last member left", g.PGID())
	}
	second := startChild(g, modeSleep)
	if second == nil {
		t.Fatal("second child did not start")
	}
	defer second.Stop()
	pid := second.cmd.Process.Pid
	if pg, _ := syscall.Getpgid(pid); pg != pid || g.PGID() != pid {
		t.Fatalf("second child's pgid %d, group %d, want %d", pg, g.PGID(), pid)
	}
}

func TestStopContextKillsWhatIgnoresSIGTERM(t *testing.T) {
	ready := &readyWriter{seen: make(chan struct{})}
	p := startChildTo(NewGroup(), modeIgnoreTerm, ready)
	if p == nil {
		t.Fatal("child did not start")
	}
	<-ready.seen // SIGTERM is ignored from here on
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := p.StopContext(ctx); !errors.Is(err, ErrKilled) {
		t.Fatalf("StopContext = %v, want ErrKilled", err)
	}
	if p.Running() {
		t.Fatal("still running")
	}
}

// readyWriter closes seen once a line saying "ready" was written.
type readyWriter struct {
	once sync.Once
	seen chan struct{}
}

func (w *readyWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "ready") {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}
