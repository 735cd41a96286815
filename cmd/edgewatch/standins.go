package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/caption/vlmtest"
	"github.com/edgewatch/edgewatch/internal/httpserver"
)

// startVLM serves the demo stand-in for a vision-language model, clearly
// labelled in every caption it writes, unless VLM_URL names a real one
// (caption then reads VLM_URL, VLM_MODEL and VLM_API_KEY from the environment).
func (p *pipeline) startVLM(o upOptions, port int) ([]string, error) {
	if os.Getenv("VLM_URL") != "" {
		return nil, nil
	}
	addr := fmt.Sprintf("%s:%d", o.host, port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("VLM stand-in: %w", err)
	}
	srv := httpserver.Bounded(vlmtest.NewHandler(vlmtest.Options{}), o.readTimeout, o.readTimeout+time.Minute)
	go func() { _ = srv.Serve(ln) }()
	p.closers = append(p.closers, func() { _ = srv.Close() })
	p.extra = append(p.extra, [2]string{"VLM stand-in", "http://" + addr + vlmtest.Path})
	p.notes = append(p.notes, "captions come from a stand-in that runs no model; set VLM_URL and VLM_MODEL for a real one")
	return []string{"VLM_URL=http://" + addr, "VLM_MODEL=" + vlmtest.Model}, nil
}

// startWebhookInbox receives alert's generic-webhook notifications and
// prints them, standing in for a team's chat or paging system.
func (p *pipeline) startWebhookInbox(o upOptions, port int, log *slog.Logger) (string, error) {
	if u := os.Getenv("NOTIFY_WEBHOOK_URL"); u != "" {
		return u, nil
	}
	addr := fmt.Sprintf("%s:%d", o.host, port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("webhook inbox: %w", err)
	}
	srv := httpserver.Bounded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var n map[string]any
		summary := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &n) == nil {
			delete(n, "image")
			delete(n, "snapshot")
			b, _ := json.Marshal(n)
			summary = string(b)
		}
		log.Info("notification received", "inbox", addr, "body", summary)
		w.WriteHeader(http.StatusNoContent)
	}), o.readTimeout, o.readTimeout+10*time.Second)
	go func() { _ = srv.Serve(ln) }()
	p.closers = append(p.closers, func() { _ = srv.Close() })
	p.extra = append(p.extra, [2]string{"notification inbox", "http://" + addr + "/"})
	return "http://" + addr + "/", nil
}
