package darknet

import (
	"strings"
	"testing"
)

func TestTrainCfgForFourClasses(t *testing.T) {
	custom9 := [][2]int{{8, 9}, {15, 20}, {30, 22}, {25, 50}, {60, 45}, {50, 110}, {120, 90}, {160, 200}, {400, 380}}
	for _, c := range []struct {
		name    string
		opts    TrainOptions
		grids   []int
		anchors [][][2]float64 // per [yolo] layer, in order
		convs   int
	}{
		{"tiny 416 official anchors", TrainOptions{Base: KindTiny, Classes: 4, Size: 416}, []int{13, 26},
			[][][2]float64{{{81, 82}, {135, 169}, {344, 319}}, {{10, 14}, {23, 27}, {37, 58}}}, 21},
		{"full 608 dataset anchors", TrainOptions{Base: KindFull, Classes: 4, Size: 608, Anchors: custom9}, []int{76, 38, 19},
			[][][2]float64{{{8, 9}, {15, 20}, {30, 22}}, {{25, 50}, {60, 45}, {50, 110}}, {{120, 90}, {160, 200}, {400, 380}}}, 110},
	} {
		t.Run(c.name, func(t *testing.T) {
			text, err := TrainCfg(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseCfg(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			n, err := Analyze(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if n.Width != c.opts.Size || n.Height != c.opts.Size || len(n.Convs) != c.convs || len(n.Yolos) != len(c.grids) {
				t.Fatalf("input %dx%d, %d convolutions, %d [yolo]", n.Width, n.Height, len(n.Convs), len(n.Yolos))
			}
			for i, y := range n.Yolos {
				// Analyze has checked the layer before: (classes+5)×masks channels, the filters= of that convolution.
				head := cfg.Layers[y.Layer-1]
				if y.Classes != 4 || y.Grid.W != c.grids[i] || head.Type != "convolutional" || head.Options["filters"] != "27" {
					t.Errorf("[yolo] %d: %+v after %+v", i, y, head)
				}
				for k, a := range c.anchors[i] {
					if y.Anchors[k] != a {
						t.Errorf("[yolo] %d anchors %v, want %v", i, y.Anchors, c.anchors[i])
						break
					}
				}
			}
			// Four classes: 2000 per class = 8000 iterations, steps at 80% and 90%.
			if cfg.Net.Options["max_batches"] != "8000" || cfg.Net.Options["steps"] != "6400,7200" || cfg.Net.Options["batch"] != "64" {
				t.Errorf("[net] %v", cfg.Net.Options)
			}
		})
	}
}

func TestMaxBatchesRule(t *testing.T) {
	for _, c := range []struct{ classes, images, want int }{{4, 5000, 8000}, {1, 100, 6000}, {2, 100, 6000}, {10, 100, 20000}, {4, 12000, 12000}} {
		if got := MaxBatches(c.classes, c.images); got != c.want {
			t.Errorf("MaxBatches(%d, %d) = %d, want %d", c.classes, c.images, got, c.want)
		}
	}
}

func TestTrainCfgRefusesBadOptions(t *testing.T) {
	for _, o := range []TrainOptions{
		{Base: "nano", Classes: 4, Size: 416},
		{Base: KindTiny, Classes: 0, Size: 416},
		{Base: KindTiny, Classes: 4, Size: 400},
		{Base: KindTiny, Classes: 4, Size: 416, Anchors: [][2]int{{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}}},
		{Base: KindTiny, Classes: 4, Size: 416, Anchors: [][2]int{{1, 1}, {2, 2}, {3, 3}, {9, 9}, {5, 5}, {6, 6}}},
		{Base: KindTiny, Classes: 4, Size: 416, Anchors: [][2]int{{0, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {6, 6}}},
	} {
		if _, err := TrainCfg(o); err == nil {
			t.Errorf("accepted %+v", o)
		}
	}
}
