package portholder

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestListeningFindsThisProcess(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		addr := "127.0.0.1:0"
		if network == "tcp6" {
			addr = "[::1]:0"
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		port := ln.Addr().(*net.TCPAddr).Port
		got, err := Proc{Root: "/proc"}.Listening(port)
		ln.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].PID != os.Getpid() {
			t.Fatalf("%s port %d held by %+v, want only this process %d", network, port, got, os.Getpid())
		}
		exe, _ := os.Executable()
		if filepath.Base(got[0].Args[0]) != filepath.Base(exe) || got[0].PPID != os.Getppid() || got[0].PGID != syscall.Getpgrp() {
			t.Fatalf("holder %+v: want args of %s, parent %d, group %d", got[0], exe, os.Getppid(), syscall.Getpgrp())
		}
	}
}

func TestListeningIgnoresConnectedAndFreePorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The client end of the connection is no listener.
	client := c.LocalAddr().(*net.TCPAddr).Port
	if got, err := (Proc{Root: "/proc"}).Listening(client); err != nil || len(got) != 0 {
		t.Fatalf("connected port %d reported as held by %+v (%v)", client, got, err)
	}
}

func TestParentOfThisProcess(t *testing.T) {
	pr := Proc{Root: "/proc"}
	self, err := pr.process(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	parent, err := pr.Parent(self)
	if err != nil {
		t.Fatal(err)
	}
	if parent.PID != os.Getppid() || len(parent.Args) == 0 {
		t.Fatalf("parent %+v, want pid %d", parent, os.Getppid())
	}
}
