package broker

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgewatch/edgewatch/internal/triggers"
)

func emptyResolver() triggers.Resolver { return triggers.NewStaticResolver(nil) }

// FuzzIngress throws arbitrary requests at a real ingress publishing to the
// local RabbitMQ: it must never panic and must answer only 202 (a valid
// event, published), 400 (not a valid CloudEvent) or 413 (too large).
func FuzzIngress(f *testing.F) {
	b := startBroker(f, nil, func(c *Config) { c.MaxBodyBytes = 4096 })
	const structured = "application/cloudevents+json"
	f.Add("image/jpeg", "1.0", "id-1", "dev.edgewatch.motion.detected", "/cameras/c", "camera", "c", []byte{0xff, 0xd8})
	f.Add(structured, "", "", "", "", "", "", []byte(`{"specversion":"1.0","id":"1","type":"t","source":"/s","data":{"a":1}}`))
	f.Add(structured, "", "", "", "", "", "", []byte(`{"specversion":"1.0","id":"1","type":"t","source":"/s","data_base64":"AAEC"}`))
	f.Add(structured, "", "", "", "", "", "", []byte(`{"specversion":"1.0","id":"1","type":"t","source":"/s","data_base64":"!!"}`))
	f.Add(structured, "", "", "", "", "", "", []byte(`{"specversion":"0.3","id":1}`))
	f.Add(structured, "", "", "", "", "", "", []byte(`[{"specversion":"1.0"}]`))
	f.Add("application/cloudevents-batch+json", "", "", "", "", "", "", []byte(`[{"specversion":"1.0","id":"1","type":"t","source":"/s"}]`))
	f.Add("application/json", "1.0", "", "t", "/s", "", "", []byte(`{}`))
	f.Add("", "1.0", "1", "t", "/s", "time", "not-a-time", []byte(nil))
	f.Add("", "1.0", "1", "t", "%zz", "Bad-Name", "v", []byte(nil))
	f.Add("text/plain", "1.0", "1", "t", "/s", "dataschema", "::", bytes.Repeat([]byte("x"), 5000))
	f.Fuzz(func(t *testing.T, contentType, specversion, id, typ, source, extName, extValue string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		set := func(k, v string) {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		set("Content-Type", contentType)
		set("Ce-Specversion", specversion)
		set("Ce-Id", id)
		set("Ce-Type", typ)
		set("Ce-Source", source)
		if extName != "" {
			set("Ce-"+extName, extValue)
		}
		rec := httptest.NewRecorder()
		b.Ingress().ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d (%s) for content type %q headers %v body %q", rec.Code, rec.Body, contentType, req.Header, body)
		}
		if rec.Code != http.StatusAccepted && rec.Body.Len() == 0 {
			t.Fatalf("status %d without a reason", rec.Code)
		}
	})
}
