package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// stopSignals are the signals that stop the runner gracefully: Ctrl-C,
// what kill, systemd and docker stop send, and a closed terminal.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// signals turns stop signals into two contexts: stop ends at the first one,
// force at the second, when whatever is still stopping is killed.
type signals struct {
	stop, force context.Context
	release     func()
}

// notifySignals starts listening for stop signals. Call it before anything
// else so that no signal is lost; release stops listening.
func notifySignals(log *slog.Logger) *signals {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, stopSignals...)
	// A pipe on stdout whose reader died with the terminal (`edgewatch up |
	// tee log`) must not end the runner halfway through its stop: with
	// SIGPIPE caught, such writes fail with EPIPE. (Caught rather than
	// ignored, so that the functions do not inherit an ignored SIGPIPE.)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	stop, cancelStop := context.WithCancelCause(context.Background())
	force, cancelForce := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() {
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case sig := <-ch:
				if n == 0 {
					log.Info("signal received; stopping (a second one kills what is left)", "signal", sig)
					cancelStop(fmt.Errorf("%v received", sig))
					continue
				}
				log.Warn("second signal received; killing what is left", "signal", sig)
				cancelForce(fmt.Errorf("a second signal (%v) arrived", sig))
			}
		}
	}()
	return &signals{stop: stop, force: force, release: func() {
		signal.Stop(ch)
		close(done)
		cancelStop(nil)
		cancelForce(nil)
	}}
}

// exitWithParent asks the kernel to send SIGTERM to this process when its
// parent ends (prctl PR_SET_PDEATHSIG), so that a runner started by make is
// stopped gracefully when make is killed. The setting belongs to the calling
// thread, so the calling goroutine stays locked to it: the main goroutine,
// whose thread lives as long as the process.
func exitWithParent(parent int) error {
	runtime.LockOSThread()
	const prSetPdeathsig = 1
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(syscall.SIGTERM), 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %w", errno)
	}
	if os.Getppid() != parent {
		// The parent ended before the request took effect.
		return syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
	return nil
}
