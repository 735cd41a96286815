package eventpolicy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/internal/triggers"
)

func repoTable(t *testing.T) *Table {
	t.Helper()
	ts, err := triggers.LoadDir("../../config/triggers")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := LoadDir("../../config/eventpolicies", "edgewatch", "default", ts)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// TestRepositoryPoliciesGiveEachTypeOneProducer checks the shipped
// EventPolicies against the event contract: every type has exactly the
// producer docs/events.md names, and nobody else may send it.
func TestRepositoryPoliciesGiveEachTypeOneProducer(t *testing.T) {
	tb := repoTable(t)
	producers := map[string]string{
		"dev.edgewatch.motion.detected":    "motion-source",
		"dev.edgewatch.detection.accident": "detect",
		"dev.edgewatch.detection.fire":     "detect",
		"dev.edgewatch.detection.gun":      "detect",
		"dev.edgewatch.detection.knife":    "detect",
		"dev.edgewatch.incident.opened":    "alert",
		"dev.edgewatch.caption.created":    "caption",
	}
	senders := tb.Senders()
	if got := strings.Join(senders, ","); got != "alert,caption,detect,motion-source" {
		t.Fatalf("senders = %s", got)
	}
	for typ, producer := range producers {
		for _, s := range append(senders, "dashboard", "") {
			err := tb.Allows(s, typ)
			if (err == nil) != (s == producer) {
				t.Errorf("Allows(%q, %s) = %v; only %s may send it", s, typ, err, producer)
			}
		}
		if err := tb.Allows(Operator, typ); err != nil {
			t.Errorf("the operator may send %s: %v", typ, err)
		}
	}
	err := tb.Allows("detect", "dev.edgewatch.caption.created")
	if err == nil || !strings.Contains(err.Error(), "detections-from-detect") || !strings.Contains(err.Error(), "dev.edgewatch.detection.*") {
		t.Errorf("a forged caption from detect: %v; want the policy and what it allows named", err)
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

const head = "apiVersion: eventing.knative.dev/v1alpha1\nkind: EventPolicy\nmetadata:\n  name: p\n  namespace: ns\nspec:\n"

func TestFirstPolicyNamingTheSenderDecidesAsKnativeDoes(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", head+"  from:\n    - sub: system:serviceaccount:ns:x\n  filters:\n    - any:\n        - exact: {type: a}\n        - prefix: {type: b.}\n")
	write(t, dir, "b.yaml", strings.Replace(head, "name: p", "name: q", 1)+"  from:\n    - sub: system:serviceaccount:ns:x\n    - sub: system:serviceaccount:ns:y\n")
	write(t, dir, "c.yaml", strings.Replace(head, "name: p", "name: other", 1)+"  to:\n    - ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: elsewhere}\n  from:\n    - sub: system:serviceaccount:ns:z\n")
	tb, err := LoadDir(dir, "ns", "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sender, typ string
		ok          bool
	}{
		{"x", "a", true}, {"x", "b.1", true}, {"x", "c", false}, // p decides for x, q is never reached
		{"y", "c", true}, // q has no filters
		{"z", "a", false}, {"", "a", false},
	} {
		if err := tb.Allows(c.sender, c.typ); (err == nil) != c.ok {
			t.Errorf("Allows(%q, %q) = %v, want allowed=%v", c.sender, c.typ, err, c.ok)
		}
	}
}

func TestPoliciesLocalEnforcementCannotHonourAreRefused(t *testing.T) {
	for name, body := range map[string]string{
		"cesql filter":    "  from:\n    - sub: system:serviceaccount:ns:x\n  filters:\n    - cesql: \"type = 'a'\"\n",
		"source filter":   "  from:\n    - sub: system:serviceaccount:ns:x\n  filters:\n    - exact: {source: a}\n",
		"wildcard sub":    "  from:\n    - sub: system:serviceaccount:ns:*\n",
		"pingsource ref":  "  from:\n    - ref: {apiVersion: sources.knative.dev/v1, kind: PingSource, name: p}\n",
		"unknown trigger": "  from:\n    - ref: {apiVersion: eventing.knative.dev/v1, kind: Trigger, name: nope}\n",
		"unknown field":   "  form:\n    - sub: system:serviceaccount:ns:x\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "p.yaml", head+body)
			if _, err := LoadDir(dir, "ns", "default", nil); err == nil {
				t.Fatal("loaded")
			}
		})
	}
}
