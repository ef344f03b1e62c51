package slacksim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event delivery, as Slack's Events API does it over HTTP (FACTS 4): each
// delivery is signed with the app's signing secret, must be answered with a
// 2xx within the ack timeout (3 s), and is retried three times (at once, after
// one minute, after five, each scaled like the rate window) with
// X-Slack-Retry-Num and X-Slack-Retry-Reason, unless the answer says
// X-Slack-No-Retry: 1. A subscription that fails 95% of its attempts over an
// hour (scaled) is disabled. One sender goroutine per subscription makes the
// first attempts in the order the events were emitted; retries wait in their
// own goroutines. Nothing here holds the world lock.

// EventSubscription is an app's Event Subscriptions page: where Slack sends
// events and which ones.
type EventSubscription struct {
	RequestURL string   `json:"request_url"`
	BotEvents  []string `json:"bot_events"`
	UserEvents []string `json:"user_events"`
}

// Subscription states.
const (
	SubscriptionEnabled    = "enabled"
	SubscriptionUnverified = "unverified" // the URL did not answer url_verification with the challenge
	SubscriptionDisabled   = "disabled"   // too many failed deliveries
)

// EventSubscriptionState is a subscription and what the sandbox made of it.
type EventSubscriptionState struct {
	EventSubscription
	AppID      string     `json:"app_id"`
	State      string     `json:"state"`
	Enabled    bool       `json:"enabled"`
	Reason     string     `json:"reason,omitempty"` // why it is not enabled
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
}

// DeliveryAttempt is one POST of an event to the Request URL.
type DeliveryAttempt struct {
	RetryNum    int       `json:"retry_num"`              // 0 for the first attempt
	RetryReason string    `json:"retry_reason,omitempty"` // the X-Slack-Retry-Reason sent
	At          time.Time `json:"at"`
	Status      int       `json:"status,omitempty"` // the HTTP status answered, 0 without one
	Acked       bool      `json:"acked"`
	Reason      string    `json:"reason,omitempty"` // why it failed: http_timeout, connection_failed, http_error, ...
	NoRetry     bool      `json:"no_retry,omitempty"`
	Fault       string    `json:"fault,omitempty"` // a fault that dropped or delayed it
	Millis      int64     `json:"ms"`
}

// Delivery states.
const (
	DeliveryQueued   = "queued"
	DeliveryRetrying = "retrying"
	DeliveryAcked    = "acked"
	DeliveryFailed   = "failed"  // every attempt failed, or the answer said no retry
	DeliveryDropped  = "dropped" // never sent: the subscription was disabled, replaced or the sandbox closed
)

// EventDelivery is one event on its way to one subscription.
type EventDelivery struct {
	EventID    string            `json:"event_id"`
	Type       string            `json:"type"`
	TeamID     string            `json:"team_id"`
	RequestURL string            `json:"request_url"`
	State      string            `json:"state"`
	Reason     string            `json:"reason,omitempty"`
	Attempts   []DeliveryAttempt `json:"attempts"`
}

// maxDeliveries bounds the delivery log: the newest are kept.
const maxDeliveries = 10_000

// EventStats counts event deliveries for /_sandbox/stats.
type EventStats struct {
	Emitted  int64 `json:"emitted"`  // deliveries queued
	Sent     int64 `json:"sent"`     // attempts made (retries included)
	Acked    int64 `json:"acked"`    // attempts answered with a 2xx in time
	Failed   int64 `json:"failed"`   // attempts that failed
	Retried  int64 `json:"retried"`  // retry attempts made
	Dropped  int64 `json:"dropped"`  // deliveries never sent, and attempts dropped by a fault
	Disabled int64 `json:"disabled"` // subscriptions disabled for failing
}

// retryDelays is Slack's schedule before retries 1, 2 and 3, in Slack's minutes.
var retryDelays = [...]time.Duration{0, time.Minute, 5 * time.Minute}

// disable rule: over the last hour (scaled), at least disableMinAttempts
// attempts of which 95% failed, on a subscription enabled at least that long.
const (
	disableWindow      = time.Hour
	disableMinAttempts = 10
	disablePercent     = 95
)

// delivery is an EventDelivery being worked on, with its body.
type delivery struct {
	EventDelivery
	body []byte
}

// subscription is the live form of an app's EventSubscription.
type subscription struct {
	EventSubscription
	app       *app
	state     string
	reason    string
	verified  time.Time
	disabled  time.Time
	enabledAt time.Time
	outcomes  []outcome // attempts in the last disable window
	queue     []*delivery
	wake      chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc
}

type outcome struct {
	at time.Time
	ok bool
}

// wants reports whether the subscription takes events of type typ from a bot
// install (bot) or from a user's (!bot).
func (sub *subscription) wants(typ string, bot bool) bool {
	if bot {
		return slices.Contains(sub.BotEvents, typ)
	}
	return slices.Contains(sub.UserEvents, typ)
}

func (sub *subscription) view() EventSubscriptionState {
	st := EventSubscriptionState{EventSubscription: sub.EventSubscription, AppID: sub.app.ID, State: sub.state,
		Enabled: sub.state == SubscriptionEnabled, Reason: sub.reason}
	st.BotEvents, st.UserEvents = slices.Clone(sub.BotEvents), slices.Clone(sub.UserEvents)
	if !sub.verified.IsZero() {
		v := sub.verified
		st.VerifiedAt = &v
	}
	if !sub.disabled.IsZero() {
		d := sub.disabled
		st.DisabledAt = &d
	}
	return st
}

// eventHub holds the subscriptions, their senders and the delivery log. Its
// lock is taken after the world's and the auth lock, never before them.
type eventHub struct {
	mu     sync.Mutex
	subs   map[string]*subscription // by app ID
	log    []*delivery              // oldest first, at most 2*maxDeliveries before trimming
	closed bool
	wg     sync.WaitGroup
	client *http.Client
}

var errTooManyRedirects = errors.New("too many redirects")

func newEventHub() *eventHub {
	return &eventHub{
		subs: map[string]*subscription{},
		client: &http.Client{
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8, IdleConnTimeout: 30 * time.Second},
			// Slack follows at most two redirects.
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) > 2 {
					return errTooManyRedirects
				}
				return nil
			},
		},
	}
}

// scaled converts one of Slack's durations to the sandbox's: a minute becomes
// the rate window.
func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * float64(s.cfg.RateWindow) / float64(time.Minute))
}

// sign is Slack's v0 request signature of body at ts.
func sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// verificationToken is the app's deprecated verification token, the token
// field of every payload. It derives from the signing secret so that it
// survives a restart without a place in the state file.
func verificationToken(a *app) string {
	mac := hmac.New(sha256.New, []byte(a.SigningSecret))
	mac.Write([]byte("verification token"))
	return strings.ToUpper(hex.EncodeToString(mac.Sum(nil)))[:24]
}

// SetEventSubscription sets the registered app's Request URL and events as
// the Event Subscriptions page does: it sends url_verification to the URL and
// enables the subscription only if the challenge comes back. Otherwise the
// subscription is kept, not enabled, and the error says why. A subscription
// it replaces stops: its queued and retrying deliveries are dropped.
func (s *Server) SetEventSubscription(ctx context.Context, es EventSubscription) (EventSubscriptionState, error) {
	if err := es.validate(); err != nil {
		return EventSubscriptionState{}, err
	}
	es.BotEvents, es.UserEvents = sortedSet(es.BotEvents), sortedSet(es.UserEvents)
	s.auth.mu.Lock()
	a := s.app
	s.auth.mu.Unlock()
	verr := s.verifyURL(ctx, a, es.RequestURL)
	sub := &subscription{EventSubscription: es, app: a, wake: make(chan struct{}, 1)}
	now := s.now()
	if verr != nil {
		sub.state, sub.reason = SubscriptionUnverified, verr.Error()
	} else {
		sub.state, sub.verified, sub.enabledAt = SubscriptionEnabled, now, now
	}
	h := s.events
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return EventSubscriptionState{}, errors.New("the sandbox is closed")
	}
	if old := h.subs[a.ID]; old != nil {
		s.stopLocked(old, "the subscription was replaced")
	}
	h.subs[a.ID] = sub
	if sub.state == SubscriptionEnabled {
		sub.ctx, sub.cancel = context.WithCancel(context.Background())
		h.wg.Add(1)
		go s.sender(sub)
	}
	view := sub.view()
	h.mu.Unlock()
	if verr != nil {
		return view, fmt.Errorf("url_verification: %w", verr)
	}
	return view, nil
}

// EventSubscription returns the registered app's subscription, if it has one.
func (s *Server) EventSubscription() (EventSubscriptionState, bool) {
	h := s.events
	h.mu.Lock()
	defer h.mu.Unlock()
	sub := h.subs[s.app.ID]
	if sub == nil {
		return EventSubscriptionState{}, false
	}
	return sub.view(), true
}

// EventDeliveries lists the latest deliveries, oldest first (at most 10,000).
func (s *Server) EventDeliveries() []EventDelivery { return s.eventDeliveries(DeliveryFilter{}) }

// DeliveryFilter narrows the delivery log: each set field must match.
type DeliveryFilter struct {
	EventID, Type, State string
}

func (f DeliveryFilter) match(d *delivery) bool {
	return (f.EventID == "" || d.EventID == f.EventID) && (f.Type == "" || d.Type == f.Type) && (f.State == "" || d.State == f.State)
}

func (s *Server) eventDeliveries(f DeliveryFilter) []EventDelivery {
	h := s.events
	h.mu.Lock()
	defer h.mu.Unlock()
	from := max(0, len(h.log)-maxDeliveries)
	out := []EventDelivery{}
	for _, d := range h.log[from:] {
		if !f.match(d) {
			continue
		}
		ed := d.EventDelivery
		ed.Attempts = slices.Clone(d.Attempts)
		out = append(out, ed)
	}
	return out
}

func (es EventSubscription) validate() error {
	var errs []error
	u, err := url.Parse(es.RequestURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("request_url %q must be an absolute http(s) URL", es.RequestURL))
	}
	for _, t := range append(slices.Clone(es.BotEvents), es.UserEvents...) {
		if !errorCodeShape.MatchString(t) {
			errs = append(errs, fmt.Errorf("event type %q is not an event type (lower case letters, digits and _)", t))
		}
	}
	if len(es.BotEvents)+len(es.UserEvents) == 0 {
		errs = append(errs, errors.New("bot_events or user_events must name at least one event type"))
	}
	return errors.Join(errs...)
}

func sortedSet(v []string) []string {
	v = slices.Clone(v)
	slices.Sort(v)
	return slices.Compact(v)
}

// verifyURL sends url_verification and checks the challenge comes back, as
// text/plain, as a form (challenge=…) or as JSON {"challenge": …}.
func (s *Server) verifyURL(ctx context.Context, a *app, target string) error {
	challenge := randHex(48)
	body, _ := json.Marshal(map[string]string{"token": verificationToken(a), "challenge": challenge, "type": "url_verification"})
	ctx, cancel := context.WithTimeout(ctx, s.cfg.EventAckTimeout)
	defer cancel()
	resp, reason, err := s.post(ctx, a, target, body, nil)
	if err != nil {
		return fmt.Errorf("%s: %v", reason, err)
	}
	defer resp.Body.Close()
	got, _ := readAll(resp.Body, 64<<10)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("http_error: the URL answered HTTP %d, want 200 with the challenge", resp.StatusCode)
	}
	answer := strings.TrimSpace(string(got))
	ct := resp.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json") || strings.HasPrefix(answer, "{"):
		var v struct {
			Challenge string `json:"challenge"`
		}
		if json.Unmarshal(got, &v) == nil {
			answer = v.Challenge
		}
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		if q, err := url.ParseQuery(answer); err == nil {
			answer = q.Get("challenge")
		}
	}
	if !secretEqual(answer, challenge) {
		return fmt.Errorf("challenge_failed: the URL answered %q, not the challenge", quoteShort(string(got)))
	}
	return nil
}

// post sends one signed request. On failure it says why in Slack's words
// (X-Slack-Retry-Reason).
func (s *Server) post(ctx context.Context, a *app, target string, body []byte, extra http.Header) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, "unknown_error", err
	}
	ts := s.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", sign(a.SigningSecret, ts, body))
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := s.events.client.Do(req)
	if err != nil {
		return nil, failureReason(err), err
	}
	return resp, "", nil
}

// failureReason names a failed request as Slack's X-Slack-Retry-Reason does.
func failureReason(err error) string {
	var netErr net.Error
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var recErr tls.RecordHeaderError
	switch {
	case errors.Is(err, errTooManyRedirects):
		return "too_many_redirects"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return "http_timeout"
	case errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &recErr):
		return "ssl_error"
	case errors.As(err, &opErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection_failed"
	}
	return "unknown_error"
}

// enqueue queues a delivery for sub's sender and answers its event ID. The
// caller may hold the world and auth locks.
func (s *Server) enqueue(sub *subscription, d *delivery) []string {
	h := s.events
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.subs[sub.app.ID] != sub || sub.state != SubscriptionEnabled {
		return nil
	}
	d.State = DeliveryQueued
	d.Attempts = []DeliveryAttempt{}
	h.log = append(h.log, d)
	if len(h.log) >= 2*maxDeliveries {
		h.log = slices.Clone(h.log[len(h.log)-maxDeliveries:])
	}
	sub.queue = append(sub.queue, d)
	s.stats.add(func(st *Stats) { st.Events.Emitted++ })
	select {
	case sub.wake <- struct{}{}:
	default:
	}
	return []string{d.EventID}
}

// sender makes the first attempts of sub's deliveries in order.
func (s *Server) sender(sub *subscription) {
	h := s.events
	defer h.wg.Done()
	for {
		h.mu.Lock()
		var d *delivery
		if len(sub.queue) > 0 {
			d = sub.queue[0]
			sub.queue[0] = nil
			sub.queue = sub.queue[1:]
		}
		h.mu.Unlock()
		if d == nil {
			select {
			case <-sub.ctx.Done():
				return
			case <-sub.wake:
				continue
			}
		}
		s.deliver(sub, d, 0, "")
	}
}

// deliver makes attempt retryNum of d, then schedules the next retry if it
// failed and may be retried.
func (s *Server) deliver(sub *subscription, d *delivery, retryNum int, retryReason string) {
	h := s.events
	if sub.ctx.Err() != nil {
		s.drop(d, "the subscription stopped")
		return
	}
	at := DeliveryAttempt{RetryNum: retryNum, RetryReason: retryReason, At: s.now()}
	f, faulted := s.faults.pickEvent(d.Type)
	if faulted && f.LatencyMS > 0 {
		at.Fault = fmt.Sprintf("fault %d: delayed %dms", f.ID, f.LatencyMS)
		t := time.NewTimer(time.Duration(f.LatencyMS) * time.Millisecond)
		select {
		case <-t.C:
		case <-sub.ctx.Done():
			t.Stop()
			s.drop(d, "the subscription stopped")
			return
		}
	}
	start := time.Now()
	noRetry := false
	if faulted && f.Drop {
		at.Fault, at.Reason = fmt.Sprintf("fault %d: dropped", f.ID), "connection_failed"
	} else {
		var extra http.Header
		if retryNum > 0 {
			extra = http.Header{"X-Slack-Retry-Num": {strconv.Itoa(retryNum)}, "X-Slack-Retry-Reason": {retryReason}}
		}
		ctx, cancel := context.WithTimeout(sub.ctx, s.cfg.EventAckTimeout)
		resp, reason, err := s.post(ctx, sub.app, sub.RequestURL, d.body, extra)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			at.Status = resp.StatusCode
			at.Acked = resp.StatusCode/100 == 2
			if !at.Acked {
				reason = "http_error"
			}
			noRetry = resp.Header.Get("X-Slack-No-Retry") == "1"
		}
		cancel()
		if sub.ctx.Err() != nil && !at.Acked {
			s.drop(d, "the subscription stopped")
			return
		}
		at.Reason, at.NoRetry = reason, noRetry
	}
	at.Millis = time.Since(start).Milliseconds()

	h.mu.Lock()
	d.Attempts = append(d.Attempts, at)
	disabled := s.noteOutcomeLocked(sub, at.At, at.Acked)
	retry := !at.Acked && !noRetry && retryNum < len(retryDelays) && sub.state == SubscriptionEnabled
	switch {
	case at.Acked:
		d.State, d.Reason = DeliveryAcked, ""
	case retry:
		d.State, d.Reason = DeliveryRetrying, at.Reason
	default:
		d.State, d.Reason = DeliveryFailed, at.Reason
	}
	if retry {
		h.wg.Add(1)
	}
	h.mu.Unlock()
	s.stats.add(func(st *Stats) {
		switch {
		case faulted && f.Drop:
			st.Events.Dropped++
		default:
			st.Events.Sent++
		}
		if retryNum > 0 {
			st.Events.Retried++
		}
		if at.Acked {
			st.Events.Acked++
		} else {
			st.Events.Failed++
		}
		if disabled {
			st.Events.Disabled++
		}
	})
	if !retry {
		return
	}
	go func() {
		defer h.wg.Done()
		if wait := s.scaled(retryDelays[retryNum]); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-sub.ctx.Done():
				t.Stop()
				s.drop(d, "the subscription stopped")
				return
			}
		}
		s.deliver(sub, d, retryNum+1, at.Reason)
	}()
}

// drop marks a delivery that will not be sent again.
func (s *Server) drop(d *delivery, why string) {
	h := s.events
	h.mu.Lock()
	if d.State != DeliveryAcked && d.State != DeliveryFailed {
		d.State, d.Reason = DeliveryDropped, why
	}
	h.mu.Unlock()
	s.stats.add(func(st *Stats) { st.Events.Dropped++ })
}

// noteOutcomeLocked records an attempt for the disable rule and disables sub
// when it fails too much. It reports whether it disabled sub. The caller
// holds the hub lock.
func (s *Server) noteOutcomeLocked(sub *subscription, at time.Time, ok bool) bool {
	window := s.scaled(disableWindow)
	sub.outcomes = append(sub.outcomes, outcome{at: at, ok: ok})
	i := 0
	for i < len(sub.outcomes) && at.Sub(sub.outcomes[i].at) > window {
		i++
	}
	sub.outcomes = sub.outcomes[i:]
	if sub.state != SubscriptionEnabled || at.Sub(sub.enabledAt) < window || len(sub.outcomes) < disableMinAttempts {
		return false
	}
	failed := 0
	for _, o := range sub.outcomes {
		if !o.ok {
			failed++
		}
	}
	if failed*100 < disablePercent*len(sub.outcomes) {
		return false
	}
	sub.disabled = at
	s.stopLocked(sub, fmt.Sprintf("%d of the %d deliveries in the last %s failed (Slack's hour, scaled by the rate window): Slack disables event subscriptions that fail 95%% of deliveries over 60 minutes; set the subscription again to re-enable it",
		failed, len(sub.outcomes), window))
	sub.state = SubscriptionDisabled
	return true
}

// stopLocked stops sub's sender and retries and drops what it had queued. The
// caller holds the hub lock.
func (s *Server) stopLocked(sub *subscription, why string) {
	if sub.state == SubscriptionEnabled {
		sub.state, sub.reason = SubscriptionDisabled, why
	}
	if sub.cancel != nil {
		sub.cancel()
	}
	s.dropQueueLocked(sub, why)
}

// dropQueueLocked drops the deliveries sub has not sent yet. The caller holds
// the hub lock.
func (s *Server) dropQueueLocked(sub *subscription, why string) {
	for _, d := range sub.queue {
		d.State, d.Reason = DeliveryDropped, why
	}
	n := int64(len(sub.queue))
	sub.queue = nil
	if n > 0 {
		s.stats.add(func(st *Stats) { st.Events.Dropped += n })
	}
}

// closeEvents stops every sender and waits for them and their retries.
func (s *Server) closeEvents() {
	h := s.events
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for _, sub := range h.subs {
		if sub.cancel != nil {
			sub.cancel()
		}
		s.dropQueueLocked(sub, "the sandbox closed")
	}
	h.mu.Unlock()
	h.wg.Wait()
	h.client.CloseIdleConnections()
}
