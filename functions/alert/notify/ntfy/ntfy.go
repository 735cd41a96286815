// Package ntfy publishes incident notifications to an ntfy server
// (https://ntfy.sh or a self-hosted one) in its HTTP publish format.
package ntfy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/notify"
)

// Config configures the ntfy notifier.
type Config struct {
	// URL is the topic URL, e.g. https://ntfy.sh/my-secret-topic. The topic
	// acts as a password on public servers, so the URL is never logged.
	URL string
	// Token, when set, is sent as a Bearer access token.
	Token string
	// Attach sends the snapshot as an attachment (PUT with the JPEG as body).
	Attach bool
	// Priority overrides the priority (1–5); 0 picks by class: 5 for gun and
	// knife, 4 for fire and accident, 3 for closings.
	Priority int
}

// Notifier publishes to one topic.
type Notifier struct {
	cfg    Config
	client *http.Client
}

// New returns an ntfy notifier.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return nil, errors.New("ntfy: the URL must name a server and a topic")
	}
	if cfg.Priority < 0 || cfg.Priority > 5 {
		return nil, fmt.Errorf("ntfy: priority %d is not from 1 to 5", cfg.Priority)
	}
	return &Notifier{cfg: cfg, client: client}, nil
}

// header encodes a value for an HTTP header; ntfy decodes RFC 2047 words.
func header(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return mime.BEncoding.Encode("UTF-8", s)
		}
	}
	return s
}

func (n *Notifier) priority(m notify.Message) int {
	switch {
	case n.cfg.Priority > 0:
		return n.cfg.Priority
	case m.Kind == notify.KindClosed:
		return 3
	case m.Incident.Class == "gun" || m.Incident.Class == "knife":
		return 5
	default:
		return 4
	}
}

// tags are ntfy emoji short codes plus the class and camera as plain tags.
func tags(m notify.Message) string {
	emoji := map[string]string{"fire": "fire", "gun": "rotating_light", "knife": "rotating_light", "accident": "warning"}[m.Incident.Class]
	if m.Kind == notify.KindClosed {
		emoji = "white_check_mark"
	}
	return strings.Join([]string{emoji, m.Incident.Class, m.Incident.Camera}, ",")
}

// Request builds the publish request for m: POST with the text as body, or,
// with an attachment, PUT with the JPEG as body and the text in the Message
// header.
func (n *Notifier) Request(ctx context.Context, m notify.Message) (*http.Request, error) {
	method, body := http.MethodPost, []byte(m.Text)
	attach := n.cfg.Attach && len(m.Incident.Snapshot) > 0
	if attach {
		method, body = http.MethodPut, m.Incident.Snapshot
	}
	req, err := http.NewRequestWithContext(ctx, method, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, notify.RedactError(err)
	}
	req.Header.Set("Title", header(m.Title))
	req.Header.Set("Priority", strconv.Itoa(n.priority(m)))
	req.Header.Set("Tags", header(tags(m)))
	if m.Link != "" {
		req.Header.Set("Click", m.Link)
	}
	if attach {
		req.Header.Set("Filename", "incident-"+m.Incident.ID+".jpg")
		req.Header.Set("Message", header(m.Text))
		req.Header.Set("Content-Type", "image/jpeg")
	} else {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	if n.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+n.cfg.Token)
	}
	return req, nil
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	req, err := n.Request(ctx, m)
	if err != nil {
		return fmt.Errorf("ntfy: %w", err)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("ntfy: %w", notify.SendError(err))
	}
	defer resp.Body.Close()
	if err := notify.CheckResponse(resp, time.Now()); err != nil {
		return fmt.Errorf("ntfy %s: %w", notify.Redact(n.cfg.URL), err)
	}
	return nil
}
