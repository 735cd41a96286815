// Command edgewatch runs the edgewatch pipeline on one machine, without a
// cluster: a broker on RabbitMQ routed by the same Trigger manifests a
// cluster uses, and every function as its own process.
//
//	edgewatch up                 the whole pipeline
//	edgewatch broker             the broker alone
//	edgewatch function NAME      host one function (used by up)
//	edgewatch send [flags] FILE  post a CloudEvent to the broker
//	edgewatch savings [flags]    what scaling detect to zero saves
//	edgewatch timeline gen|sort  make or sort a timeline of motion events
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/edgewatch/edgewatch/internal/functions"
)

func main() {
	parent := os.Getppid()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(log, parent, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "edgewatch:", err)
		os.Exit(1)
	}
}

// run runs one command; parent is the process that started this one.
func run(log *slog.Logger, parent int, args []string) error {
	if len(args) == 0 {
		return usage()
	}
	switch args[0] {
	case "function":
		if len(args) != 2 {
			return fmt.Errorf("usage: edgewatch function NAME")
		}
		// func-go handles SIGTERM itself, as in a deployed function.
		return runFunction(context.Background(), args[1])
	case "send":
		return runSend(args[1:])
	case "savings":
		return runSavings(os.Stdout, args[1:])
	case "timeline":
		return runTimeline(os.Stdin, os.Stdout, args[1:])
	case "up", "broker":
		sig := notifySignals(log)
		defer sig.release()
		if args[0] == "broker" {
			return runBroker(sig.stop, log, args[1:])
		}
		return runUp(sig, log, parent, args[1:])
	case "help", "-h", "--help":
		return usage()
	default:
		return fmt.Errorf("unknown command %q; try edgewatch help", args[0])
	}
}

func usage() error {
	fmt.Fprint(os.Stderr, `usage: edgewatch COMMAND

  up                  run the whole pipeline on this machine (Ctrl-C stops it)
  broker              run the local broker alone
  function NAME       host one function (`+strings.Join(functions.Names(), ", ")+`)
  send [flags] FILE   post a CloudEvent with FILE as its data to the broker
  savings [flags]     what scaling detect to zero saves, per retention period
  timeline gen|sort   generate a busy or quiet timeline, or sort a captured one

Run "edgewatch COMMAND -h" for a command's flags.
`)
	return nil
}
