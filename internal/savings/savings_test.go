package savings

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

var day = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)

func testConfig() Config {
	return Config{StableWindow: 60 * time.Second, GracePeriod: 30 * time.Second, Target: 16, Utilization: 0.7,
		ContainerConcurrency: 16, MaxScale: 2, ColdStart: 20 * time.Second, ServiceTime: 100 * time.Millisecond,
		GPUsPerPod: 1, MiBPerPod: 1000}
}

func at(d time.Duration) Event {
	return Event{Time: day.Add(d), Camera: "gate-1", ID: d.String(), Bytes: 100, Kind: "crop"}
}

func TestReadNamesTheBadLine(t *testing.T) {
	good := `{"time":"2026-12-03T10:20:07.61Z","camera":"gate-1","id":"a","bytes":31234,"kind":"crop","track":"1","tracks":["1","2"]}`
	early := `{"time":"2026-12-03T10:20:06Z","camera":"gate-2","id":"b","bytes":1,"kind":"frame"}`
	for _, tc := range []struct{ name, in, want string }{
		{"malformed", good + "\n{not json\n", "line 2: not a timeline event"},
		{"unsorted", good + "\n\n" + early + "\n", "line 3: time 2026-12-03T10:20:06Z is before"},
		{"no camera", `{"time":"2026-12-03T10:20:07Z","kind":"crop"}`, "line 1: no camera"},
		{"kind", `{"time":"2026-12-03T10:20:07Z","camera":"c","kind":"clip"}`, `line 1: kind "clip"`},
		{"unknown field", `{"time":"2026-12-03T10:20:07Z","camera":"c","kind":"crop","size":3}`, "line 1: not a timeline event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.in), ReadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	events, err := Read(strings.NewReader(good+"\n"+early+"\n"), ReadOptions{Unsorted: true})
	if err != nil {
		t.Fatal(err)
	}
	Sort(events)
	if events[0].Camera != "gate-2" || events[1].Tracks[1] != "2" {
		t.Fatalf("sorted = %+v", events)
	}
	var buf bytes.Buffer
	if err := Write(&buf, events); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&buf, ReadOptions{})
	if err != nil || len(back) != 2 || !back[1].Time.Equal(events[1].Time) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
}

func TestGenerateIsReproducibleAndFollowsTheDay(t *testing.T) {
	a, err := Generate(Busy(4, day, 24*time.Hour, 7))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(Busy(4, day, 24*time.Hour, 7))
	c, _ := Generate(Busy(4, day, 24*time.Hour, 8))
	if len(a) != len(b) || !a[len(a)/2].Time.Equal(b[len(b)/2].Time) {
		t.Fatal("the same seed gave two timelines")
	}
	if len(a) == len(c) && a[len(a)/2].Time.Equal(c[len(c)/2].Time) {
		t.Fatal("two seeds gave the same timeline")
	}
	q, _ := Generate(Quiet(4, day, 24*time.Hour, 7))
	if len(q)*5 > len(a) {
		t.Fatalf("quiet has %d events, busy %d", len(q), len(a))
	}
	var night, rush int
	for i, e := range a {
		if i > 0 && e.Time.Before(a[i-1].Time) {
			t.Fatalf("event %d out of order", i)
		}
		switch e.Time.Hour() {
		case 3:
			night++
		case 8:
			rush++
		}
	}
	if night*4 > rush {
		t.Fatalf("03:00 has %d events, 08:00 %d: no daily curve", night, rush)
	}
	if _, err := Generate(Busy(0, day, time.Hour, 1)); err == nil {
		t.Fatal("zero cameras accepted")
	}
}

func TestOneEventColdStartsAndHoldsThePodUntilIdle(t *testing.T) {
	c := testConfig()
	c.Retention = 5 * time.Minute
	r, err := Simulate([]Event{at(time.Minute)}, c, day, day.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r.ColdStarts != 1 || r.Delayed != 1 || r.AddedP99 != c.ColdStart {
		t.Fatalf("result %+v", r)
	}
	// Held from the event through the cold start and service, then for the
	// stable window plus the retention period, to the next autoscaler tick.
	want := (c.ColdStart + c.ServiceTime + c.IdleToZero()).Seconds()
	if r.PodSeconds < want || r.PodSeconds > want+tick.Seconds() {
		t.Fatalf("pod seconds %.1f, want %.1f..%.1f", r.PodSeconds, want, want+tick.Seconds())
	}
	if r.MiBHours != r.PodSeconds*1000/3600 {
		t.Fatalf("MiB·h %.2f for %.1f pod seconds", r.MiBHours, r.PodSeconds)
	}
}

func TestRetentionDecidesWhetherAGapColdStarts(t *testing.T) {
	events := []Event{at(time.Minute), at(5 * time.Minute)}
	c := testConfig()
	short, _ := Simulate(events, c, day, day.Add(time.Hour))
	c.Retention = 10 * time.Minute
	long, _ := Simulate(events, c, day, day.Add(time.Hour))
	if short.ColdStarts != 2 || long.ColdStarts != 1 || long.AddedP50 != 0 {
		t.Fatalf("short %+v, long %+v", short, long)
	}
	if long.PodSeconds <= short.PodSeconds {
		t.Fatalf("retention held less: %.0f <= %.0f", long.PodSeconds, short.PodSeconds)
	}
}

func TestBurstScalesUpToMaxScale(t *testing.T) {
	var events []Event
	for i := range 3000 {
		events = append(events, at(time.Minute+time.Duration(i)*5*time.Millisecond))
	}
	c := testConfig()
	r, err := Simulate(events, c, day, day.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxPods != c.MaxScale || r.ColdStarts != 1 || r.PodStarts != 2 {
		t.Fatalf("result %+v", r)
	}
}

func TestSweepAgainstAlwaysOn(t *testing.T) {
	start := day.Add(6 * time.Hour)
	events, err := Generate(Quiet(4, start, 6*time.Hour, 3))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Sweep("quiet", events, testConfig(), start, start.Add(6*time.Hour), Retentions)
	if err != nil {
		t.Fatal(err)
	}
	if rep.AlwaysOn.PodSeconds != 6*3600 || rep.AlwaysOn.ColdStarts != 0 {
		t.Fatalf("always on %+v", rep.AlwaysOn)
	}
	for i, row := range rep.Rows {
		if row.Saved <= 0 || row.Saved >= 1 {
			t.Fatalf("retention %s saved %.3f", row.Retention, row.Saved)
		}
		if i > 0 && (row.Saved > rep.Rows[i-1].Saved || row.Result.ColdStarts > rep.Rows[i-1].Result.ColdStarts) {
			t.Fatalf("retention %s saved more or cold-started more than %s", row.Retention, rep.Rows[i-1].Retention)
		}
	}
	var table, png bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "| 10m0s |") || strings.Count(table.String(), "\n|") != 9 {
		t.Fatalf("table:\n%s", table.String())
	}
	if err := WriteChart(&png, []Report{rep}); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")) {
		t.Fatal("chart is not a PNG")
	}
}

func TestImpossibleSettingsNameTheFlag(t *testing.T) {
	for flag, mutate := range map[string]func(*Config){
		"-window":       func(c *Config) { c.StableWindow = time.Second },
		"-grace":        func(c *Config) { c.GracePeriod = 0 },
		"-max-scale":    func(c *Config) { c.MaxScale = 0 },
		"-utilization":  func(c *Config) { c.Utilization = 1.5 },
		"-service-time": func(c *Config) { c.ServiceTime = 0 },
	} {
		c := testConfig()
		mutate(&c)
		if _, err := Simulate(nil, c, day, day.Add(time.Hour)); err == nil || !strings.HasPrefix(err.Error(), flag+" ") {
			t.Errorf("%s: err = %v", flag, err)
		}
	}
	if _, err := Simulate([]Event{at(2 * time.Hour)}, testConfig(), day, day.Add(time.Hour)); err == nil {
		t.Error("an event outside the span was accepted")
	}
}

func TestDeployedReadsDetectsManifest(t *testing.T) {
	svc, err := os.ReadFile("../../config/services/detect.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Deployed(svc, []byte("data:\n  scale-to-zero-grace-period: 45s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Retention != 10*time.Minute || c.StableWindow != time.Minute || c.Target != 16 || c.Utilization != 0.7 ||
		c.MaxScale != 2 || c.ContainerConcurrency != 16 || c.GPUsPerPod != 1 || c.GracePeriod != 45*time.Second {
		t.Fatalf("config %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(svc), `target: "16"`, `target: "many"`, 1)
	if _, err := Deployed([]byte(bad), nil); err == nil || !strings.Contains(err.Error(), "autoscaling.knative.dev/target") {
		t.Fatalf("err = %v", err)
	}
}
