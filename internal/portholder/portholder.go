// Package portholder finds the processes that listen on a local TCP port,
// from Linux's /proc, so that a "port is taken" error can name them.
package portholder

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Process is one process holding a port.
type Process struct {
	PID, PPID, PGID int
	// Args is the command line, program first.
	Args []string
}

// Command returns the command line joined with spaces.
func (p Process) Command() string { return strings.Join(p.Args, " ") }

// Proc reads a /proc file system.
type Proc struct {
	// Root is where it is mounted, normally /proc.
	Root string
}

// Listening returns the processes with a TCP socket listening on port (IPv4
// or IPv6), sorted by PID. Processes whose file descriptors cannot be read
// (another user's, without privileges) are missing from the answer.
func (pr Proc) Listening(port int) ([]Process, error) {
	inodes := map[string]bool{}
	for _, table := range []string{"net/tcp", "net/tcp6"} {
		if err := pr.listeningInodes(filepath.Join(pr.Root, table), port, inodes); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	if len(inodes) == 0 {
		return nil, nil
	}
	dirs, err := os.ReadDir(pr.Root)
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if !pr.holds(pid, inodes) {
			continue
		}
		if p, err := pr.process(pid); err == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

// listeningInodes adds the socket inodes of a /proc/net/tcp table that
// listen on port.
func (pr Proc) listeningInodes(table string, port int, into map[string]bool) error {
	f, err := os.Open(table)
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Scan() // header
	for s.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(s.Text())
		if len(f) < 10 || f[3] != "0A" { // 0A: TCP_LISTEN
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
			into[f[9]] = true
		}
	}
	return s.Err()
}

// holds reports whether one of pid's file descriptors is a socket in inodes.
func (pr Proc) holds(pid int, inodes map[string]bool) bool {
	fdDir := filepath.Join(pr.Root, strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			return true
		}
	}
	return false
}

// process reads pid's command line, parent and process group.
func (pr Proc) process(pid int) (Process, error) {
	dir := filepath.Join(pr.Root, strconv.Itoa(pid))
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return Process{}, err
	}
	p := Process{PID: pid, Args: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")}
	p.PPID, p.PGID, err = pr.parentAndGroup(pid)
	return p, err
}

// Parent returns the process pid's parent as a Process.
func (pr Proc) Parent(p Process) (Process, error) {
	if p.PPID <= 1 {
		return Process{}, fmt.Errorf("process %d has no parent of its own", p.PID)
	}
	return pr.process(p.PPID)
}

// parentAndGroup reads the ppid and pgrp fields of /proc/<pid>/stat, which
// follow the command name in parentheses.
func (pr Proc) parentAndGroup(pid int) (ppid, pgid int, err error) {
	b, err := os.ReadFile(filepath.Join(pr.Root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("unreadable stat of process %d", pid)
	}
	f := strings.Fields(s[i+1:]) // state ppid pgrp ...
	if len(f) < 3 {
		return 0, 0, fmt.Errorf("unreadable stat of process %d", pid)
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, err
	}
	pgid, err = strconv.Atoi(f[2])
	return ppid, pgid, err
}
