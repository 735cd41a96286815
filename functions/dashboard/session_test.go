package function

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clientFrom returns an HTTP client that connects from the loopback address
// ip, another client as far as the dashboard can tell, and follows no
// redirect.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login posts token on the login form and returns the answer and the
// session cookie it set, if any.
func login(t *testing.T, c *http.Client, base, token string) (*http.Response, *http.Cookie) {
	t.Helper()
	resp, err := c.PostForm(base+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "edgewatch_session" && ck.Value != "" {
			return resp, ck
		}
	}
	return resp, nil
}

func cookieStatus(t *testing.T, c *http.Client, base string, ck *http.Cookie) int {
	t.Helper()
	resp, _ := get(t, c, base+"/api/incidents", "Cookie", ck.Name+"="+ck.Value)
	return resp.StatusCode
}

func TestSessionsAreRandomRevocableAndEndWithTheToken(t *testing.T) {
	e := startDashboard(t, map[string]string{"DASHBOARD_TOKEN": "tok-1"}, true)
	c := clientFrom("127.0.0.1")
	_, a := login(t, c, e.srv.URL, "tok-1")
	_, b := login(t, c, e.srv.URL, "tok-1")
	if a == nil || b == nil || a.Value == b.Value || len(a.Value) != 43 {
		t.Fatalf("two logins gave cookies %v and %v: want two different random 256-bit ids", a, b)
	}
	if !a.HttpOnly || a.SameSite != http.SameSiteStrictMode || a.Secure || a.MaxAge != 12*3600 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP, 12 h", a)
	}
	if cookieStatus(t, c, e.srv.URL, a) != http.StatusOK || cookieStatus(t, c, e.srv.URL, b) != http.StatusOK {
		t.Fatal("a fresh session is refused")
	}
	if n := e.f.sessionCount(); n != 2 {
		t.Fatalf("%d sessions held, want 2", n)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/logout", nil)
	req.AddCookie(a)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cookieStatus(t, c, e.srv.URL, a) != http.StatusUnauthorized {
		t.Fatal("the cookie still opens the API after logout: logout must end the session here")
	}
	if cookieStatus(t, c, e.srv.URL, b) != http.StatusOK {
		t.Fatal("logout of one session ended another")
	}
	resp, err = c.Do(mustForm(t, e.srv.URL+"/login", "tok-1", "https"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Fatalf("behind an HTTPS proxy the cookie is not Secure: %v", cs)
	}

	// A changed token needs a restart: the new process knows none of the
	// old sessions.
	e2 := startDashboard(t, map[string]string{"DASHBOARD_TOKEN": "tok-2"}, true)
	if cookieStatus(t, c, e2.srv.URL, b) != http.StatusUnauthorized {
		t.Fatal("a session of the old token opens the dashboard with a new token")
	}
	if _, ck := login(t, c, e2.srv.URL, "tok-1"); ck != nil {
		t.Fatal("the old token still logs in")
	}
}

func mustForm(t *testing.T, u, token, proto string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", proto)
	return req
}

func TestFailedLoginsAreLimitedPerClient(t *testing.T) {
	e := startDashboard(t, map[string]string{"DASHBOARD_TOKEN": "tok-1", "DASHBOARD_USER": "ops", "DASHBOARD_PASSWORD": "pw",
		"DASHBOARD_LOGIN_FAILURES": "3", "DASHBOARD_LOGIN_WINDOW": "10m"}, true)
	attacker, other := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	_, kept := login(t, attacker, e.srv.URL, "tok-1") // a session opened before the flood
	if kept == nil {
		t.Fatal("login failed")
	}
	resp, _ := get(t, attacker, e.srv.URL+"/api/incidents", "Authorization", "Bearer wrong-1")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong bearer: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/incidents", nil)
	req.SetBasicAuth("ops", "wrong-2")
	if resp, err := attacker.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong basic: %v %v", resp, err)
	}
	if resp, ck := login(t, attacker, e.srv.URL, "wrong-3"); resp.StatusCode != http.StatusSeeOther || ck != nil {
		t.Fatalf("wrong login: %d", resp.StatusCode)
	}
	// Three failures: this client is refused, the right token included.
	for _, try := range []func() *http.Response{
		func() *http.Response { r, _ := login(t, attacker, e.srv.URL, "tok-1"); return r },
		func() *http.Response {
			r, _ := get(t, attacker, e.srv.URL+"/api/incidents", "Authorization", "Bearer tok-1")
			return r
		},
	} {
		r := try()
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.StatusCode != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 600 {
			t.Fatalf("after 3 failures: %d, Retry-After %q; want 429 and up to 600 s", r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
	if cookieStatus(t, attacker, e.srv.URL, kept) != http.StatusOK {
		t.Fatal("a session opened before the flood was refused")
	}
	if _, ck := login(t, other, e.srv.URL, "tok-1"); ck == nil || cookieStatus(t, other, e.srv.URL, ck) != http.StatusOK {
		t.Fatal("another client cannot log in while one is limited")
	}
	for outcome, want := range map[string]float64{"failed": 3, "limited": 2, "ok": 2} {
		if got := testutil.ToFloat64(e.f.logins.WithLabelValues(outcome)); got != want {
			t.Errorf("logins{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
}
