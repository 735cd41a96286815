package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/edgewatch/edgewatch/internal/portholder"
)

// TestMain lets the test binary stand in for an edgewatch process of an
// earlier run that still holds a port (EDGEWATCH_TEST_HOLD=port).
func TestMain(m *testing.M) {
	if port := os.Getenv("EDGEWATCH_TEST_HOLD"); port != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			fmt.Println("listen:", err)
			os.Exit(3)
		}
		defer ln.Close()
		fmt.Println("holding")
		select {}
	}
	os.Exit(m.Run())
}

// holdPort starts a process that calls itself `edgewatch args...` and holds
// a free port; it returns the port and the process.
func holdPort(t *testing.T, args ...string) (int, *exec.Cmd) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Args = append([]string{"edgewatch"}, args...)
	cmd.Env = append(os.Environ(), "EDGEWATCH_TEST_HOLD="+strconv.Itoa(port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "holding\n" {
		t.Fatalf("holder said %q, %v", line, err)
	}
	return port, cmd
}

func TestATakenPortNamesTheEarlierRunAndHowToStopIt(t *testing.T) {
	proc := portholder.Proc{Root: "/proc"}
	for _, c := range []struct {
		args []string
		want func(pid int) string
	}{
		{[]string{"up", "-broker-port", "8080"}, func(pid int) string {
			return fmt.Sprintf("edgewatch process %d (edgewatch up -broker-port 8080) from an earlier run still holds it; stop it with `kill %d`", pid, pid)
		}},
		// Its parent is this test, not a runner: the runner is gone.
		{[]string{"function", "alert"}, func(pid int) string {
			return fmt.Sprintf("edgewatch process %d (edgewatch function alert) from an earlier run still holds it; its runner is gone: stop the run's functions with `kill -- -%d`", pid, syscallGetpgid(t, pid))
		}},
	} {
		port, cmd := holdPort(t, c.args...)
		err := checkPort(proc, "127.0.0.1", port)
		if err == nil {
			t.Fatalf("port %d held by %v passed the check", port, c.args)
		}
		if want := c.want(cmd.Process.Pid); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), fmt.Sprintf("port %d is taken", port)) {
			t.Errorf("error %q\nwant it to contain %q", err, want)
		}
	}
}

func TestAPortHeldByAnotherProgramNamesIt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	err = checkPort(portholder.Proc{Root: "/proc"}, "127.0.0.1", port)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("process %d (", os.Getpid())) || strings.Contains(err.Error(), "earlier run") {
		t.Fatalf("error %v: want this test process named, not an earlier run", err)
	}
	ln.Close()
	if err := checkPort(portholder.Proc{Root: "/proc"}, "127.0.0.1", port); err != nil {
		t.Fatalf("free port refused: %v", err)
	}
}

func syscallGetpgid(t *testing.T, pid int) int {
	t.Helper()
	pg, err := syscall.Getpgid(pid)
	if err != nil {
		t.Fatal(err)
	}
	return pg
}
