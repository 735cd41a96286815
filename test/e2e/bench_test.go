//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/edgewatch/edgewatch/internal/contract"
)

// BenchmarkEndToEnd measures one motion event's way to a stored detection.
// baseline calls the two functions that do the work directly over HTTP —
// detect with the motion event, then alert with a detection — as a pipeline
// without a broker would; edgewatch posts the motion event to the broker and
// waits until alert has stored its detection. Both run on the same pipeline
// in the same run.
func BenchmarkEndToEnd(b *testing.B) {
	in, v := newInbox(b), vlm(b)
	p := startPipeline(b, options{env: append(outsideEnv(in, v), faultEnv...)})
	crop := knifeCrop(b, 416)
	ps := newPoster(b, p.brokerURL(), crop)
	detection := detectionData(b, crop)
	client := &http.Client{Timeout: 30 * time.Second}
	detectURL := fmt.Sprintf("http://127.0.0.1:%d/", p.ports.first())
	alertURL := fmt.Sprintf("http://127.0.0.1:%d/", p.ports.alert())

	b.Run("baseline/motion-to-stored", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			id := fmt.Sprintf("bench-base-%d-%d", b.N, i)
			postBinary(b, client, detectURL, motionEvent(id, "bench-base", crop))
			postBinary(b, client, alertURL, detectionEvent(id+".knife", "bench-base", detection))
			lat = append(lat, time.Since(start))
		}
		reportLatency(b, lat)
	})
	b.Run("edgewatch/motion-to-stored", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			id := fmt.Sprintf("bench-ew-%d-%d", b.N, i)
			if err := ps.send(context.Background(), "bench-ew", id); err != nil {
				b.Fatal(err)
			}
			for {
				var n int
				_ = p.db.QueryRow(`SELECT count(*) FROM detections WHERE motion_id = $1`, id).Scan(&n)
				if n == 1 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			lat = append(lat, time.Since(start))
		}
		reportLatency(b, lat)
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)-1)*99/100].Microseconds())/1000, "p99-ms")
}

func motionEvent(id, camera string, crop []byte) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(contract.TypeMotionDetected)
	e.SetSource(contract.CameraSource(camera))
	e.SetTime(time.Now())
	e.SetExtension(contract.ExtCamera, camera)
	for k, v := range map[string]int{contract.ExtRegionX: 0, contract.ExtRegionY: 0, contract.ExtRegionW: 416,
		contract.ExtRegionH: 416, contract.ExtFrameWidth: 1280, contract.ExtFrameHeight: 720} {
		e.SetExtension(k, v)
	}
	_ = e.SetData(contract.ContentTypeJPEG, crop)
	return e
}

func detectionData(b testing.TB, crop []byte) []byte {
	d := contract.Detection{Camera: "bench-base", Class: "knife", Label: "knife", Confidence: 0.96,
		Box: contract.Box{X: 104, Y: 104, W: 208, H: 208}, Frame: contract.Frame{Width: 1280, Height: 720},
		Image: base64.StdEncoding.EncodeToString(crop), Model: "bench", DetectedAt: time.Now().UTC()}
	raw, err := json.Marshal(d)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func detectionEvent(id, camera string, data []byte) cloudevents.Event {
	var d map[string]any
	_ = json.Unmarshal(data, &d)
	d["motion_id"] = id
	raw, _ := json.Marshal(d)
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(contract.DetectionType("knife"))
	e.SetSource(contract.CameraSource(camera))
	e.SetTime(time.Now())
	e.SetExtension(contract.ExtCamera, camera)
	e.SetExtension(contract.ExtClass, "knife")
	_ = e.SetData(contract.ContentTypeJSON, raw)
	return e
}

// postBinary posts a binary-mode CloudEvent and fails on a non-2xx answer.
func postBinary(b testing.TB, c *http.Client, url string, e cloudevents.Event) {
	status, err := post(c, url, e)
	if err != nil {
		b.Fatal(err)
	}
	if status/100 != 2 {
		b.Fatalf("%s answered %d", url, status)
	}
}
