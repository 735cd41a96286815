// Package vlm is a client for vision-language models served behind the
// OpenAI-compatible chat-completions API (POST /v1/chat/completions), as vLLM,
// the llama.cpp server and Ollama's /v1 endpoint speak it. It sends one user
// message made of a text part and an image part (a data URL) and returns the
// typed reply, and it sorts failures into retryable and non-retryable ones.
package vlm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ChatCompletionsPath is the path of the chat-completions endpoint below an
// API base URL that does not already end in /v1.
const ChatCompletionsPath = "/v1/chat/completions"

// Limits on what the client reads back, so that a misbehaving endpoint cannot
// make the caller buffer an unbounded body.
const (
	maxResponseBytes = 1 << 20
	maxErrorBytes    = 64 << 10
)

// ChatRequest is the body of a chat-completions request.
type ChatRequest struct {
	Model     string    `json:"model"`
	Messages  []Message `json:"messages"`
	MaxTokens int       `json:"max_tokens,omitempty"`
	Stream    bool      `json:"stream"`
}

// Message is one message of a chat-completions request. Content is a list of
// parts, the form that carries images.
type Message struct {
	Role    string        `json:"role"`
	Content []ContentPart `json:"content"`
}

// ContentPart is one part of a message: a text part (Type "text") or an image
// part (Type "image_url").
type ContentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
}

// ImageURL points at an image; here always a data URL carrying the image.
type ImageURL struct {
	URL string `json:"url"`
}

// ChatResponse is the body of a successful chat-completions reply.
type ChatResponse struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   *Usage   `json:"usage,omitempty"`
}

// Choice is one completion of a reply.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
}

// ResponseMessage is the assistant's message of a choice.
type ResponseMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Usage counts the tokens a request used, when the server reports it.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Text returns the first choice's message content with surrounding white
// space removed, or "" when the reply has no choice.
func (r *ChatResponse) Text() string {
	if len(r.Choices) == 0 {
		return ""
	}
	return strings.TrimSpace(r.Choices[0].Message.Content)
}

// NewImageRequest builds a request of one user message: the prompt as a text
// part followed by the JPEG as an image part.
func NewImageRequest(model, prompt string, jpeg []byte, maxTokens int) ChatRequest {
	return ChatRequest{
		Model:     model,
		MaxTokens: maxTokens,
		Messages: []Message{{
			Role: "user",
			Content: []ContentPart{
				{Type: "text", Text: prompt},
				{Type: "image_url", ImageURL: &ImageURL{URL: JPEGDataURL(jpeg)}},
			},
		}},
	}
}

// JPEGDataURL returns the data URL of a JPEG image.
func JPEGDataURL(jpeg []byte) string {
	const prefix = "data:image/jpeg;base64,"
	b := make([]byte, len(prefix)+base64.StdEncoding.EncodedLen(len(jpeg)))
	copy(b, prefix)
	base64.StdEncoding.Encode(b[len(prefix):], jpeg)
	return string(b)
}

// Client calls one chat-completions endpoint. It is safe for concurrent use.
type Client struct {
	endpoint string
	apiKey   string
	http     *http.Client
}

// NewClient returns a client for the API at baseURL (for example
// "http://vlm:8000" or "http://vlm:8000/v1"). apiKey, when not empty, is sent
// as a Bearer token. hc carries the requests; the caller bounds each call with
// its context.
func NewClient(baseURL, apiKey string, hc *http.Client) (*Client, error) {
	endpoint, err := Endpoint(baseURL)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		return nil, errors.New("vlm: nil http.Client")
	}
	return &Client{endpoint: endpoint, apiKey: apiKey, http: hc}, nil
}

// Endpoint returns the chat-completions URL for an API base URL: the base
// with /v1/chat/completions appended, or only /chat/completions when the base
// already ends in /v1.
func Endpoint(baseURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		// *url.Error repeats the whole URL, credentials included: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("vlm: base URL does not parse: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("vlm: base URL %q is not an http(s) URL with a host", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("vlm: base URL %q must not have a query or fragment", u.Redacted())
	}
	path := strings.TrimRight(u.Path, "/")
	if strings.HasSuffix(path, "/v1") {
		u.Path = path + "/chat/completions"
	} else {
		u.Path = path + ChatCompletionsPath
	}
	return u.String(), nil
}

// Endpoint returns the URL the client posts to.
func (c *Client) Endpoint() string { return c.endpoint }

// Complete sends one chat-completions request and returns the reply. Errors
// are *StatusError when the server answered with a non-2xx status,
// *ResponseError when a 2xx reply could not be used, and otherwise a
// transport error (the context's deadline, a refused connection, ...).
// Retryable tells which of them are worth another try.
func (c *Client) Complete(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("vlm: encode request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("vlm: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if c.apiKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("vlm: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeStatusError(resp)
	}
	return decodeResponse(resp.Body)
}

func decodeResponse(body io.Reader) (*ChatResponse, error) {
	raw, err := io.ReadAll(io.LimitReader(body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("vlm: read reply: %w", err)
	}
	if len(raw) > maxResponseBytes {
		return nil, &ResponseError{Reason: fmt.Sprintf("reply larger than %d bytes", maxResponseBytes)}
	}
	var out ChatResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, &ResponseError{Reason: "reply is not a chat completion: " + err.Error()}
	}
	if out.Text() == "" {
		return nil, &ResponseError{Reason: "reply has no message content"}
	}
	return &out, nil
}
