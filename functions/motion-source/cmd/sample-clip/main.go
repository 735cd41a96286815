// Command sample-clip writes a synthetic camera clip for trying the
// motion-source without a camera: by default a static scene with a dark
// square walking across it,
//
//	sample-clip -o /tmp/yard.avi [-width 640 -height 360 -fps 25 -frames 250 -codec MJPG -static -light-step-at N]
//
// or, with -busy, a busy street seen by a CCTV camera (people walking,
// stopping and leaving, shadows, sensor noise, H.264 through the ffmpeg
// command), printing a summary of its ground truth:
//
//	sample-clip -busy -o /tmp/street.mp4 [-width 720 -height 576 -fps 25 -frames 625 -seed 1 -walkers 8 -noise 3 -bitrate 1500000 -stander=false -truth truth.json]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sample-clip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output file (.avi for MJPG, .mp4 for avc1/mp4v and -busy)")
	s := samplevideo.Scene{}
	fs.IntVar(&s.Width, "width", 640, "frame width (-busy: 720)")
	fs.IntVar(&s.Height, "height", 360, "frame height (-busy: 576)")
	fs.Float64Var(&s.FPS, "fps", 25, "frame rate")
	fs.IntVar(&s.Frames, "frames", 250, "number of frames (-busy: 25 s)")
	fs.StringVar(&s.Codec, "codec", "MJPG", "FourCC: MJPG, avc1, mp4v, XVID")
	static := fs.Bool("static", false, "no moving object")
	fs.IntVar(&s.LightStepAt, "light-step-at", 0, "frame at which the lighting jumps (0: never)")
	busy := fs.Bool("busy", false, "a busy street scene encoded by ffmpeg (H.264 MP4)")
	b := samplevideo.Busy{}
	fs.Uint64Var(&b.Seed, "seed", 1, "-busy: seed of the scene")
	fs.IntVar(&b.Walkers, "walkers", 8, "-busy: people walking at once")
	fs.Float64Var(&b.Noise, "noise", 3, "-busy: sensor noise σ in grey levels (negative: none)")
	fs.IntVar(&b.Bitrate, "bitrate", 0, "-busy: bits per second (0: 1.5 Mbit/s at 720×576, scaled by the pixel count)")
	fs.BoolVar(&b.Stander, "stander", true, "-busy: two people stand long enough to leave ghosts, then walk away")
	truth := fs.String("truth", "", "-busy: also write the ground truth to this JSON file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "sample-clip: -o is required")
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *busy {
		for _, name := range []string{"codec", "static", "light-step-at"} {
			if set[name] {
				fmt.Fprintf(stderr, "sample-clip: -%s does not apply to -busy\n", name)
				return 2
			}
		}
		if set["width"] {
			b.Width = s.Width
		}
		if set["height"] {
			b.Height = s.Height
		}
		if set["fps"] {
			b.FPS = s.FPS
		}
		if set["frames"] {
			b.Frames = s.Frames
		}
		return writeBusy(*out, *truth, b, stdout, stderr)
	}
	for _, name := range []string{"seed", "walkers", "noise", "bitrate", "stander", "truth"} {
		if set[name] {
			fmt.Fprintf(stderr, "sample-clip: -%s applies only to -busy\n", name)
			return 2
		}
	}
	s.Object = !*static
	s.ObjectStart = 10
	if err := samplevideo.Write(*out, s); err != nil {
		fmt.Fprintln(stderr, "sample-clip:", err)
		return 1
	}
	return 0
}

// writeBusy writes the busy clip, and its ground truth when truthPath is
// set, and prints a summary.
func writeBusy(path, truthPath string, b samplevideo.Busy, stdout, stderr io.Writer) int {
	tr, err := samplevideo.WriteBusy(path, b)
	if err != nil {
		fmt.Fprintln(stderr, "sample-clip:", err)
		return 1
	}
	if truthPath != "" {
		data, err := json.MarshalIndent(tr, "", " ")
		if err == nil {
			err = os.WriteFile(truthPath, data, 0o644)
		}
		if err != nil {
			fmt.Fprintln(stderr, "sample-clip:", err)
			return 1
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		fmt.Fprintln(stderr, "sample-clip:", err)
		return 1
	}
	summarize(stdout, path, st.Size(), tr)
	return 0
}

// summarize prints what the clip holds: its size and bitrate, how many
// people are in view, who stops and which spots are vacated.
func summarize(w io.Writer, path string, size int64, tr samplevideo.Truth) {
	seconds := float64(len(tr.Frames)) / tr.FPS
	fmt.Fprintf(w, "%s: %d×%d, %d frames at %g fps (%.1f s), %.2f MB, %.2f Mbit/s\n", path, tr.Size.X, tr.Size.Y,
		len(tr.Frames), tr.FPS, seconds, float64(size)/1e6, float64(size)*8/seconds/1e6)
	inView := make([]int, len(tr.Frames))
	people, still := map[int]bool{}, map[int]int{}
	busy := 0
	for i, ws := range tr.Frames {
		inView[i] = len(ws)
		if len(ws) >= 6 {
			busy++
		}
		for _, p := range ws {
			people[p.ID] = true
			if !p.Moving {
				still[p.ID]++
			}
		}
	}
	sort.Ints(inView)
	if len(inView) > 0 {
		fmt.Fprintf(w, "people: %d; in view at once: min %d, median %d, max %d; six or more in %.0f%% of frames\n",
			len(people), inView[0], inView[len(inView)/2], inView[len(inView)-1], 100*float64(busy)/float64(len(inView)))
	}
	stopped := 0
	for _, n := range still {
		if float64(n) >= tr.FPS {
			stopped++
		}
	}
	fmt.Fprintf(w, "standing still for 1 s or more: %d people\n", stopped)
	for _, v := range tr.Vacated {
		fmt.Fprintf(w, "vacated: person %d left %v at frame %d (%.2f s)\n", v.ID, v.Spot, v.Left, float64(v.Left)/tr.FPS)
	}
}
