// Package amqpx keeps one AMQP 0-9-1 connection to RabbitMQ open for a
// process: it dials with exponential backoff, notices when the connection
// drops (a RabbitMQ restart, a network cut, a missed heartbeat) and dials
// again, and hands out channels on whatever connection is current.
//
// It plays the part of eventing-rabbitmq's pkg/rabbit/connections_handler.go
// without that handler's habit of exiting the process after a few failed
// reconnections: a local broker must outlive a RabbitMQ restart of any length.
//
//	c := amqpx.New(url, amqpx.Options{Logger: log})
//	go c.Run(ctx)
//	ch, err := c.Channel(ctx) // waits for a connection
package amqpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Options tune a Conn. Zero values take the defaults given per field.
type Options struct {
	// Logger receives connection events (default: discard).
	Logger *slog.Logger
	// Name is the connection name shown in RabbitMQ's management tools.
	Name string
	// MinBackoff is the first wait between dial attempts (default 100 ms).
	MinBackoff time.Duration
	// MaxBackoff caps the wait between dial attempts (default 5 s).
	MaxBackoff time.Duration
	// DialTimeout bounds one TCP connect and handshake (default 5 s).
	DialTimeout time.Duration
	// Heartbeat is the AMQP heartbeat interval (default 10 s).
	Heartbeat time.Duration
	// OnReconnect is called each time a connection is re-established after
	// one was lost (not for the first connection).
	OnReconnect func()
}

// Conn is a self-healing AMQP connection. Its zero value is not usable;
// call New.
type Conn struct {
	url  string
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	conn *amqp.Connection
	up   chan struct{} // closed while conn is usable
}

// New returns a Conn for the AMQP URL. Nothing is dialled until Run.
func New(url string, opts Options) *Conn {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 10 * time.Second
	}
	return &Conn{url: url, opts: opts, log: opts.Logger, up: make(chan struct{})}
}

// Run dials and keeps the connection open until ctx is done, then closes it.
// It returns nil when ctx ends.
func (c *Conn) Run(ctx context.Context) error {
	failures := 0
	connectedBefore := false
	for {
		conn, err := c.dial()
		if err != nil {
			failures++
			wait := c.backoff(failures)
			c.log.Warn("rabbitmq dial failed", "error", redact(err, c.url), "retry_in", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		failures = 0
		if connectedBefore && c.opts.OnReconnect != nil {
			c.opts.OnReconnect()
		}
		if connectedBefore {
			c.log.Info("rabbitmq reconnected")
		}
		connectedBefore = true
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		c.setConn(conn)
		select {
		case <-ctx.Done():
			c.clearConn()
			_ = conn.Close()
			return nil
		case e := <-closed:
			c.clearConn()
			c.log.Warn("rabbitmq connection lost", "error", e)
			if !sleep(ctx, c.opts.MinBackoff) {
				return nil
			}
		}
	}
}

func (c *Conn) dial() (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	if c.opts.Name != "" {
		props.SetClientConnectionName(c.opts.Name)
	}
	return amqp.DialConfig(c.url, amqp.Config{
		Heartbeat:  c.opts.Heartbeat,
		Locale:     "en_US",
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			return amqp.DefaultDial(c.opts.DialTimeout)(network, addr)
		},
	})
}

func (c *Conn) backoff(failures int) time.Duration {
	d := c.opts.MinBackoff
	for i := 1; i < failures && d < c.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.opts.MaxBackoff)
}

func (c *Conn) setConn(conn *amqp.Connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = conn
	close(c.up)
}

func (c *Conn) clearConn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = nil
	c.up = make(chan struct{})
}

// current returns the live connection, or nil and a channel that is closed
// once there is one.
func (c *Conn) current() (*amqp.Connection, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn, c.up
}

// Connected reports whether a connection is open right now.
func (c *Conn) Connected() bool {
	conn, _ := c.current()
	return conn != nil && !conn.IsClosed()
}

// Channel opens a channel on the current connection, waiting for one to be
// established if need be. It fails only when ctx ends.
func (c *Conn) Channel(ctx context.Context) (*amqp.Channel, error) {
	for {
		conn, up := c.current()
		if conn == nil || conn.IsClosed() {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-up:
			}
			continue
		}
		ch, err := conn.Channel()
		if err == nil {
			return ch, nil
		}
		if !errors.Is(err, amqp.ErrClosed) {
			c.log.Warn("rabbitmq channel open failed", "error", err)
		}
		if !sleep(ctx, c.opts.MinBackoff) {
			return nil, ctx.Err()
		}
	}
}

// TryChannel opens a channel on the current connection without waiting; it
// fails at once when there is no connection.
func (c *Conn) TryChannel() (*amqp.Channel, error) {
	conn, _ := c.current()
	if conn == nil {
		return nil, fmt.Errorf("rabbitmq: not connected")
	}
	return conn.Channel()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// redact keeps passwords in the AMQP URL out of logs.
func redact(err error, url string) string {
	s := err.Error()
	if u, perr := amqp.ParseURI(url); perr == nil && u.Password != "" {
		s = strings.ReplaceAll(s, u.Password, "***")
	}
	return s
}
