//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/bits"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// loopbackClient returns an HTTP client that connects from the loopback
// address ip (another client as far as the dashboard can tell) and follows
// no redirect.
func loopbackClient(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// dashboardLogin posts token on the login form; it returns the status, the
// Retry-After header and the session cookie set, if any.
func dashboardLogin(t *testing.T, c *http.Client, base, token string) (int, string, *http.Cookie) {
	t.Helper()
	resp, err := c.PostForm(base+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "edgewatch_session" && ck.Value != "" {
			return resp.StatusCode, resp.Header.Get("Retry-After"), ck
		}
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// withCookie GETs path with the session cookie and returns the status.
func withCookie(t *testing.T, c *http.Client, u string, ck *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.AddCookie(ck)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestHostileDashboardLoginFlood floods the running dashboard's login with
// wrong tokens from one client: past the limit it answers 429 with
// Retry-After, the right token still logs in from another client, logout
// ends the session on the server, and session ids are random.
func TestHostileDashboardLoginFlood(t *testing.T) {
	const token = "hostile-test-token-5f1c"
	p := startPipeline(t, options{env: []string{"DASHBOARD_TOKEN=" + token}})
	base := fmt.Sprintf("http://127.0.0.1:%d", p.ports.dashboard())
	attacker := loopbackClient("127.0.0.1")
	eventually(t, time.Minute, "the dashboard to serve its login page", func() bool {
		resp, err := attacker.Get(base + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized
	})

	const flood, workers = 400, 8
	var mu sync.Mutex
	codes := map[int]int{}
	badRetry := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := w; i < flood; i += workers {
				code, retry, ck := dashboardLogin(t, attacker, base, "guess-"+strconv.Itoa(i))
				mu.Lock()
				codes[code]++
				if ck != nil {
					codes[-1]++ // a wrong token opened a session
				}
				if code == http.StatusTooManyRequests {
					if s, err := strconv.Atoi(retry); err != nil || s < 1 || s > 60 {
						badRetry++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rightLimited, _, _ := dashboardLogin(t, attacker, base, token)

	// Another client logs in with the right token, twice.
	var ids []*http.Cookie
	lost := 0
	for i, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"} {
		code, _, ck := dashboardLogin(t, loopbackClient(ip), base, token)
		if code != http.StatusSeeOther || ck == nil || withCookie(t, loopbackClient(ip), base+"/api/incidents", ck) != http.StatusOK {
			t.Errorf("login %d from %s with the right token during the flood: %d, cookie %v", i, ip, code, ck)
			lost++
			continue
		}
		ids = append(ids, ck)
	}
	// Session ids: 256 random bits each, so two differ in about half of them.
	minDist := 256
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			a, errA := base64.RawURLEncoding.DecodeString(ids[i].Value)
			b, errB := base64.RawURLEncoding.DecodeString(ids[j].Value)
			if errA != nil || errB != nil || len(a) != 32 || len(b) != 32 || strings.Contains(ids[i].Value, token) {
				t.Fatalf("session ids %q and %q are not 32 random bytes", ids[i].Value, ids[j].Value)
			}
			d := 0
			for k := range a {
				d += bits.OnesCount8(a[k] ^ b[k])
			}
			minDist = min(minDist, d)
		}
	}
	// Logout ends the session on the server: the old cookie is refused.
	other := loopbackClient("127.0.0.2")
	revoked := -1
	if len(ids) >= 2 {
		req, _ := http.NewRequest(http.MethodPost, base+"/logout", nil)
		req.AddCookie(ids[0])
		resp, err := other.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		revoked = withCookie(t, other, base+"/api/incidents", ids[0])
		if still := withCookie(t, other, base+"/api/incidents", ids[1]); still != http.StatusOK {
			t.Errorf("logout of one session ended another: %d", still)
			lost++
		}
	}
	limited := p.metric("dashboard", "edgewatch_dashboard_logins_total", `outcome="limited"`)
	failed := p.metric("dashboard", "edgewatch_dashboard_logins_total", `outcome="failed"`)
	reportHostile(t, hostileResult{
		Test:   "Dashboard login flood from one client",
		Load:   fmt.Sprintf("%d concurrent wrong logins + %d right logins from other clients", flood, len(ids)),
		Faults: "none (attacker)",
		Inputs: fmt.Sprintf("%d wrong tokens", flood),
		Lost:   lost,
		Outcome: fmt.Sprintf("%d answered 303 (failed), %d 429 with Retry-After; right token from the flooding client: %d; old cookie after logout: %d; session ids differ in ≥ %d of 256 bits",
			codes[http.StatusSeeOther], codes[http.StatusTooManyRequests], rightLimited, revoked, minDist),
	})
	if codes[-1] != 0 || codes[http.StatusSeeOther] != 5 || codes[http.StatusTooManyRequests] != flood-5 || badRetry != 0 {
		t.Errorf("flood answers %v (%d bad Retry-After): want 5 failures, then 429 with Retry-After for the rest", codes, badRetry)
	}
	if rightLimited != http.StatusTooManyRequests {
		t.Errorf("the flooding client's right token got %d, want 429 until its window ends", rightLimited)
	}
	if revoked != http.StatusUnauthorized {
		t.Errorf("the cookie after logout got %d, want 401", revoked)
	}
	if minDist < 64 {
		t.Errorf("two session ids differ in only %d of 256 bits", minDist)
	}
	if failed != 5 || limited != float64(flood-5+1) {
		t.Errorf("logins_total: failed %v, limited %v; want 5 and %d", failed, limited, flood-5+1)
	}
	if lost != 0 {
		t.Fatalf("%d right logins or sessions were refused", lost)
	}
}
