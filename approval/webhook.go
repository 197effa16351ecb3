package approval

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Webhook headers. The signature is "sha256=" followed by the hex
// HMAC-SHA256, keyed with WebhookOptions.Secret, of the timestamp header's
// value, a ".", and the body; VerifyWebhook checks it.
const (
	HeaderEvent     = "X-Agentos-Event"
	HeaderTimestamp = "X-Agentos-Timestamp"
	HeaderSignature = "X-Agentos-Signature"
)

// Webhook defaults.
const (
	DefaultWebhookTimeout = 10 * time.Second
	DefaultWebhookQueue   = 256
	// maxResponseBytes is how much of a response body is read (and
	// discarded) so the connection can be reused.
	maxResponseBytes = 64 << 10
)

// WebhookOptions configure a Webhook.
type WebhookOptions struct {
	// URL receives a POST of each Event as JSON. Required; http or https,
	// with a host and without user:password (put credentials in Secret).
	URL string
	// Secret keys the HMAC-SHA256 signature header. Empty: requests are
	// unsigned.
	Secret []byte
	// Client sends the requests. nil: a client that does not follow
	// redirects (a redirect is a failed delivery).
	Client *http.Client
	// Timeout bounds one delivery. 0: DefaultWebhookTimeout (10s).
	Timeout time.Duration
	// QueueSize bounds the events waiting for delivery; when it is full
	// new events are dropped and logged. 0: DefaultWebhookQueue (256).
	QueueSize int
	// Logger receives delivery failures. nil: discard.
	Logger *slog.Logger
}

// Webhook is a Notifier that POSTs each Event to a URL from one delivery
// goroutine, which it owns and Close stops. Notify only queues, so a slow
// or failing endpoint never delays a decision; failures and dropped events
// are logged and counted.
type Webhook struct {
	url     string
	secret  []byte
	client  *http.Client
	timeout time.Duration
	log     *slog.Logger

	queue     chan Event
	ctx       context.Context // the delivery goroutine's lifetime
	cancel    context.CancelFunc
	done      chan struct{} // closed when the delivery goroutine has returned
	closeOnce sync.Once
	closed    atomic.Bool

	delivered, failed, dropped atomic.Int64
}

var _ Notifier = (*Webhook)(nil)

// WebhookStats counts deliveries.
type WebhookStats struct {
	// Delivered counts events the endpoint answered with a 2xx status.
	Delivered int64
	// Failed counts events whose delivery failed (error, timeout, non-2xx,
	// or cancelled by Close).
	Failed int64
	// Dropped counts events not delivered because the queue was full or the
	// Webhook was closed.
	Dropped int64
}

// NewWebhook validates opts and starts the delivery goroutine. It fails with
// a *FieldError naming the bad option.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	if err := checkWebhookURL(opts.URL); err != nil {
		return nil, err
	}
	if opts.Timeout < 0 {
		return nil, fieldErr("WebhookOptions.Timeout", "negative")
	}
	if opts.QueueSize < 0 {
		return nil, fieldErr("WebhookOptions.QueueSize", "negative")
	}
	w := &Webhook{
		url: opts.URL, secret: bytes.Clone(opts.Secret), client: opts.Client,
		timeout: cmp.Or(opts.Timeout, DefaultWebhookTimeout), log: opts.Logger,
		queue: make(chan Event, cmp.Or(opts.QueueSize, DefaultWebhookQueue)),
		done:  make(chan struct{}),
	}
	if w.client == nil {
		w.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.log = w.log.With(slog.String("component", "approval_webhook"))
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.run()
	return w, nil
}

func checkWebhookURL(raw string) error {
	const field = "WebhookOptions.URL"
	if raw == "" {
		return fieldErr(field, "required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fieldErr(field, "not a URL: "+err.Error())
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fieldErr(field, "scheme "+strconv.Quote(u.Scheme)+" is not http or https")
	case u.User != nil:
		return fieldErr(field, "must not carry user information (use Secret to authenticate)")
	case u.Host == "" || u.Hostname() == "":
		return fieldErr(field, "has no host")
	case u.Fragment != "":
		return fieldErr(field, "must not have a fragment")
	}
	return nil
}

// Notify queues e for delivery, or drops it (logged and counted) when the
// queue is full or the Webhook is closed. It never blocks.
func (w *Webhook) Notify(e Event) {
	if w.closed.Load() {
		w.dropped.Add(1)
		return
	}
	select {
	case w.queue <- e:
	default:
		w.dropped.Add(1)
		w.log.LogAttrs(context.Background(), slog.LevelWarn, "approval webhook queue full: event dropped",
			slog.String("kind", string(e.Kind)), slog.String("request_id", e.RequestID))
	}
}

// Stats returns the delivery counters.
func (w *Webhook) Stats() WebhookStats {
	return WebhookStats{Delivered: w.delivered.Load(), Failed: w.failed.Load(), Dropped: w.dropped.Load()}
}

// Close stops the delivery goroutine, cancelling a delivery in flight, and
// waits for it to return. Events still queued are dropped and counted.
// Close is idempotent and returns nil.
func (w *Webhook) Close() error {
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		w.cancel()
		<-w.done
		n := drain(w.queue)
		if n > 0 {
			w.dropped.Add(int64(n))
			w.log.LogAttrs(context.Background(), slog.LevelWarn, "approval webhook closed with events undelivered", slog.Int("events", n))
		}
	})
	return nil
}

// drain empties q and returns how many events it held.
func drain(q chan Event) int {
	for n := 0; ; n++ {
		select {
		case <-q:
		default:
			return n
		}
	}
}

// run is the delivery goroutine.
func (w *Webhook) run() {
	defer close(w.done)
	for {
		select {
		case <-w.ctx.Done():
			return
		case e := <-w.queue:
			if w.ctx.Err() != nil { // closed while both cases were ready
				w.dropped.Add(1)
				return
			}
			if err := w.deliver(e); err != nil {
				w.failed.Add(1)
				w.log.LogAttrs(w.ctx, slog.LevelWarn, "approval webhook delivery failed",
					slog.String("kind", string(e.Kind)), slog.String("request_id", e.RequestID), slog.String("error", err.Error()))
				continue
			}
			w.delivered.Add(1)
		}
	}
}

func (w *Webhook) deliver(e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	ctx, cancel := context.WithTimeout(w.ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(e.Time.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "agentos-approval")
	req.Header.Set(HeaderEvent, string(e.Kind))
	req.Header.Set(HeaderTimestamp, ts)
	if len(w.secret) > 0 {
		req.Header.Set(HeaderSignature, sign(w.secret, ts, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("endpoint answered %s", resp.Status)
	}
	return nil
}

func sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks the signature headers of a webhook request whose
// body is body, for receivers written in Go. It compares in constant time.
// Receivers should also reject timestamps too far from their own clock.
func VerifyWebhook(secret []byte, h http.Header, body []byte) error {
	got := h.Get(HeaderSignature)
	ts := h.Get(HeaderTimestamp)
	if got == "" || ts == "" {
		return fmt.Errorf("%w: %s or %s header missing", ErrBadSignature, HeaderSignature, HeaderTimestamp)
	}
	if !hmac.Equal([]byte(got), []byte(sign(secret, ts, body))) {
		return ErrBadSignature
	}
	return nil
}
