package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgewatch/edgewatch/internal/functions"
	"github.com/edgewatch/edgewatch/internal/portholder"
)

// checkPort fails early when a port is taken, naming the process that holds
// it and, when that is part of an earlier edgewatch run, how to stop it.
func checkPort(proc portholder.Proc, host string, port int) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", host, port))
	if err == nil {
		return ln.Close()
	}
	holders, _ := proc.Listening(port)
	if len(holders) == 0 {
		return fmt.Errorf("port %d is taken (by a process this user cannot see?): %w", port, err)
	}
	return fmt.Errorf("port %d is taken: %s", port, explainHolder(proc, holders[0]))
}

// explainHolder says who holds a port and how to stop it.
func explainHolder(proc portholder.Proc, p portholder.Process) string {
	if !isEdgewatch(p) {
		return fmt.Sprintf("process %d (%s) listens on it", p.PID, p.Command())
	}
	msg := fmt.Sprintf("edgewatch process %d (%s) from an earlier run still holds it", p.PID, p.Command())
	switch {
	case isCommand(p, "up"):
		return msg + fmt.Sprintf("; stop it with `kill %d` (it stops its functions too)", p.PID)
	case isCommand(p, "function"):
		if parent, err := proc.Parent(p); err == nil && isCommand(parent, "up") {
			return msg + fmt.Sprintf("; its runner is process %d (%s): stop it with `kill %d` (it stops its functions too)",
				parent.PID, parent.Command(), parent.PID)
		}
		return msg + fmt.Sprintf("; its runner is gone: stop the run's functions with `kill -- -%d` (their process group)", p.PGID)
	default:
		return msg + fmt.Sprintf("; stop it with `kill %d`", p.PID)
	}
}

// isCommand reports whether p runs `edgewatch cmd`.
func isCommand(p portholder.Process, cmd string) bool {
	return isEdgewatch(p) && len(p.Args) > 1 && p.Args[1] == cmd
}

// isEdgewatch reports whether a process runs the edgewatch command.
func isEdgewatch(p portholder.Process) bool {
	return len(p.Args) > 0 && strings.TrimSuffix(filepath.Base(p.Args[0]), " (deleted)") == "edgewatch"
}

// upPorts lists the local ports a run listens on.
func upPorts(o upOptions) []int {
	ports := []int{o.brokerPort}
	for _, f := range plannedFunctions(o) {
		ports = append(ports, o.firstPort+f.Port, o.metricsPort+f.Metrics)
		if f.Role == functions.ScaleToZero && o.idle > 0 {
			ports = append(ports, o.firstPort+f.Port+1000) // the process behind the activator
		}
	}
	ports = append(ports, o.metricsPort)
	if os.Getenv("VLM_URL") == "" {
		ports = append(ports, o.firstPort+offsetVLM)
	}
	if os.Getenv("NOTIFY_WEBHOOK_URL") == "" {
		ports = append(ports, o.firstPort+offsetWebhook)
	}
	return ports
}
