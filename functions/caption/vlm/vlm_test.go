package vlm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/caption/vlm"
	"github.com/edgewatch/edgewatch/functions/caption/vlmtest"
)

func tinyJPEG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 24, 16)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestEndpoint(t *testing.T) {
	cases := map[string]string{
		"http://vlm:8000":               "http://vlm:8000/v1/chat/completions",
		"http://vlm:8000/":              "http://vlm:8000/v1/chat/completions",
		"http://vlm:8000/v1":            "http://vlm:8000/v1/chat/completions",
		"https://gw.example/ollama/v1/": "https://gw.example/ollama/v1/chat/completions",
		"https://gw.example/api":        "https://gw.example/api/v1/chat/completions",
	}
	for in, want := range cases {
		got, err := vlm.Endpoint(in)
		if err != nil || got != want {
			t.Errorf("Endpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "vlm:8000", "ftp://vlm", "http://", "http://vlm?x=1", "http://u:secret@vlm/%zz"} {
		if got, err := vlm.Endpoint(bad); err == nil {
			t.Errorf("Endpoint(%q) = %q, want an error", bad, got)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the URL's password: %v", err)
		}
	}
}

func TestCompleteSpeaksTheWireFormat(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{APIKey: "k1", Model: "smolvlm"})
	defer fake.Close()
	c, err := vlm.NewClient(fake.URL+"/v1", "k1", fake.Client())
	if err != nil {
		t.Fatal(err)
	}
	img := tinyJPEG(t)
	resp, err := c.Complete(context.Background(), vlm.NewImageRequest("smolvlm", "who wears what?", img, 64))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != vlmtest.Caption(img) || resp.Model != "smolvlm" || resp.Usage == nil || resp.Usage.CompletionTokens == 0 {
		t.Errorf("reply %+v", resp)
	}
	got := fake.Requests()[0]
	if got.Prompt != "who wears what?" || got.MaxTokens != 64 || !bytes.Equal(got.Image, img) || got.Authorization != "Bearer k1" {
		t.Errorf("request %+v", got)
	}
}

func TestRequestJSONShape(t *testing.T) {
	raw, err := json.Marshal(vlm.NewImageRequest("m", "p", []byte{0xFF, 0xD8, 0xFF}, 10))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"p"},` +
		`{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/"}}]}],"max_tokens":10,"stream":false}`
	if string(raw) != want {
		t.Errorf("got  %s\nwant %s", raw, want)
	}
}

func TestNoKeyNoAuthorizationHeader(t *testing.T) {
	fake := vlmtest.NewServer(vlmtest.Options{})
	defer fake.Close()
	c, _ := vlm.NewClient(fake.URL, "", fake.Client())
	if _, err := c.Complete(context.Background(), vlm.NewImageRequest("m", "p", tinyJPEG(t), 8)); err != nil {
		t.Fatal(err)
	}
	if a := fake.Requests()[0].Authorization; a != "" {
		t.Errorf("Authorization %q sent without a key", a)
	}
}

func TestErrorsAreDecodedAndSorted(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		message   string
		code      string
		retryable bool
	}{
		{"openai shape", 401, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`, "Incorrect API key provided", "invalid_api_key", false},
		{"numeric code", 400, `{"error":{"message":"image too large","type":"BadRequestError","code":400}}`, "image too large", "400", false},
		{"string error", 404, `{"error":"model 'llava' not found"}`, "model 'llava' not found", "", false},
		{"top-level message", 422, `{"object":"error","message":"max_tokens too large"}`, "max_tokens too large", "", false},
		{"fastapi detail", 422, `{"detail":[{"msg":"field required"}]}`, `[{"msg":"field required"}]`, "", false},
		{"plain text", 502, "<html>bad gateway</html>\n", "<html>bad gateway</html>", "", true},
		{"rate limited", 429, `{"error":{"message":"slow down"}}`, "slow down", "", true},
		{"overloaded", 503, ``, "", "", true},
		{"request timeout", 408, ``, "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			}))
			defer srv.Close()
			cl, _ := vlm.NewClient(srv.URL, "", srv.Client())
			_, err := cl.Complete(context.Background(), vlm.NewImageRequest("m", "p", []byte{1}, 8))
			var se *vlm.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *StatusError", err)
			}
			if se.StatusCode != c.status || se.Message != c.message || se.Code != c.code {
				t.Errorf("got %+v", se)
			}
			if vlm.Retryable(err) != c.retryable {
				t.Errorf("Retryable = %v", vlm.Retryable(err))
			}
		})
	}
}

func TestUnusableRepliesAreRetryable(t *testing.T) {
	cases := map[string]string{
		"not JSON":   "hello",
		"no choices": `{"id":"x","choices":[]}`,
		"empty text": `{"choices":[{"message":{"role":"assistant","content":"  "}}]}`,
		"null text":  `{"choices":[{"message":{"role":"assistant","content":null}}]}`,
		"too large":  `{"x":"` + strings.Repeat("a", 1<<20) + `"}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, body)
			}))
			defer srv.Close()
			cl, _ := vlm.NewClient(srv.URL, "", srv.Client())
			_, err := cl.Complete(context.Background(), vlm.NewImageRequest("m", "p", []byte{1}, 8))
			var re *vlm.ResponseError
			if !errors.As(err, &re) || !vlm.Retryable(err) {
				t.Fatalf("error %v (%T), want a retryable *ResponseError", err, err)
			}
		})
	}
}

func TestTransportFailuresAreRetryable(t *testing.T) {
	slow := vlmtest.NewServer(vlmtest.Options{Delay: 5 * time.Second})
	defer slow.Close()
	cl, _ := vlm.NewClient(slow.URL, "", slow.Client())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := cl.Complete(ctx, vlm.NewImageRequest("m", "p", tinyJPEG(t), 8))
	if !errors.Is(err, context.DeadlineExceeded) || !vlm.Retryable(err) {
		t.Errorf("slow endpoint: %v", err)
	}

	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL
	gone.Close()
	cl, _ = vlm.NewClient(url, "", http.DefaultClient)
	_, err = cl.Complete(context.Background(), vlm.NewImageRequest("m", "p", tinyJPEG(t), 8))
	if err == nil || !vlm.Retryable(err) {
		t.Errorf("closed endpoint: %v", err)
	}
}
