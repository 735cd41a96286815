package function

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/edgewatch/edgewatch/functions/caption/internal/contract"
	"github.com/edgewatch/edgewatch/functions/caption/vlmtest"
)

const testKey = "sk-test-7f3c9a1e5b"

func vlmConfig(url string) map[string]string {
	return map[string]string{
		KeyVLMURL: url, KeyVLMModel: "smolvlm-instruct", KeyVLMAPIKey: testKey,
		KeyVLMTimeout: "5s", KeyVLMMaxTokens: "120",
	}
}

func TestCaptionEventMatchesContract(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{APIKey: testKey})
	defer fake.Close()
	h := startHost(t, vlmConfig(fake.URL))
	img := testJPEG(t, 320, 240)

	r := h.post(t, incidentEvent(t, incidentData("inc-1", "knife", img)))
	if r.status != http.StatusOK || r.event == nil {
		t.Fatalf("status %d, body %q", r.status, r.body)
	}

	// What reached the VLM.
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("VLM got %d valid requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.Authorization != "Bearer "+testKey {
		t.Errorf("Authorization %q", got.Authorization)
	}
	if got.Model != "smolvlm-instruct" || got.MaxTokens != 120 {
		t.Errorf("model %q, max_tokens %d", got.Model, got.MaxTokens)
	}
	if !bytes.Equal(got.Image, img) {
		t.Errorf("the data URL carried %d bytes, not the %d-byte snapshot", len(got.Image), len(img))
	}
	for _, want := range []string{"possible knife", "clothing", "colours", "build", "carrying", "moving", "Do not guess anyone's identity", "ethnicity"} {
		if !strings.Contains(got.Prompt, want) {
			t.Errorf("prompt lacks %q: %s", want, got.Prompt)
		}
	}

	// What came back.
	e := r.event
	if e.ID() != "caption-inc-1" || e.Type() != contract.TypeCaptionCreated || e.Source() != "/cameras/cam-1" {
		t.Errorf("id %q type %q source %q", e.ID(), e.Type(), e.Source())
	}
	for ext, want := range map[string]string{contract.ExtCamera: "cam-1", contract.ExtClass: "knife", contract.ExtIncident: "inc-1"} {
		if got := fmt.Sprint(e.Extensions()[ext]); got != want {
			t.Errorf("extension %s = %q, want %q", ext, got, want)
		}
	}
	if e.DataContentType() != contract.ContentTypeJSON {
		t.Errorf("datacontenttype %q", e.DataContentType())
	}
	if err := e.Validate(); err != nil {
		t.Errorf("invalid CloudEvent: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.Data()))
	if err != nil {
		t.Fatal(err)
	}
	if err := captionSchema(t).Validate(doc); err != nil {
		t.Errorf("caption data breaks the contract: %v\n%s", err, e.Data())
	}
	c := decodeCaption(t, e)
	if c.Caption != vlmtest.Caption(img) {
		t.Errorf("caption %q, want the VLM's %q", c.Caption, vlmtest.Caption(img))
	}
	if c.Model != vlmtest.Model {
		t.Errorf("model %q, want the one the reply named, %q", c.Model, vlmtest.Model)
	}
	if c.IncidentID != "inc-1" || c.DetectionID != "m-17.knife" || c.Camera != "cam-1" || c.Class != "knife" {
		t.Errorf("caption ids: %+v", c)
	}
	if !c.CreatedAt.Equal(e.Time()) {
		t.Errorf("created_at %s, event time %s", c.CreatedAt, e.Time())
	}
	if h.counter("vlm", "ok") != 1 || h.counter("events", outcomeCaptioned) != 1 {
		t.Errorf("metrics: vlm ok %v, captioned %v", h.counter("vlm", "ok"), h.counter("events", outcomeCaptioned))
	}
	if h.counter("tokens", "completion") < 1 {
		t.Errorf("completion tokens not counted")
	}
	if strings.Contains(h.logs.String(), testKey) {
		t.Errorf("the API key is in the logs")
	}
}

func TestGunIncidentPromptNamesGun(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{})
	defer fake.Close()
	cfg := vlmConfig(fake.URL)
	cfg[KeyVLMPrompt] = "Describe the person near the {class}."
	h := startHost(t, cfg)
	if r := h.post(t, incidentEvent(t, incidentData("inc-g", "gun", testJPEG(t, 64, 48)))); r.status != http.StatusOK {
		t.Fatalf("status %d %q", r.status, r.body)
	}
	if p := fake.Requests()[0].Prompt; p != "Describe the person near the gun." {
		t.Errorf("prompt %q", p)
	}
}

func TestRedeliveryAnswersFromCache(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{})
	defer fake.Close()
	h := startHost(t, vlmConfig(fake.URL))
	e := incidentEvent(t, incidentData("inc-2", "gun", testJPEG(t, 160, 120)))

	first := h.post(t, e)
	second := h.post(t, e)
	if first.status != http.StatusOK || second.status != http.StatusOK {
		t.Fatalf("statuses %d, %d", first.status, second.status)
	}
	if fake.Calls() != 1 {
		t.Errorf("VLM called %d times for one incident delivered twice", fake.Calls())
	}
	if second.event.ID() != first.event.ID() || !second.event.Time().Equal(first.event.Time()) ||
		!bytes.Equal(second.event.Data(), first.event.Data()) {
		t.Errorf("redelivery got a different caption event:\n%s\n%s", first.event, second.event)
	}
	if h.counter("cache", "cache") != 1 || h.counter("events", outcomeDuplicate) != 1 {
		t.Errorf("cache hits %v, duplicates %v", h.counter("cache", "cache"), h.counter("events", outcomeDuplicate))
	}

	// Another incident is another call.
	if r := h.post(t, incidentEvent(t, incidentData("inc-3", "gun", testJPEG(t, 160, 120)))); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if fake.Calls() != 2 {
		t.Errorf("VLM called %d times for two incidents", fake.Calls())
	}
}

func TestBurstOfOneIncidentMakesOneCall(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{})
	defer fake.Close()
	h := startHost(t, vlmConfig(fake.URL))
	release := fake.Hold()
	e := incidentEvent(t, incidentData("inc-burst", "knife", testJPEG(t, 200, 100)))

	const n = 16
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = h.post(t, e)
		}()
	}
	// Open the VLM only once every other delivery waits on the first call.
	deadline := time.Now().Add(10 * time.Second)
	group := h.f.svc.Load().group
	for group.Callers(dedupKey(e)) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	joined := group.Callers(dedupKey(e))
	release()
	wg.Wait()

	if joined != n {
		t.Errorf("%d deliveries waited on the call in flight, want %d", joined, n)
	}
	if got := h.counter("cache", "in_flight"); got != n-1 {
		t.Errorf("in-flight hits counted %v, want %d", got, n-1)
	}
	if fake.Calls() != 1 {
		t.Errorf("VLM called %d times for a burst of %d", fake.Calls(), n)
	}
	for i, r := range replies {
		if r.status != http.StatusOK || r.event == nil {
			t.Fatalf("delivery %d: status %d %q", i, r.status, r.body)
		}
		if !bytes.Equal(r.event.Data(), replies[0].event.Data()) || r.event.ID() != "caption-inc-burst" {
			t.Errorf("delivery %d got a different caption", i)
		}
	}
}

func TestVLMFailuresAnswerStatusesTheBrokerActsOn(t *testing.T) {
	cases := []struct {
		name     string
		vlm      int // status the stand-in fails with
		opts     vlmtest.Options
		timeout  string
		want     int
		outcome  string
		inBody   string
		retrySOK bool // a later delivery succeeds once the VLM recovers
	}{
		{name: "server error", vlm: 500, want: 502, outcome: "server_error", inBody: "VLM failed", retrySOK: true},
		{name: "unavailable", vlm: 503, want: 502, outcome: "server_error", inBody: "503", retrySOK: true},
		{name: "rate limited", vlm: 429, want: 503, outcome: "rate_limited", inBody: "rate limiting", retrySOK: true},
		{name: "bad request", vlm: 400, want: 422, outcome: "rejected", inBody: "rejected the snapshot", retrySOK: true},
		{name: "timeout", opts: vlmtest.Options{Delay: 3 * time.Second}, timeout: "150ms", want: 504, outcome: "timeout", inBody: "within 150ms"},
		{name: "wrong API key", opts: vlmtest.Options{APIKey: "another-key"}, want: 500, outcome: "misconfigured", inBody: "misconfigured"},
		{name: "unknown model", opts: vlmtest.Options{Model: "qwen2.5-vl-3b"}, want: 500, outcome: "misconfigured", inBody: "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := vlmtest.NewServer(c.opts)
			defer fake.Close()
			cfg := vlmConfig(fake.URL)
			if c.timeout != "" {
				cfg[KeyVLMTimeout] = c.timeout
			}
			h := startHost(t, cfg)
			fake.SetStatus(c.vlm)
			e := incidentEvent(t, incidentData("inc-f", "knife", testJPEG(t, 64, 64)))

			r := h.post(t, e)
			if r.status != c.want || !strings.Contains(r.body, c.inBody) {
				t.Fatalf("status %d body %q, want %d containing %q", r.status, r.body, c.want, c.inBody)
			}
			if strings.Contains(r.body, testKey) || strings.Contains(h.logs.String(), testKey) {
				t.Errorf("the API key leaked")
			}
			if got := h.counter("vlm", c.outcome); got != 1 {
				t.Errorf("vlm outcome %s counted %v times", c.outcome, got)
			}
			if h.counter("events", outcomeFailed) != 1 {
				t.Errorf("failed events not counted")
			}
			if !c.retrySOK {
				return
			}
			// A failure is not remembered: the broker's retry calls again.
			fake.SetStatus(0)
			if r := h.post(t, e); r.status != http.StatusOK {
				t.Fatalf("retry after recovery: %d %q", r.status, r.body)
			}
			if fake.Calls() != 2 {
				t.Errorf("VLM called %d times, want 2", fake.Calls())
			}
		})
	}
}

func TestUnreachableVLMIsRetryable(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{})
	url := fake.URL
	fake.Close() // nothing listens there any more
	h := startHost(t, vlmConfig(url))
	r := h.post(t, incidentEvent(t, incidentData("inc-u", "gun", testJPEG(t, 32, 32))))
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, "unreachable") {
		t.Fatalf("status %d %q", r.status, r.body)
	}
}

func TestAPIKeyEchoedByTheEndpointIsRedacted(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"message":"bad header %s","type":"invalid_request_error"}}`, r.Header.Get("Authorization"))
	}))
	defer echo.Close()
	h := startHost(t, vlmConfig(echo.URL))
	r := h.post(t, incidentEvent(t, incidentData("inc-k", "gun", testJPEG(t, 32, 32))))
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "[redacted]") {
		t.Fatalf("status %d %q", r.status, r.body)
	}
	if strings.Contains(r.body, testKey) || strings.Contains(h.logs.String(), testKey) {
		t.Errorf("the API key leaked: %s", r.body)
	}
}

func TestNotConfiguredAnswers503(t *testing.T) {
	h := startHost(t, map[string]string{})
	if ok, _ := h.f.Ready(context.Background()); !ok {
		t.Fatal("not ready after Start")
	}
	if !strings.Contains(h.logs.String(), "not configured") {
		t.Errorf("Start did not say it is not configured: %s", h.logs.String())
	}
	r := h.post(t, incidentEvent(t, incidentData("inc-n", "knife", testJPEG(t, 32, 32))))
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "not configured") {
		t.Fatalf("status %d %q", r.status, r.body)
	}
	// Bad input is still bad input.
	bad := incidentEvent(t, incidentData("inc-n", "fire", testJPEG(t, 32, 32)))
	if r := h.post(t, bad); r.status != http.StatusBadRequest {
		t.Fatalf("bad input while not configured: %d", r.status)
	}
}

func TestBadInputIs400(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{})
	defer fake.Close()
	h := startHost(t, vlmConfig(fake.URL))
	img := testJPEG(t, 48, 48)
	with := func(f func(d map[string]any, e *event.Event)) event.Event {
		d := incidentData("inc-b", "knife", img)
		e := incidentEvent(t, d)
		f(d, &e)
		if err := e.SetData(e.DataContentType(), d); err != nil {
			t.Fatal(err)
		}
		return e
	}
	raw := func(ct string, body []byte) event.Event {
		e := incidentEvent(t, incidentData("inc-b", "knife", img))
		e.DataEncoded = body
		e.SetDataContentType(ct)
		return e
	}
	cases := []struct {
		name   string
		e      event.Event
		want   int
		reason string
	}{
		{"not JSON", raw(contract.ContentTypeJSON, []byte("{not json")), 400, "not valid JSON"},
		{"empty data", raw(contract.ContentTypeJSON, nil), 400, "empty"},
		{"wrong content type", raw("image/jpeg", img), 400, "content type"},
		{"missing image", with(func(d map[string]any, _ *event.Event) { delete(d, "image") }), 400, "no image"},
		{"image not base64", with(func(d map[string]any, _ *event.Event) { d["image"] = "***" }), 400, "base64"},
		{"image is PNG", with(func(d map[string]any, _ *event.Event) {
			d["image"] = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
		}), 400, "not a JPEG"},
		{"truncated JPEG", with(func(d map[string]any, _ *event.Event) { d["image"] = "/9j/4AAQ" }), 400, "not a readable JPEG"},
		{"wrong type", with(func(_ map[string]any, e *event.Event) { e.SetType("dev.edgewatch.detection.knife") }), 400, "event type"},
		{"class not captioned", with(func(d map[string]any, e *event.Event) { d["class"] = "fire"; e.SetExtension(contract.ExtClass, "fire") }), 400, "only knife and gun"},
		{"unknown class", with(func(d map[string]any, e *event.Event) { d["class"] = "cat"; e.SetExtension(contract.ExtClass, "cat") }), 400, "not an incident class"},
		{"extension disagrees", with(func(_ map[string]any, e *event.Event) { e.SetExtension(contract.ExtIncident, "inc-other") }), 400, "does not match"},
		{"bad camera", with(func(d map[string]any, e *event.Event) {
			d["camera"] = "../etc"
			e.SetExtension(contract.ExtCamera, "x")
		}), 400, "camera"},
		{"no incident id", with(func(d map[string]any, e *event.Event) {
			delete(d, "incident_id")
			e.SetExtension(contract.ExtIncident, nil)
		}), 400, "incident_id"},
		{"oversized", raw(contract.ContentTypeJSON, bytes.Repeat([]byte(" "), maxDataBytes+1)), 413, "more than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.post(t, c.e)
			if r.status != c.want || !strings.Contains(r.body, c.reason) {
				t.Fatalf("status %d body %q, want %d with %q", r.status, r.body, c.want, c.reason)
			}
		})
	}
	if fake.Calls() != 0 {
		t.Errorf("bad input reached the VLM %d times", fake.Calls())
	}
	if got := h.counter("events", outcomeBadInput); got != float64(len(cases)) {
		t.Errorf("bad input counted %v times, want %d", got, len(cases))
	}
}

func TestStartRejectsMalformedConfig(t *testing.T) {
	cases := map[string]map[string]string{
		"URL without model":     {KeyVLMURL: "http://127.0.0.1:1"},
		"URL not http":          {KeyVLMURL: "ftp://vlm", KeyVLMModel: "m"},
		"timeout not duration":  {KeyVLMTimeout: "soon"},
		"timeout above func-go": {KeyVLMTimeout: "45s"},
		"timeout zero":          {KeyVLMTimeout: "0s"},
		"max tokens zero":       {KeyVLMMaxTokens: "0"},
		"max tokens word":       {KeyVLMMaxTokens: "many"},
		"cache size negative":   {KeyCacheSize: "-3"},
		"cache ttl bad":         {KeyCacheTTL: "forever"},
		"metrics port taken":    {KeyMetricsAddress: "127.0.0.1:-1"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			f := NewWithDeps(Deps{Logger: slogDiscard()})
			if err := f.Start(context.Background(), cfg); err == nil {
				_ = f.Stop(context.Background())
				t.Fatalf("Start accepted %v", cfg)
			}
			if ok, _ := f.Ready(context.Background()); ok {
				t.Errorf("ready after a failed Start")
			}
		})
	}
}

func TestMetricsServedOnSidePort(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{})
	defer fake.Close()
	cfg := vlmConfig(fake.URL)
	cfg[KeyMetricsAddress] = "127.0.0.1:0"
	h := startHost(t, cfg)
	if r := h.post(t, incidentEvent(t, incidentData("inc-m", "gun", testJPEG(t, 40, 30)))); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	resp, err := http.Get("http://" + h.f.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`edgewatch_caption_vlm_requests_total{outcome="ok"} 1`,
		`edgewatch_caption_events_total{outcome="captioned"} 1`,
		`edgewatch_caption_vlm_request_duration_seconds_count 1`,
		`edgewatch_caption_vlm_tokens_total{kind="prompt"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestReplyIsWrittenInStructuredModeToo(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{})
	defer fake.Close()
	h := startHost(t, vlmConfig(fake.URL))
	e := incidentEvent(t, incidentData("inc-s", "knife", testJPEG(t, 40, 30)))
	body, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	if r := h.do(t, req); r.status != http.StatusOK || r.event.ID() != "caption-inc-s" {
		t.Fatalf("status %d %q", r.status, r.body)
	}
}

func TestBurstSharesOneFailureAndTheRetryCallsAgain(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{})
	defer fake.Close()
	h := startHost(t, vlmConfig(fake.URL))
	fake.SetStatus(http.StatusServiceUnavailable)
	release := fake.Hold()
	e := incidentEvent(t, incidentData("inc-burst-fail", "gun", testJPEG(t, 50, 50)))

	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.post(t, e).status
		}()
	}
	group := h.f.svc.Load().group
	deadline := time.Now().Add(10 * time.Second)
	for group.Callers(dedupKey(e)) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	release()
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusBadGateway {
			t.Errorf("delivery %d: status %d, want 502", i, s)
		}
	}
	if fake.Calls() != 1 || h.counter("cache", "in_flight") != 0 || h.counter("events", outcomeFailed) != n {
		t.Errorf("calls %d, in-flight hits %v, failed %v", fake.Calls(), h.counter("cache", "in_flight"), h.counter("events", outcomeFailed))
	}
	fake.SetStatus(0)
	if r := h.post(t, e); r.status != http.StatusOK || fake.Calls() != 2 {
		t.Errorf("retry: status %d, calls %d", r.status, fake.Calls())
	}
}

// TestHostileRequestsAreRefusedWithAReason posts an oversized body and a
// malformed structured-mode event through the guard and func-go's handler.
func TestHostileRequestsAreRefusedWithAReason(t *testing.T) {
	h := startHost(t, map[string]string{})
	for _, c := range []struct {
		name, ctype string
		body        []byte
		code        int
		want        string
	}{
		{"oversized", "application/cloudevents+json", bytes.Repeat([]byte(" "), contract.MaxEventBytes+1), http.StatusRequestEntityTooLarge, "more than the"},
		{"malformed structured", "application/cloudevents+json", []byte(`{"specversion":"1.0","id":`), http.StatusBadRequest, "malformed structured-mode CloudEvent"},
	} {
		resp, err := http.Post(h.srv.URL, c.ctype, bytes.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, resp.StatusCode, body, c.code, c.want)
		}
	}
}
