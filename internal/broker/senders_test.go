package broker

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgewatch/edgewatch/internal/eventpolicy"
)

// withUser returns url with name:token as its user info, which Go's HTTP
// client sends as Basic credentials, as a function's K_SINK does.
func withUser(url, name, token string) string {
	return strings.Replace(url, "http://", "http://"+name+":"+token+"@", 1)
}

// TestSendersAreCheckedAgainstTheEventPolicies runs the committed Triggers
// and EventPolicies: events are taken only with a token whose sender may
// send their type, and a subscriber's reply only when that subscriber may.
func TestSendersAreCheckedAgainstTheEventPolicies(t *testing.T) {
	ts := loadCommitted(t)
	fastDelivery(ts, 0)
	routePerTrigger(ts)
	table, err := eventpolicy.LoadDir("../../config/eventpolicies", "edgewatch", "default", ts)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"motion-source": "tok-motion", "detect": "tok-detect", "caption": "tok-caption", eventpolicy.Operator: "tok-op"}
	b := startBroker(t, ts, func(c *Config) { c.Senders = &Senders{Tokens: tokens, Allow: table} })
	detect, alert := b.sinks["detect"], b.sinks["alert"]
	rejected := func(reason string) float64 {
		return testutil.ToFloat64(b.m.ingressRejected.WithLabelValues(reason))
	}

	motion := newEvent("m-1", typeMotion, nil, []byte{0xff, 0xd8}, "image/jpeg")
	if code, body := postBinary(t, b.ingressURL, motion); code != http.StatusUnauthorized || !strings.Contains(body, "token") {
		t.Errorf("no token: %d %q, want 401 naming the token", code, body)
	}
	if code, _ := postBinary(t, withUser(b.ingressURL, "x", "not-a-token"), motion); code != http.StatusUnauthorized {
		t.Errorf("unknown token: %d, want 401", code)
	}
	if code, body := postBinary(t, withUser(b.ingressURL, "detect", "tok-detect"), motion); code != http.StatusForbidden || !strings.Contains(body, "detections-from-detect") {
		t.Errorf("motion from detect's token: %d %q, want 403 naming the policy", code, body)
	}
	caption := newEvent("caption-1", "dev.edgewatch.caption.created", nil, []byte(`{}`), "application/json")
	if code, body := postBinary(t, withUser(b.ingressURL, "motion-source", "tok-motion"), caption); code != http.StatusForbidden || !strings.Contains(body, "motion-from-motion-source") {
		t.Errorf("caption from motion-source's token: %d %q, want 403", code, body)
	}
	if got := rejected(rejectUnauthorized); got != 2 {
		t.Errorf("rejected{unauthenticated} = %v, want 2", got)
	}
	if got := rejected(rejectForbidden); got != 2 {
		t.Errorf("rejected{forbidden} = %v, want 2", got)
	}

	// detect answers the first motion with a detection, which it may send,
	// and the second with a caption, which it may not: that reply is
	// refused and the motion event dead-lettered with the reason.
	detect.setRespond(func(r received, n int) (int, http.Header, []byte) {
		h := http.Header{}
		h.Set("Ce-Specversion", "1.0")
		h.Set("Ce-Source", "/cameras/cam-1")
		h.Set("Content-Type", "application/json")
		if r.Event.ID() == "m-ok" {
			h.Set("Ce-Id", "m-ok.fire")
			h.Set("Ce-Type", typeFire)
		} else {
			h.Set("Ce-Id", "forged-caption")
			h.Set("Ce-Type", "dev.edgewatch.caption.created")
		}
		return http.StatusOK, h, []byte(`{}`)
	})
	req, err := http.NewRequest(http.MethodPost, b.ingressURL, strings.NewReader("\xff\xd8"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Authorization": "Bearer tok-motion", "Ce-Specversion": "1.0", "Ce-Id": "m-ok",
		"Ce-Type": typeMotion, "Ce-Source": "/cameras/cam-1", "Content-Type": "image/jpeg"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("motion with motion-source's Bearer token: %d, want 202", resp.StatusCode)
	}
	mustAccept(t, withUser(b.ingressURL, eventpolicy.Operator, "tok-op"), newEvent("m-forge", typeMotion, nil, []byte{0xff, 0xd8}, "image/jpeg"))
	eventually(t, 10*time.Second, "the detection at alert and the dead letter", func() bool {
		return len(alert.requests("/t/detection-fire-alert")) == 1 && len(alert.requests("/dls/motion-detect")) == 1
	})
	if ev := alert.requests("/t/detection-fire-alert")[0].Event; ev == nil || ev.ID() != "m-ok.fire" {
		t.Errorf("detection at alert: %+v", ev)
	}
	dead := alert.requests("/dls/motion-detect")[0].Event
	if dead == nil || dead.ID() != "m-forge" || !strings.Contains(fmtExt(dead.Extensions()[ExtErrorData]), "403") {
		t.Errorf("dead letter of the motion whose reply was forged: %+v", dead)
	}
	if n := len(alert.requests("/t/caption-alert")); n != 0 {
		t.Errorf("the forged caption reached alert %d times", n)
	}
}

func fmtExt(v any) string {
	s, _ := v.(string)
	return s
}
