package function

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/edgewatch/edgewatch/functions/caption/vlm"
	"github.com/edgewatch/edgewatch/functions/caption/vlmtest"
)

// BenchmarkCaption compares the whole Handle path for one incident (read and
// check the event, decode and check the JPEG, build the chat request, call
// the VLM stand-in, read its reply, build the caption event) with the bare
// HTTP POST of the same chat request to the same stand-in. The difference is
// what caption adds to a VLM call; the call itself, against a real model,
// takes hundreds of milliseconds to seconds.
func BenchmarkCaption(b *testing.B) {
	fake := vlmtest.NewServer(vlmtest.Options{APIKey: testKey})
	defer fake.Close()
	img := testJPEG(b, 640, 480)
	const size = "640x480"

	b.Run("baseline/"+size, func(b *testing.B) {
		req := vlm.NewImageRequest("smolvlm-instruct", DefaultPrompt, img, 120)
		body, err := json.Marshal(req)
		if err != nil {
			b.Fatal(err)
		}
		endpoint, _ := vlm.Endpoint(fake.URL)
		hc := fake.Client()
		for b.Loop() {
			hreq, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
			hreq.Header.Set("Content-Type", "application/json")
			hreq.Header.Set("Authorization", "Bearer "+testKey)
			resp, err := hc.Do(hreq)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
		b.ReportMetric(float64(len(body))/1024, "KB/request")
	})

	b.Run("edgewatch/"+size, func(b *testing.B) {
		f := NewWithDeps(Deps{Logger: slogDiscard(), HTTPClient: fake.Client()})
		cfg := vlmConfig(fake.URL)
		cfg[KeyMetricsAddress] = "off"
		// Every delivery must reach the VLM: results expire at once.
		cfg[KeyCacheTTL] = "1ns"
		if err := f.Start(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
		e := incidentEvent(b, incidentData("inc-bench", "knife", img))
		ctx := context.Background()
		for b.Loop() {
			out, err := f.Handle(ctx, e)
			if err != nil || out == nil {
				b.Fatalf("Handle: %v", err)
			}
		}
		b.StopTimer()
		if n := f.svc.Load().metrics; testingCount(n) < 1 {
			b.Fatal("no VLM calls counted")
		}
		b.ReportMetric(float64(len(e.Data()))/1024, "KB/event")
	})
}
