package savings

import (
	"fmt"
	"image/color"
	"io"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// palette colours one series per report.
var palette = []color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// WriteChart draws GPU time saved against the p99 latency added, one
// labelled point per retention period and one line per report, as a PNG.
func WriteChart(w io.Writer, reports []Report) error {
	p := plot.New()
	p.Title.Text = "detect scaled to zero: GPU saved vs p99 added latency"
	p.X.Label.Text = "p99 added latency (s)"
	p.Y.Label.Text = "GPU-seconds saved vs always on (%)"
	p.Y.Min, p.Y.Max = 0, 100
	p.Add(plotter.NewGrid())
	maxX := 1.0
	for i, r := range reports {
		pts, labels := points(r.Rows)
		for _, pt := range pts {
			maxX = max(maxX, pt.X)
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("chart %s: %w", r.Name, err)
		}
		c := palette[i%len(palette)]
		line.Color, points.Color = c, c
		points.Shape = draw.CircleGlyph{}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
		if err != nil {
			return fmt.Errorf("chart %s: %w", r.Name, err)
		}
		for k := range lab.TextStyle {
			lab.TextStyle[k].Font.Size = vg.Points(8)
			lab.TextStyle[k].XAlign = draw.XLeft
		}
		lab.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(2)}
		p.Add(line, points, lab)
		p.Legend.Add(fmt.Sprintf("%s (%d cameras)", r.Name, r.Cameras), line, points)
	}
	// Room on the right for the labels, the legend above the points.
	p.X.Min, p.X.Max = 0, maxX*1.3
	p.Legend.Top = true
	p.Legend.Left = true
	canvas := vgimg.PngCanvas{Canvas: vgimg.New(8*vg.Inch, 5*vg.Inch)}
	p.Draw(draw.New(canvas))
	_, err := canvas.WriteTo(w)
	return err
}

// points returns one point per distinct (p99, saved) pair; retention
// periods that give the same point share its label.
func points(rows []Row) (plotter.XYs, []string) {
	var pts plotter.XYs
	var labels []string
	for _, row := range rows {
		x, y := row.Result.AddedP99.Seconds(), 100*row.Saved
		name := shortDuration(row.Retention)
		if n := len(pts); n > 0 && pts[n-1].X == x && pts[n-1].Y == y {
			labels[n-1] += ", " + name
			continue
		}
		pts = append(pts, plotter.XY{X: x, Y: y})
		labels = append(labels, "retention "+name)
	}
	return pts, labels
}

// shortDuration writes 5m rather than 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
