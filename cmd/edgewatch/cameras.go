package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
)

// prepareCameras writes the sample clip (a blue object crossing a street
// scene, which the demo model reports as a knife) and one camera reading it
// in a loop.
func prepareCameras(state string) ([]string, error) {
	if os.Getenv("CAMERAS_FILE") != "" || os.Getenv("CAMERAS") != "" {
		return nil, nil // motion-source reads them from the environment
	}
	clip := filepath.Join(state, "sample-street.avi")
	if _, err := os.Stat(clip); err != nil {
		scene := samplevideo.Scene{Width: 1280, Height: 720, FPS: 25, Frames: 200, Object: true,
			ObjectSize: 160, ObjectStart: 50, ObjectColor: color.RGBA{B: 255, A: 255}}
		// Written aside and renamed, so that a run killed while writing
		// leaves no truncated clip for the next one to reuse.
		tmp := filepath.Join(state, "sample-street.partial.avi")
		if err := samplevideo.Write(tmp, scene); err != nil {
			return nil, fmt.Errorf("write the sample clip: %w", err)
		}
		if err := os.Rename(tmp, clip); err != nil {
			return nil, err
		}
	}
	cams := []map[string]any{{"id": "cam-1", "url": clip, "loop": true, "fps": 5, "cooldown": "2s",
		"location": map[string]float64{"lat": 37.5665, "lon": 126.9780}}}
	raw, err := json.Marshal(cams)
	if err != nil {
		return nil, err
	}
	return []string{"CAMERAS=" + string(raw)}, nil
}
