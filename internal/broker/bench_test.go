package broker

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edgewatch/edgewatch/internal/triggers"
)

// benchSenders is how many events are in flight at once in both variants.
const benchSenders = 16

var benchSizes = []struct {
	name  string
	bytes int
}{{"1KB", 1 << 10}, {"200KB", 200 << 10}}

// arrivals wakes the sender waiting for an event id.
type arrivals struct{ m sync.Map }

func (a *arrivals) expect(id string) <-chan struct{} {
	ch := make(chan struct{})
	a.m.Store(id, ch)
	return ch
}

func (a *arrivals) arrived(id string) {
	if ch, ok := a.m.LoadAndDelete(id); ok {
		close(ch.(chan struct{}))
	}
}

// runClosedLoop sends b.N events from benchSenders goroutines, each waiting
// for its event to arrive before sending the next, and reports events/s and
// the 99th percentile round trip in ms.
func runClosedLoop(b *testing.B, send func(id string) error, a *arrivals) {
	b.Helper()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchSenders)
	prefix := randomUID(b)
	b.ResetTimer()
	start := time.Now()
	for range benchSenders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				id := prefix + "-" + strconv.Itoa(i)
				arrived := a.expect(id)
				t0 := time.Now()
				if err := send(id); err != nil {
					errs <- err
					return
				}
				select {
				case <-arrived:
				case <-time.After(30 * time.Second):
					errs <- fmt.Errorf("event %s never arrived", id)
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}

func payload(b *testing.B, n int) []byte {
	p := make([]byte, n)
	if _, err := rand.Read(p); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkBroker compares the local broker's whole path (HTTP POST to the
// ingress → confirmed publish → quorum queue → dispatcher → HTTP POST to the
// subscriber) with the bare RabbitMQ round trip underneath it (confirmed
// publish of a persistent message → quorum queue → consumer), at the same
// concurrency.
func BenchmarkBroker(b *testing.B) {
	b.Run("baseline", benchBaseline)
	b.Run("edgewatch", benchEdgewatch)
}

func benchBaseline(b *testing.B) {
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	pubCh, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if err := pubCh.Confirm(false); err != nil {
		b.Fatal(err)
	}
	queue := "bench." + randomUID(b)
	if _, err := pubCh.QueueDeclare(queue, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = pubCh.QueueDelete(queue, false, false, false) })
	subCh, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if err := subCh.Qos(Prefetch, 0, false); err != nil {
		b.Fatal(err)
	}
	deliveries, err := subCh.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	a := &arrivals{}
	go func() {
		for d := range deliveries {
			_ = d.Ack(false)
			a.arrived(d.MessageId)
		}
	}()
	for _, size := range benchSizes {
		body := payload(b, size.bytes)
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(size.bytes))
			runClosedLoop(b, func(id string) error {
				dc, err := pubCh.PublishWithDeferredConfirm("", queue, false, false, amqp.Publishing{
					MessageId: id, Body: body, DeliveryMode: amqp.Persistent, ContentType: "application/octet-stream",
				})
				if err != nil {
					return err
				}
				if !dc.Wait() {
					return fmt.Errorf("nacked")
				}
				return nil
			}, a)
		})
	}
}

func benchEdgewatch(b *testing.B) {
	a := &arrivals{}
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		a.arrived(r.Header.Get("Ce-Id"))
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(sub.Close)
	tr := triggers.Trigger{
		Name: "bench", Namespace: "edgewatch", Broker: "default", Parallelism: benchSenders,
		Filter:     map[string]string{"type": "dev.edgewatch.bench"},
		Subscriber: triggers.Destination{URI: sub.URL + "/"},
	}
	tb := startBroker(b, []triggers.Trigger{tr}, func(c *Config) { c.MaxBodyBytes = 1 << 20 })
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 100, MaxIdleConnsPerHost: 100}}
	for _, size := range benchSizes {
		body := payload(b, size.bytes)
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(size.bytes))
			runClosedLoop(b, func(id string) error {
				req, err := http.NewRequest(http.MethodPost, tb.ingressURL, bytes.NewReader(body))
				if err != nil {
					return err
				}
				req.Header.Set("Ce-Specversion", "1.0")
				req.Header.Set("Ce-Id", id)
				req.Header.Set("Ce-Type", "dev.edgewatch.bench")
				req.Header.Set("Ce-Source", "/bench")
				req.Header.Set("Content-Type", "application/octet-stream")
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					return fmt.Errorf("ingress answered %d", resp.StatusCode)
				}
				return nil
			}, a)
		})
	}
}
