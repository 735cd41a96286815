// Package function is the caption function: see docs/architecture.md.
package function

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Function is the caption function instance.
type Function struct{}

// New returns a new caption function instance.
func New() *Function { return &Function{} }

// Handle receives one CloudEvent.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	return nil, nil
}
