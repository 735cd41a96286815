//go:build e2e

package e2e

import (
	"fmt"
	"image/color"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
)

// TestONNXDemoModelRunsTheChain runs `edgewatch up` with DEMO_MODEL set to
// each ONNX layout of the demo model: detect loads the export, and the blue
// object crossing the clip is stored as knife detections made by it.
func TestONNXDemoModelRunsTheChain(t *testing.T) {
	for _, kind := range []string{"pattern-onnx-v5", "pattern-onnx-v8"} {
		t.Run(kind, func(t *testing.T) {
			clip := filepath.Join(t.TempDir(), "street.avi")
			scene := samplevideo.Scene{Width: 960, Height: 540, FPS: 25, Frames: 150, Object: true, ObjectSize: 140,
				ObjectStart: 40, ObjectColor: color.RGBA{B: 255, A: 255}}
			if err := samplevideo.Write(clip, scene); err != nil {
				t.Fatal(err)
			}
			in, v := newInbox(t), vlm(t)
			cameras := fmt.Sprintf(`[{"id":"cam-onnx","url":%q,"fps":5}]`, clip)
			env := append(outsideEnv(in, v), "DEMO_MODEL="+kind, "MODEL_CFG=", "MODEL_WEIGHTS=", "MODEL_NAMES=", "MODEL_ONNX=")
			p := startPipeline(t, options{env: env, cameras: cameras})
			model := "pattern-" + kind[len("pattern-onnx-"):]
			eventually(t, 90*time.Second, "knife detections by "+model, func() bool {
				var n int
				err := p.db.QueryRow(`SELECT count(*) FROM detections WHERE camera = 'cam-onnx' AND label = 'knife' AND model = $1`, model).Scan(&n)
				return err == nil && n > 0
			})
			var others int
			if err := p.db.QueryRow(`SELECT count(*) FROM detections WHERE camera = 'cam-onnx' AND (label <> 'knife' OR model <> $1)`, model).Scan(&others); err != nil || others != 0 {
				t.Fatalf("%d detections of another label or model (%v)", others, err)
			}
		})
	}
}
