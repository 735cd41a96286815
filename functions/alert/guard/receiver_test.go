package guard

import (
	"context"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// newReceiver returns the SDK's HTTP receive handler for fn, the handler
// func-go builds for a function.
func newReceiver(p *cehttp.Protocol, fn func(event.Event)) (http.Handler, error) {
	return cloudevents.NewHTTPReceiveHandler(context.Background(), p, fn)
}
