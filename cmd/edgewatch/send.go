package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
)

// defaultTokenFile is where `make run` keeps the operator's token.
const defaultTokenFile = "out/local/tokens/operator"

// runSend posts one binary-mode CloudEvent to the broker ingress, as curl
// with ce- headers would.
func runSend(args []string) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	target := fs.String("to", "http://127.0.0.1:8080/", "broker ingress URL")
	typ := fs.String("type", "", "event type (required)")
	camera := fs.String("camera", "cam-1", "camera id (sets the camera extension and source)")
	source := fs.String("source", "", "event source (default /cameras/<camera>)")
	id := fs.String("id", "", "event id (default a new UUID)")
	contentType := fs.String("content-type", "application/json", "data content type")
	tokenFile := fs.String("token-file", defaultTokenFile, "file holding the token to send with (edgewatch up writes the operator's there); empty, or the default when it does not exist, sends none")
	ext := map[string]string{}
	fs.Func("ext", "an extension attribute NAME=VALUE, e.g. class=fire or regionx=120 (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want NAME=VALUE, got %q", s)
		}
		ext[k] = v
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *typ == "" || fs.NArg() != 1 {
		return fmt.Errorf("usage: edgewatch send -type TYPE [-camera ID] [-content-type CT] FILE")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	e := cloudevents.NewEvent()
	e.SetType(*typ)
	e.SetID(*id)
	if *id == "" {
		e.SetID(uuid.NewString())
	}
	e.SetSource(*source)
	if *source == "" {
		e.SetSource("/cameras/" + *camera)
	}
	e.SetExtension("camera", *camera)
	for k, v := range ext {
		e.SetExtension(k, v)
	}
	if err := e.Validate(); err != nil {
		return err
	}
	e.SetTime(time.Now())
	if err := e.SetData(*contentType, data); err != nil {
		return err
	}
	opts := []cehttp.Option{}
	if *tokenFile != "" {
		tok, err := tokenFromFile(*tokenFile)
		switch {
		case err == nil:
			opts = append(opts, cehttp.WithHeader("Authorization", "Bearer "+tok))
		case *tokenFile == defaultTokenFile && errors.Is(err, os.ErrNotExist):
			// No local run here: send without a token, as to a cluster's broker.
		default:
			return err
		}
	}
	c, err := cloudevents.NewClientHTTP(opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cloudevents.ContextWithTarget(context.Background(), *target), 30*time.Second)
	defer cancel()
	if res := c.Send(ctx, e); !cloudevents.IsACK(res) {
		return fmt.Errorf("broker refused %s: %v", e.ID(), res)
	}
	fmt.Println("sent", e.ID())
	return nil
}
