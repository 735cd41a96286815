// Command sample-clip writes a synthetic camera clip (a static scene with a
// dark square walking across it) for trying the motion-source without a
// camera:
//
//	sample-clip -o /tmp/yard.avi [-width 640 -height 360 -fps 25 -frames 250 -codec MJPG -static -light-step-at N]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("sample-clip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output file (.avi for MJPG, .mp4 for avc1/mp4v)")
	s := samplevideo.Scene{}
	fs.IntVar(&s.Width, "width", 640, "frame width")
	fs.IntVar(&s.Height, "height", 360, "frame height")
	fs.Float64Var(&s.FPS, "fps", 25, "frame rate")
	fs.IntVar(&s.Frames, "frames", 250, "number of frames")
	fs.StringVar(&s.Codec, "codec", "MJPG", "FourCC: MJPG, avc1, mp4v, XVID")
	static := fs.Bool("static", false, "no moving object")
	fs.IntVar(&s.LightStepAt, "light-step-at", 0, "frame at which the lighting jumps (0: never)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "sample-clip: -o is required")
		return 2
	}
	s.Object = !*static
	s.ObjectStart = 10
	if err := samplevideo.Write(*out, s); err != nil {
		fmt.Fprintln(stderr, "sample-clip:", err)
		return 1
	}
	return 0
}
