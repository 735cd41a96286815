// Package webhook sends incident notifications as JSON to any HTTP endpoint.
package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/notify"
)

// Config configures the webhook.
type Config struct {
	// URL receives a POST per notification.
	URL string
	// Authorization, when set, is sent as the Authorization header (a
	// secret: it is never logged).
	Authorization string
	// IncludeImage adds the snapshot as base64 JPEG.
	IncludeImage bool
}

// Notifier posts notifications to one URL.
type Notifier struct {
	cfg    Config
	client *http.Client
}

// New returns a webhook notifier.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if cfg.URL == "" {
		return nil, errors.New("webhook: no URL")
	}
	return &Notifier{cfg: cfg, client: client}, nil
}

// Location is a WGS84 position.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Incident is the incident as the webhook's JSON carries it.
type Incident struct {
	ID           string     `json:"id"`
	Camera       string     `json:"camera"`
	Class        string     `json:"class"`
	Status       string     `json:"status"`
	OpenedAt     *time.Time `json:"opened_at,omitempty"`
	LastSeenAt   time.Time  `json:"last_seen_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	Confidence   float64    `json:"confidence"`
	Hits         int        `json:"hits"`
	Location     *Location  `json:"location,omitempty"`
	Caption      string     `json:"caption,omitempty"`
	CaptionModel string     `json:"caption_model,omitempty"`
}

// Payload is the JSON body of one notification.
type Payload struct {
	Kind     string   `json:"kind"`
	Title    string   `json:"title"`
	Text     string   `json:"text"`
	Link     string   `json:"link,omitempty"`
	Incident Incident `json:"incident"`
	// Image is the snapshot as base64 JPEG, when configured.
	Image string `json:"image,omitempty"`
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	inc := m.Incident
	p := Payload{Kind: string(m.Kind), Title: m.Title, Text: m.Text, Link: m.Link, Incident: Incident{
		ID: inc.ID, Camera: inc.Camera, Class: inc.Class, Status: string(inc.Status), OpenedAt: inc.OpenedAt,
		LastSeenAt: inc.LastSeenAt, ClosedAt: inc.ClosedAt, Confidence: inc.MaxConfidence, Hits: inc.Hits,
		Caption: inc.Caption, CaptionModel: inc.CaptionModel,
	}}
	if inc.Location != nil {
		p.Incident.Location = &Location{Lat: inc.Location.Lat, Lon: inc.Location.Lon}
	}
	if n.cfg.IncludeImage && len(inc.Snapshot) > 0 {
		p.Image = base64.StdEncoding.EncodeToString(inc.Snapshot)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", notify.RedactError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	if n.cfg.Authorization != "" {
		req.Header.Set("Authorization", n.cfg.Authorization)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", notify.SendError(err))
	}
	defer resp.Body.Close()
	if err := notify.CheckResponse(resp, time.Now()); err != nil {
		return fmt.Errorf("webhook %s: %w", notify.Redact(n.cfg.URL), err)
	}
	return nil
}
