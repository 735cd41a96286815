package cameraconfig_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/cameraconfig"
)

func TestParse(t *testing.T) {
	doc := `
cameras:
  - id: gate-1
    url: rtsp://admin:${GATE_PW}@10.0.0.5:554/stream1
    transport: udp
    location: {lat: 37.5, lon: 127.1}
    fps: 4
    cooldown: 1.5s
    masks:
      - [[0, 0], [1, 0], [1, 0.1], [0, 0.1]]
    motion: {threshold: 25, min_area: 20}
    region: {min_size: 416, quality: 85}
  - id: clip
    url: /data/clip.avi
    loop: true
    cooldown: 2
`
	cams, err := cameraconfig.Parse([]byte(doc), map[string]string{"GATE_PW": "fake-s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	g := cams[0]
	if g.URL != "rtsp://admin:fake-s3cret@10.0.0.5:554/stream1" || len(g.Secrets) != 1 || g.Secrets[0] != "fake-s3cret" {
		t.Errorf("expansion: %q %v", g.URL, g.Secrets)
	}
	if g.Transport != "udp" || g.Location.Lat != 37.5 || g.FPS != 4 || time.Duration(g.Cooldown) != 1500*time.Millisecond {
		t.Errorf("fields: %+v", g)
	}
	if gc := g.Gate(); gc.Threshold != 25 || gc.MinArea != 20 || len(gc.Masks) != 1 {
		t.Errorf("gate: %+v", gc)
	}
	if rc := g.Regions(320); rc.MinSize != 416 || rc.Quality != 85 {
		t.Errorf("regions: %+v", rc)
	}
	if c := cams[1]; !c.Loop || !c.IsRealtime() || time.Duration(c.Cooldown) != 2*time.Second || c.Regions(320).MinSize != 320 {
		t.Errorf("clip: %+v", c)
	}
	if strings.Contains(g.String(), "fake-s3cret") {
		t.Error("String shows the password")
	}
}

func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":        `cameras: []`,
		"no url":       `[{id: a}]`,
		"bad fps":      `[{id: a, url: x, fps: 100}]`,
		"bad lat":      `[{id: a, url: x, location: {lat: 91, lon: 0}}]`,
		"transport":    `[{id: a, url: x, transport: sctp}]`,
		"cooldown":     `[{id: a, url: x, cooldown: soon}]`,
		"unknown key":  `[{id: a, url: x, treshold: 3}]`,
		"unset secret": `[{id: a, url: "rtsp://u:${P}@h"}]`,
	} {
		if _, err := cameraconfig.Parse([]byte(doc), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The example shipped in config/sources must load as the Deployment gives it.
func TestShippedCamerasFile(t *testing.T) {
	cams, err := cameraconfig.Load(map[string]string{
		cameraconfig.KeyCamerasFile: "../../../config/sources/cameras.yaml",
		"GATE_PASSWORD":             "p1", "YARD_PASSWORD": "p2",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cams) != 2 || !strings.Contains(cams[0].URL, ":p1@") || !strings.Contains(cams[1].URL, "password=p2") {
		t.Fatalf("%+v", cams)
	}
}
