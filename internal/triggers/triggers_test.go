package triggers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const committedDir = "../../config/triggers"

func TestLoadDirCommittedTriggers(t *testing.T) {
	ts, err := LoadDir(committedDir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Trigger{}
	for _, tr := range ts {
		byName[tr.Name] = tr
	}
	want := []string{"caption-alert", "detection-accident-alert", "detection-fire-alert", "detection-gun-alert",
		"detection-knife-alert", "incident-gun-caption", "incident-knife-caption", "motion-detect"}
	if len(ts) != len(want) {
		t.Fatalf("got %d triggers, want %d", len(ts), len(want))
	}
	for _, n := range want {
		if _, ok := byName[n]; !ok {
			t.Errorf("trigger %s missing", n)
		}
	}
	md := byName["motion-detect"]
	if md.Namespace != "edgewatch" || md.Broker != "default" || md.Parallelism != 16 {
		t.Errorf("motion-detect = %+v", md)
	}
	if md.Filter["type"] != "dev.edgewatch.motion.detected" || len(md.Filter) != 1 {
		t.Errorf("motion-detect filter = %v", md.Filter)
	}
	if md.Subscriber.Ref == nil || md.Subscriber.Ref.Name != "detect" || md.Subscriber.Ref.Kind != "Service" {
		t.Errorf("motion-detect subscriber = %+v", md.Subscriber)
	}
	p := md.RetryPolicy()
	if p.Retries != 8 || p.Policy != BackoffExponential || p.Delay != 500*time.Millisecond || p.Timeout != 60*time.Second {
		t.Errorf("motion-detect retry policy = %+v", p)
	}
	if dls := md.DeadLetterSink(); dls == nil || dls.Ref.Name != "alert" {
		t.Errorf("motion-detect dead-letter sink = %+v", dls)
	}
	knife := byName["incident-knife-caption"]
	if knife.Filter["class"] != "knife" || knife.Filter["type"] != "dev.edgewatch.incident.opened" || knife.Parallelism != 4 {
		t.Errorf("incident-knife-caption = %+v", knife)
	}
	if !strings.HasSuffix(knife.File, "incident-knife-caption.yaml") {
		t.Errorf("File = %q", knife.File)
	}
}

const validDoc = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: %NAME%
spec:
  broker: default
  filter:
    attributes:
      type: t1
  subscriber:
    uri: http://example.test/x
`

func doc(name string) string { return strings.ReplaceAll(validDoc, "%NAME%", name) }

func TestParseMultiDocument(t *testing.T) {
	src := "# leading comment\n---\n" + doc("a") + "---\n" + doc("b") + "--- # trailing\n\n"
	ts, err := Parse("multi.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Name != "a" || ts[1].Name != "b" {
		t.Fatalf("got %+v", ts)
	}
	if ts[0].Namespace != "default" || ts[0].Parallelism != 1 || ts[0].Delivery != nil {
		t.Errorf("defaults not applied: %+v", ts[0])
	}
	if p := ts[0].RetryPolicy(); p.Retries != 0 {
		t.Errorf("no delivery spec must mean no retries, got %+v", p)
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name, replace, with, wantErr string
	}{
		{"unknown field", "  broker: default\n", "  broker: default\n  brokr: x\n", `unknown field "spec.brokr"`},
		{"new filters", "  broker: default\n", "  broker: default\n  filters:\n  - exact:\n      type: x\n", "spec.filters: not supported"},
		{"bad delay", "  subscriber:\n", "  delivery:\n    backoffDelay: 200ms\n  subscriber:\n", "spec.delivery.backoffDelay"},
		{"bad timeout", "  subscriber:\n", "  delivery:\n    timeout: PT\n  subscriber:\n", "spec.delivery.timeout"},
		{"month delay", "  subscriber:\n", "  delivery:\n    backoffDelay: P1M\n  subscriber:\n", "years and months"},
		{"bad policy", "  subscriber:\n", "  delivery:\n    backoffPolicy: fibonacci\n  subscriber:\n", "spec.delivery.backoffPolicy"},
		{"negative retry", "  subscriber:\n", "  delivery:\n    retry: -1\n  subscriber:\n", "spec.delivery.retry"},
		{"unsupported delivery field", "  subscriber:\n", "  delivery:\n    retryAfterMax: PT1S\n  subscriber:\n", `unknown field "spec.delivery.retryAfterMax"`},
		{"parallelism too big", "  name: a\n", "  name: a\n  annotations:\n    rabbitmq.eventing.knative.dev/parallelism: \"1001\"\n", "parallelism"},
		{"parallelism zero", "  name: a\n", "  name: a\n  annotations:\n    rabbitmq.eventing.knative.dev/parallelism: \"0\"\n", "parallelism"},
		{"parallelism text", "  name: a\n", "  name: a\n  annotations:\n    rabbitmq.eventing.knative.dev/parallelism: many\n", "parallelism"},
		{"relative uri without ref", "http://example.test/x", "/x", "must be absolute"},
		{"no subscriber", "  subscriber:\n    uri: http://example.test/x\n", "", "spec.subscriber: required"},
		{"no broker", "  broker: default\n", "", "spec.broker: required"},
		{"wrong kind", "kind: Trigger", "kind: Subscription", "apiVersion/kind"},
		{"x- filter", "      type: t1\n", "      type: t1\n      x-match: any\n", "not a CloudEvents attribute"},
		{"absolute uri with ref", "    uri: http://example.test/x\n", "    uri: http://example.test/x\n    ref:\n      apiVersion: serving.knative.dev/v1\n      kind: Service\n      name: alert\n", "must be relative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := doc("a")
			if !strings.Contains(src, c.replace) {
				t.Fatalf("fixture does not contain %q", c.replace)
			}
			src = strings.Replace(src, c.replace, c.with, 1)
			_, err := Parse("bad.yaml", []byte(src))
			if err == nil {
				t.Fatalf("no error for\n%s", src)
			}
			if !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "bad.yaml") {
				t.Errorf("error %q does not name file and %q", err, c.wantErr)
			}
		})
	}
}

func TestLoadDirErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadDir(dir); err == nil {
		t.Error("empty dir: no error")
	}
	for _, f := range []string{"a.yaml", "b.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(doc("same")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadDir(dir)
	if err == nil || !strings.Contains(err.Error(), "also defined") {
		t.Errorf("duplicate name: err = %v", err)
	}
}

func TestParseISODuration(t *testing.T) {
	good := map[string]time.Duration{
		"PT0.2S":       200 * time.Millisecond,
		"PT10S":        10 * time.Second,
		"PT1M30S":      90 * time.Second,
		"PT1H":         time.Hour,
		"P1D":          24 * time.Hour,
		"P1W":          7 * 24 * time.Hour,
		"P1DT2H3M4.5S": 26*time.Hour + 3*time.Minute + 4500*time.Millisecond,
		"PT0,5S":       500 * time.Millisecond,
		"PT0S":         0,
	}
	for in, want := range good {
		got, err := ParseISODuration(in)
		if err != nil || got != want {
			t.Errorf("ParseISODuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "0.2S", "PT-1S", "PT1X", "P1H", "PT1S1S", "PTT1S", "P1Y", "P1M", "PT1", "PTS", "1s", "PT1.2.3S"} {
		if d, err := ParseISODuration(in); err == nil {
			t.Errorf("ParseISODuration(%q) = %v, want error", in, d)
		}
	}
}

func TestRetryPolicy(t *testing.T) {
	three := 3
	delay := 10 * time.Millisecond
	cases := []struct {
		name    string
		d       *Delivery
		retries int
		waits   []time.Duration
	}{
		{"none", nil, 0, nil},
		{"defaults", &Delivery{}, 5, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{"exponential", &Delivery{Retry: &three, BackoffDelay: &delay}, 3, []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}},
		{"linear", &Delivery{Retry: &three, BackoffDelay: &delay, BackoffPolicy: BackoffLinear}, 3, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Trigger{Delivery: c.d}.RetryPolicy()
			if p.Retries != c.retries {
				t.Errorf("Retries = %d, want %d", p.Retries, c.retries)
			}
			for i, w := range c.waits {
				if got := p.Backoff(i + 1); got != w {
					t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
				}
			}
		})
	}
}

func TestStaticResolver(t *testing.T) {
	r := NewStaticResolver(map[string]string{
		"detect":      "http://127.0.0.1:8081/",
		"other/alert": "http://127.0.0.1:9999/",
		"alert":       "http://127.0.0.1:8082/base/",
		"broken":      "not a url",
	})
	ksvc := func(name, ns string) *Ref {
		return &Ref{APIVersion: ServiceAPIVersion, Kind: ServiceKind, Name: name, Namespace: ns}
	}
	cases := []struct {
		name string
		d    Destination
		want string
		err  string
	}{
		{"ksvc", Destination{Ref: ksvc("detect", "")}, "http://127.0.0.1:8081/", ""},
		{"ksvc relative uri", Destination{Ref: ksvc("alert", ""), URI: "dead-letters?x=1"}, "http://127.0.0.1:8082/base/dead-letters?x=1", ""},
		{"ksvc absolute path uri", Destination{Ref: ksvc("alert", ""), URI: "/t/fire"}, "http://127.0.0.1:8082/t/fire", ""},
		{"namespaced key wins", Destination{Ref: ksvc("alert", "other")}, "http://127.0.0.1:9999/", ""},
		{"plain uri", Destination{URI: "http://10.0.0.1:1234/sink"}, "http://10.0.0.1:1234/sink", ""},
		{"unknown service", Destination{Ref: ksvc("nope", "")}, "", "no local address"},
		{"other kind", Destination{Ref: &Ref{APIVersion: "v1", Kind: "Pod", Name: "x"}}, "", "only serving.knative.dev/v1 Service"},
		{"bad address", Destination{Ref: ksvc("broken", "")}, "", "not an absolute URL"},
		{"relative uri alone", Destination{URI: "/x"}, "", "not absolute"},
		{"empty", Destination{}, "", "neither"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := r.Resolve(c.d, "edgewatch")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.String() != c.want {
				t.Errorf("got %s, want %s", u, c.want)
			}
		})
	}
}
