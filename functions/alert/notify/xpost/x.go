// Package xpost posts incident notifications to X through API v2
// (POST /2/tweets) with an OAuth 2.0 user access token.
package xpost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgewatch/edgewatch/functions/alert/notify"
)

// DefaultBaseURL is X's API host.
const DefaultBaseURL = "https://api.x.com"

// Post limits: 280 characters, a link counts as 23 (t.co).
const (
	maxChars  = 280
	linkChars = 23
)

// Config configures the X notifier.
type Config struct {
	// BaseURL is the API host; empty means DefaultBaseURL.
	BaseURL string
	// Token is an OAuth 2.0 user access token with tweet.write (a secret).
	Token string
}

// Notifier posts to one X account.
type Notifier struct {
	base   string
	token  string
	client *http.Client
}

// New returns an X notifier.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if cfg.Token == "" {
		return nil, errors.New("x: no user access token")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	return &Notifier{base: base, token: cfg.Token, client: client}, nil
}

// Text returns the post for m, shortened to fit X's limit.
func Text(m notify.Message) string {
	budget := maxChars
	if m.Link != "" {
		budget -= linkChars + 1
	}
	text := m.Title + ". " + m.Text
	if utf8.RuneCountInString(text) > budget {
		text = string([]rune(text)[:budget-1]) + "…"
	}
	if m.Link != "" {
		text += " " + m.Link
	}
	return text
}

type created struct {
	Data struct {
		ID string `json:"id"`
	} `json:"data"`
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	body, err := json.Marshal(map[string]string{"text": Text(m)})
	if err != nil {
		return fmt.Errorf("x: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.base+"/2/tweets", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("x: %w", notify.RedactError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+n.token)
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("x: %w", notify.SendError(err))
	}
	defer resp.Body.Close()
	if err := notify.CheckResponse(resp, time.Now()); err != nil {
		return fmt.Errorf("x: %w", err)
	}
	var c created
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || c.Data.ID == "" {
		return fmt.Errorf("x: status %d without a post id", resp.StatusCode)
	}
	return nil
}
