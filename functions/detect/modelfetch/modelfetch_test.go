package modelfetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// server serves files by name and counts requests.
func server(t *testing.T, files map[string][]byte) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		data, ok := files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func pin(name string, data []byte, url string) File {
	sum := sha256.Sum256(data)
	return File{Name: name, URL: url + "/" + name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}

func TestFetchVerifiesAndSkipsWhatIsThere(t *testing.T) {
	data := []byte("weights bytes")
	srv, hits := server(t, map[string][]byte{"m.weights": data})
	dir := t.TempDir()
	f := pin("m.weights", data, srv.URL)
	for i := 0; i < 2; i++ {
		path, err := Fetcher{}.Fetch(context.Background(), f, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != string(data) {
			t.Fatalf("file holds %q", got)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("%d downloads, want 1 (the second fetch finds the verified file)", hits.Load())
	}
}

func TestFetchRefusesWhatDoesNotMatchItsPin(t *testing.T) {
	data := []byte("the real weights")
	srv, _ := server(t, map[string][]byte{"m.weights": data, "short": data[:5], "long": append(data, '!')})
	good := pin("m.weights", data, srv.URL)
	cases := map[string]struct {
		f    File
		want string
	}{
		"altered content": {func() File { f := good; f.SHA256 = strings.Repeat("0", 64); return f }(), "does not match"},
		"short download":  {func() File { f := good; f.URL = srv.URL + "/short"; return f }(), "got 5 bytes"},
		"long download":   {func() File { f := good; f.URL = srv.URL + "/long"; return f }(), "got 17 bytes"},
		"not found":       {func() File { f := good; f.URL = srv.URL + "/absent"; return f }(), "404"},
		"no pin":          {func() File { f := good; f.SHA256 = ""; return f }(), "pin"},
		"path in name":    {func() File { f := good; f.Name = "../x"; return f }(), "plain name"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Fetcher{}.Fetch(context.Background(), c.f, dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Fetch = %v; want an error mentioning %q", err, c.want)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("left %v behind", left)
			}
		})
	}
}

func TestOfficialPins(t *testing.T) {
	for kind, size := range map[string]int64{"tiny": 24_251_276, "full": 257_717_640} {
		s, err := Official(kind)
		if err != nil {
			t.Fatal(err)
		}
		if s.Weights.Size != size || s.Names.Size != 625 {
			t.Errorf("%s: weights pinned at %d bytes", kind, s.Weights.Size)
		}
		for _, f := range s.Files() {
			if len(f.SHA256) != 64 || !strings.HasPrefix(f.URL, "https://") {
				t.Errorf("%s: %+v", kind, f)
			}
		}
		m := s.Mirror("http://127.0.0.1:1/models/")
		if m.Weights.URL != "http://127.0.0.1:1/models/"+s.Weights.Name {
			t.Errorf("mirror URL %s", m.Weights.URL)
		}
	}
	if _, err := Official("yolov9"); err == nil {
		t.Error("unknown kind accepted")
	}
}
