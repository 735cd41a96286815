package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/edgewatch/edgewatch/internal/savings"
)

// runTimeline generates or sorts timelines:
//
//	edgewatch timeline gen [-scenario busy] [-cameras 16] [-duration 24h] [-seed 1]
//	edgewatch timeline sort [FILE]
func runTimeline(stdin io.Reader, stdout io.Writer, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: edgewatch timeline gen|sort")
	}
	switch args[0] {
	case "gen":
		fs := flag.NewFlagSet("timeline gen", flag.ContinueOnError)
		scenario := fs.String("scenario", "busy", "busy or quiet")
		cameras := fs.Int("cameras", 16, "cameras")
		duration := fs.Duration("duration", 24*time.Hour, "length of the timeline")
		seed := fs.Uint64("seed", 1, "seed; the same seed gives the same timeline")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		s, err := savings.ScenarioByName(*scenario, *cameras, scenarioStart, *duration, *seed)
		if err != nil {
			return fmt.Errorf("-scenario: %w", err)
		}
		events, err := savings.Generate(s)
		if err != nil {
			return err
		}
		return savings.Write(stdout, events)
	case "sort":
		in := stdin
		if len(args) > 2 {
			return fmt.Errorf("usage: edgewatch timeline sort [FILE]")
		}
		if len(args) == 2 {
			f, err := os.Open(args[1])
			if err != nil {
				return err
			}
			defer f.Close()
			in = f
		}
		events, err := savings.Read(in, savings.ReadOptions{Unsorted: true})
		if err != nil {
			return err
		}
		savings.Sort(events)
		return savings.Write(stdout, events)
	}
	return fmt.Errorf("unknown timeline command %q (gen or sort)", args[0])
}
